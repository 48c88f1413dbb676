"""Zeta traces: their shape, and zeta^2 as a deviance difference recomputed by fits."""

from __future__ import annotations

import json
from pathlib import Path

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


# --- correlation traces that meet a zero-SD floor ----------------------------------------
# sleepstudy subsets whose correlation trace drops onto the deviance of a zero SD (where
# the correlation has no effect). lme4 1.1.31's limits are in
# tests/data/profile/profile_reference.json, made by make_profile_reference.R there.
# Each limit is checked against the definition (zeta, recomputed by fits independent of
# the profile code, is +-1.96 there; a bound only where zeta stays inside) and against
# lme4 where lme4's reading of its own trace is sound; where it is not, the reason:
LME4_UNSOUND = {
    # after its spline fails, lme4 interpolates linearly across two trace points with
    # equal zeta (-1 and -0.878, both on the floor) and lands on -0.773
    (0, "lower"): "linear interpolation across a tie",
    # lme4's inverse spline swings outside the two trace points that bracket -1.96
    # (-0.913 and -0.809): -0.795
    (1, "lower"): "spline outside its bracket",
    # lme4's steps overshoot where zeta bends up towards +1 (1.42 to 2.57 in one step),
    # and its spline across that gap reads 0.4002 where zeta is 1.965; the crossing
    # is at 0.398
    (1, "upper"): "spline across an overshooting step",
    # lme4's inner fit at -0.948 stops above the floor (zeta -4.53 against -3.89), which
    # bends its spline: -0.1191 where the crossing is at -0.1172
    (2, "lower"): "spline bent by a point above the floor",
}
FLOOR_REFERENCE = Path(__file__).parents[1] / "data" / "profile" / "profile_reference.json"
COR = "cor_Days.intercept|Subject"
Z95 = float(stats.norm.ppf(0.975))


def _subset(subjects):
    data = datasets.load("sleepstudy")
    data = data[data["Subject"].isin(subjects)].copy()
    data["Subject"] = data["Subject"].astype(str)
    return data


def _zeta_by_fits(ml, rho: float) -> float:
    """zeta of the correlation at rho: the ML deviance minimized over both relative SDs
    (from several starts, the zero-SD edges included), without the profile code."""
    from scipy.optimize import minimize

    def dev(t):
        t1, t2 = np.maximum(t, 0.0)
        return ml.dev_fun(np.array([t1, t2 * rho, t2 * np.sqrt(max(1 - rho**2, 0.0))]))

    t1, t21, t22 = ml.theta
    best = min(dev([0.0, np.hypot(t21, t22)]), dev([t1, 0.0]))
    for start in ([t1, np.hypot(t21, t22)], [2 * t1, 2 * np.hypot(t21, t22)],
                  [0.5 * t1, 0.5 * np.hypot(t21, t22)], [0.0, 1.0], [1.0, 0.0]):
        fit = minimize(dev, start, method="L-BFGS-B", bounds=[(0, None), (0, None)],
                       options={"ftol": 1e-14, "gtol": 1e-9})
        best = min(best, fit.fun)
    for edge in (0, 1):  # one SD at zero: the other minimized alone
        fit = minimize(lambda s: dev([0.0, s[0]] if edge == 0 else [s[0], 0.0]), [1.0],
                       method="L-BFGS-B", bounds=[(0, None)])
        best = min(best, fit.fun)
    rho_hat = ml.theta[1] / np.hypot(ml.theta[1], ml.theta[2])
    return float(np.sign(rho - rho_hat) * np.sqrt(max(best - ml.deviance, 0.0)))


@pytest.mark.parametrize("case", [0, 1, 2])
def test_correlation_limits_where_the_trace_meets_a_zero_sd_floor(case):
    ref = json.loads(FLOOR_REFERENCE.read_text())["cases"][case]
    data = _subset(ref["subjects"])
    formula = "Reaction ~ Days + (Days | Subject)"
    model = LMM.from_formula(formula, data)
    ml = LMM.from_formula(formula, data, reml=False)
    got = model.conf_int(method="profile").loc[COR]
    width = ref["upper"] - ref["lower"]
    for side, target in (("lower", -Z95), ("upper", Z95)):
        limit = got[side]
        assert np.isfinite(limit), (side, got)
        if abs(limit) == 1.0:  # the bound: zeta stays inside the target up to it
            assert abs(_zeta_by_fits(ml, limit)) < Z95, (side, limit)
            error = 0.0
        else:
            error = abs(_zeta_by_fits(ml, limit) - target)
            assert error < 0.01, (side, limit, error)  # the spline through the trace
        if (case, side) in LME4_UNSOUND:
            # lme4's limit is farther from where zeta is +-1.96: ours may differ from it
            assert abs(_zeta_by_fits(ml, ref[side]) - target) > 2 * error, (side, ref[side])
        else:
            assert abs(limit - ref[side]) <= 1e-3 * width, (side, limit, ref[side])
