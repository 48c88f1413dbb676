"""Zeta traces: their shape, and zeta^2 as a deviance difference recomputed by fits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixed_models import LMM, datasets
from mixed_models.errors import NotFoundError


@pytest.fixture(scope="module")
def dyestuff_profile(fitted):
    return fitted("dyestuff_reml").profile()


def test_traces_cross_the_cutoff_through_the_estimate(dyestuff_profile):
    trace = dyestuff_profile
    cutoff = np.sqrt(stats.chi2.ppf(0.99, 3))
    assert list(dict.fromkeys(trace["parameter"])) == ["sd_intercept|Batch", "sigma",
                                                       "intercept"]
    for name, points in trace.groupby("parameter"):
        points = points.sort_values("value")
        assert np.all(np.diff(points["zeta"]) > 0), name
        at_estimate = points[points["zeta"] == 0.0]
        assert len(at_estimate) == 1
        assert at_estimate["value"].iloc[0] == pytest.approx(trace.attrs["estimate"][name])
        assert points["zeta"].max() > cutoff
        bounded = trace.attrs["lower"][name] == points["value"].min()
        assert points["zeta"].min() < -cutoff or bounded


def test_zeta_of_a_fixed_effect_is_the_deviance_of_the_model_without_it(dyestuff_profile):
    data = datasets.load("dyestuff")
    base = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data, reml=False).deviance
    assert dyestuff_profile.attrs["base_deviance"] == pytest.approx(base, rel=1e-10)
    points = dyestuff_profile[dyestuff_profile["parameter"] == "intercept"]
    for _, row in points.iloc[[1, -2]].iterrows():
        fixed = LMM.from_formula("Yield ~ 0 + (1 | Batch)", data, reml=False,
                                 offset=np.full(len(data), row["value"]))
        assert row["zeta"] ** 2 == pytest.approx(fixed.deviance - base, rel=1e-6)


def test_zeta_of_sigma_is_the_deviance_with_sigma_held(dyestuff_profile):
    data = datasets.load("dyestuff")
    base = dyestuff_profile.attrs["base_deviance"]
    points = dyestuff_profile[dyestuff_profile["parameter"] == "sigma"]
    for _, row in points.iloc[[1, -2]].iterrows():
        held = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data, reml=False,
                                sigma=row["value"])
        assert row["zeta"] ** 2 == pytest.approx(held.deviance - base, rel=1e-6)


def test_other_columns_hold_the_conditional_estimates(dyestuff_profile):
    row = dyestuff_profile[dyestuff_profile["parameter"] == "sigma"].iloc[-1]
    data = datasets.load("dyestuff")
    held = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data, reml=False, sigma=row["value"])
    assert row["sd_intercept|Batch"] == pytest.approx(held.theta[0] * row["value"], rel=1e-4)
    assert row["intercept"] == pytest.approx(held.fix_ef["intercept"], rel=1e-6)


def test_which_selects_parameters_and_checks_names(fitted):
    model = fitted("dyestuff_reml")
    trace = model.profile(which=["sigma"])
    assert set(trace["parameter"]) == {"sigma"}
    with pytest.raises(NotFoundError, match="sd_intercept"):
        model.profile(which=["sd_(Intercept)|Batch"])
