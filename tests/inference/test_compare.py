"""compare() against lme4's anova(m1, m2, ...) (tests/data/reference_ecosystem)."""

from __future__ import annotations

import numpy as np
import pytest
from ecosystem_reference import fit, reference

import mixed_models
from mixed_models.datasets import load
from mixed_models.errors import DataTypeError, InvalidArgumentError, ModelError, RefitWarning

CASES = ["sleep_random_slope", "sleep_three_models", "alien_drop_species"]
COLUMNS = {"npar": "npar", "AIC": "AIC", "BIC": "BIC", "logLik": "logLik",
           "deviance": "deviance", "Chisq": "Chisq", "Df": "Df", "p_value": "Pr(>Chisq)"}


def _models(case: str, reml: bool):
    spec = reference("comparisons")[case]
    base = "sleep_reml" if case.startswith("sleep") else "alien_reml"
    return [fit(base, formula, reml) for formula in spec["formulas"]]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("source, reml", [("lme4", True), ("ml_fits", True),
                                          ("ml_fits", False)])
def test_compare_matches_lme4_anova(case: str, source: str, reml: bool) -> None:
    want = reference("comparisons")[case][source]["table"]
    models = _models(case, reml)
    if reml:
        with pytest.warns(RefitWarning):
            got = mixed_models.compare(*reversed(models))
    else:
        got = mixed_models.compare(*reversed(models))
    assert list(got.columns) == list(COLUMNS)
    assert got.index.tolist() == [f"model{len(models) - i}" for i in range(len(models))]
    for ours, theirs in COLUMNS.items():
        expected = np.array([np.nan if v is None else v for v in want[theirs]], dtype=float)
        values = got[ours].to_numpy(dtype=float, na_value=np.nan)
        rtol = 1e-6 if ours in ("Chisq", "p_value") else 1e-8
        np.testing.assert_allclose(values, expected, rtol=rtol, atol=1e-6 if ours == "Chisq"
                                   else 0, err_msg=ours)


def test_models_of_other_rows_are_refused() -> None:
    data = load("sleepstudy")
    small = mixed_models.LMM.from_formula("Reaction ~ Days + (1 | Subject)",
                                          data.iloc[:-10], reml=False)
    with pytest.raises(ModelError):
        mixed_models.compare(small, fit("sleep_reml", "Reaction ~ Days + (1 | Subject)", False))


@pytest.mark.parametrize("args, error", [
    ((), InvalidArgumentError), (("a", "b"), DataTypeError)])
def test_bad_arguments(args: tuple, error: type) -> None:
    with pytest.raises(error):
        mixed_models.compare(*args)


def test_names_label_the_rows() -> None:
    models = _models("sleep_random_slope", False)
    got = mixed_models.compare(*models, names=["intercept", "slope"])
    assert got.index.tolist() == ["intercept", "slope"]
