"""Type III ANOVA tables against lmerTest's anova(type = 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import inference_reference as R
from mixed_models import LMM, datasets
from mixed_models.errors import InvalidArgumentError, ModelError

CASES = [(i, "anova_type3", "satterthwaite") for i in R.ids_with("anova_type3")] + \
    [(i, "anova_type3_kr", "kenward-roger") for i in R.ids_with("anova_type3_kr")]


@pytest.mark.parametrize("model_id, key, ddf", CASES)
def test_matches_lmertest(fitted, model_id, key, ddf):
    want = R.ref_json(model_id)[key]
    table = R.model_for(fitted, model_id).anova(ddf=ddf)
    assert list(table.columns) == ["F_value", "num_df", "den_df", "p_value"]
    assert table.attrs == {"ddf": ddf, "type": "III"}
    assert list(table.index) == list(map(str, R.vector_labels(want["terms"])))
    assert list(table["num_df"]) == [int(v) for v in R.vector(want["numdf"])]
    R.assert_rel(table["F_value"], R.vector(want["F"]), 1e-3, "F")
    R.assert_rel(table["den_df"], R.vector(want["dendf"]), 1e-3, "den df")
    R.assert_p_values(table["p_value"], R.vector(want["p"]), 1e-3, "p")


def test_one_column_term_is_the_squared_t_test(fitted):
    model = fitted("sleep_reml")
    table, summary = model.anova(), model.fix_ef_summary("satterthwaite")
    assert table.loc["Days", "F_value"] == pytest.approx(summary.loc["Days", "t_value"] ** 2)
    assert table.loc["Days", "den_df"] == pytest.approx(summary.loc["Days", "df"])


def test_type3_tests_do_not_depend_on_the_reference_levels():
    data = datasets.load("categorical_x_categorical_interaction")
    formula = "y ~ f1 + f2 + f1:f2 + (1 | gr)"
    recoded = data.assign(f2=pd.Categorical(data["f2"], categories=["w", "v", "u"]))
    a = LMM.from_formula(formula, data).anova()
    b = LMM.from_formula(formula, recoded).anova()
    np.testing.assert_allclose(b[["F_value", "den_df"]], a[["F_value", "den_df"]], rtol=1e-6)
    np.testing.assert_allclose(b["p_value"], a["p_value"], rtol=1e-4)


def test_refuses_sum_contrasts():
    data = datasets.load("categorical_x_categorical_interaction")
    model = LMM.from_formula("y ~ C(f1, contr.sum) + f2 + (1 | gr)", data)
    with pytest.raises(ModelError, match="treatment"):
        model.anova()


def test_unknown_ddf_is_refused(fitted):
    with pytest.raises(InvalidArgumentError, match="satterthwaite"):
        fitted("cake_reml").anova(ddf="lme4")
