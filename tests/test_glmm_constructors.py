"""GLMM.from_frame (the gem's from_daru with a family) against the formula fit it stands
for (the raw-matrix form: tests/test_glmm_raw.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM
from mixed_models.errors import DataError

DATA = Path(__file__).parent / "data" / "reference_glmm" / "data"


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    data = pd.read_csv(DATA / "cbpp.csv")
    data["herd"], data["period"] = data["herd"].astype(str), data["period"].astype(str)
    return data.assign(prop=data["incidence"] / data["size"])


# id -> from_frame arguments, the formula it stands for, and from_formula's options
CASES = {
    "binomial_proportion": (
        dict(response="prop", fixed_effects=["intercept", "period"],
             random_effects=[["intercept"]], grouping=["herd"]),
        "prop ~ 1 + period + (1 | herd)", dict(family="binomial", weights="size")),
    "poisson_counts": (
        dict(response="incidence", fixed_effects=["intercept", "period", "size"],
             random_effects=[["intercept"]], grouping=["herd"]),
        "incidence ~ 1 + period + size + (1 | herd)", dict(family="poisson")),
    "probit_agq": (
        dict(response="prop", fixed_effects=["intercept", "period"],
             random_effects=[["intercept"]], grouping=["herd"]),
        "prop ~ 1 + period + (1 | herd)",
        dict(family="binomial", link="probit", n_agq=5, weights="size")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_from_frame_fits_what_the_formula_fits(cbpp, case):
    lists, formula, options = CASES[case]
    by_frame = GLMM.from_frame(data=cbpp, **lists, **options)
    by_formula = GLMM.from_formula(formula, cbpp, **options)
    assert by_frame.formula == formula
    assert by_frame.family == by_formula.family and by_frame.link == by_formula.link
    assert by_frame.deviance == pytest.approx(by_formula.deviance, abs=1e-8)
    np.testing.assert_allclose(list(by_frame.fix_ef.values()),
                               list(by_formula.fix_ef.values()), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(by_frame.theta, by_formula.theta, rtol=1e-8, atol=1e-10)
    assert list(by_frame.fix_ef) == list(by_formula.fix_ef)


def test_from_frame_checks_its_lists(cbpp):
    with pytest.raises(DataError, match="one list of effects per grouping factor"):
        GLMM.from_frame(response="incidence", fixed_effects=["intercept"],
                        random_effects=[["intercept"], ["intercept"]], grouping=["herd"],
                        data=cbpp, family="poisson")
