"""Kenward-Roger t tests against pbkrtest/lmerTest, and what KR refuses."""

from __future__ import annotations

import numpy as np
import pytest

import inference_reference as R
from mixed_models import LMM, datasets
from mixed_models.errors import ModelError
from mixed_models.inference import kenward_roger


@pytest.mark.parametrize("model_id", R.ids_with("kenward_roger"))
def test_matches_pbkrtest(fitted, model_id):
    want = R.ref_json(model_id)["kenward_roger"]
    table = R.model_for(fitted, model_id).fix_ef_summary(ddf="kenward-roger")
    assert table.attrs["ddf"] == "kenward-roger"
    R.assert_rel(table["df"], R.vector(want["df"]), 1e-3, "df")
    R.assert_rel(table["sd"], R.vector(want["se"]), 1e-3, "adjusted se")
    R.assert_p_values(table["p_value"], R.vector(want["p"]), 1e-3, "p")


def test_refuses_ml_fits(fitted):
    with pytest.raises(ModelError, match="REML"):
        fitted("sleep_ml").fix_ef_summary(ddf="kenward-roger")


def test_refuses_models_above_the_size_limit(fitted, monkeypatch):
    monkeypatch.setattr(kenward_roger, "MAX_RANDOM_EFFECTS", 20)
    model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    with pytest.raises(ModelError, match="q = 36 random effects, above the limit of 20"):
        model.anova(ddf="kenward-roger")


def test_constant_weights_change_nothing():
    data = datasets.load("sleepstudy").assign(w=2.0)
    plain = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)
    weighted = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, weights="w")
    a, b = (m.fix_ef_summary("kenward-roger") for m in (plain, weighted))
    np.testing.assert_allclose(b["df"], a["df"], rtol=1e-6)
    np.testing.assert_allclose(b["sd"], a["sd"], rtol=1e-6)


def test_refuses_a_fixed_sigma():
    model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"),
                             sigma=25.0)
    with pytest.raises(ModelError, match="sigma fixed"):
        model.fix_ef_summary(ddf="kenward-roger")
    assert list(model.fix_ef_summary(ddf="satterthwaite")["df"]) == pytest.approx([17.0, 17.0])
