"""Wald and profile confidence intervals against lme4's confint."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

import inference_reference as R
import reference
from mixed_models import LMM
from mixed_models.errors import InvalidArgumentError
from mixed_models.inference.intervals import back_spline
from mixed_models.inference.refit import refit_ml
from test_profile import Z95

# alien_reml: lme4's profile points beyond |zeta| = 2 of the intercept and the
# correlation are off (its inner fits stop early: at its own points our zeta agrees to
# 1e-5 inside |zeta| <= 2, and is up to 0.19 below lme4's outside), which bends lme4's
# spline: its limits there differ from ours by 1.2e-3 of the width.
PROFILE_TOL = {("alien_reml", "intercept"): 2e-3}
# Limits where lme4 is off, checked against the definition instead (zeta, recomputed by
# fits independent of the profile code, is +-1.96 at our limit, and farther from it at
# lme4's). alien_reml's correlation: lme4's steps overshoot where zeta bends towards
# -1 and +1 (-1.55 to -3.40 and 1.42 to 2.57 in one step), and its spline across those
# gaps reads -0.795 and 0.785, where zeta is -1.65 and 1.78; the crossings are at
# -0.8656 and 0.8323.
LME4_OFF = {("alien_reml", "cor_Age.intercept|Location")}
# A fixed effect's lower limit where lme4's spline spans a kink of zeta (the group
# variance reaches zero between its points at 1.652 and 1.760, zeta -2.23 and -1.67):
# it reads 1.70825; zeta by independent fits is -1.96 at ours (1.70429).
LME4_OFF_FIXED = {("num_x_cat_anova_reml", "intercept")}


def _params(ids):
    return [pytest.param(i, marks=pytest.mark.slow) if i in reference.LARGE else i for i in ids]


@pytest.mark.parametrize("model_id", _params(R.ids_with("wald_ci")))
def test_wald_matches_lme4(fitted, model_id):
    want = np.array(R.ref_json(model_id)["wald_ci"], dtype=float).reshape(-1, 2)
    got = R.model_for(fitted, model_id).fix_ef_conf_int(method="wald")
    width = want[:, 1] - want[:, 0]
    err = np.abs(got[["lower", "upper"]].to_numpy() - want) / width[:, None]
    assert np.all(err <= 1e-3), err


@pytest.mark.parametrize("model_id", R.ids_with("profile_ci"))
def test_profile_matches_lme4(fitted, model_id):
    want = R.ref_json(model_id)["profile_ci"]
    model = R.model_for(fitted, model_id)
    got = model.conf_int(method="profile")
    n_var = len(got) - len(model.fix_ef_names)
    assert len(got) == len(want["names"])
    for i, (name, lme4_name) in enumerate(zip(got.index, want["names"])):
        if i < n_var:  # variance parameters: same kind (sd_, cor_, sigma) and group
            assert name.split("_")[0] == lme4_name.split("_")[0]
            assert name.split("|")[-1] == lme4_name.split("|")[-1]
    lower = np.array([np.nan if v is None else v for v in want["lower"]], dtype=float)
    upper = np.array([np.nan if v is None else v for v in want["upper"]], dtype=float)
    width = upper - lower
    for i, name in enumerate(got.index):
        if (model_id, name) in LME4_OFF:
            _check_by_fits(model, got.loc[name], (lower[i], upper[i]))
            continue
        if (model_id, name) in LME4_OFF_FIXED:
            _check_fixed_by_fits(model, name, got.loc[name], (lower[i], upper[i]))
            continue
        tol = PROFILE_TOL.get((model_id, name), 1e-3) * width[i]
        if np.isfinite(width[i]):
            assert abs(got["lower"].iloc[i] - lower[i]) <= tol, (name, got.iloc[i], lower[i])
            assert abs(got["upper"].iloc[i] - upper[i]) <= tol, (name, got.iloc[i], upper[i])


def _check_by_fits(model, got, lme4_limits) -> None:
    """A correlation's limits: zeta by independent fits is +-1.96 at ours (to 0.01), and
    at least twice as far from it at lme4's."""
    ml = LMM.from_record(refit_ml(model))
    for limit, lme4_limit, target in zip(got[["lower", "upper"]], lme4_limits,
                                         (-Z95, Z95)):
        error = abs(_zeta_of_correlation(ml, limit) - target)
        assert error < 0.01, (limit, error)
        assert abs(_zeta_of_correlation(ml, lme4_limit) - target) > 2 * error, \
            (lme4_limit, error)


def _check_fixed_by_fits(model, name, got, lme4_limits) -> None:
    """A fixed effect's limits: zeta by independent fits is +-1.96 at ours (to 1e-4),
    and at least ten times as far from it at lme4's."""
    ml = LMM.from_record(refit_ml(model))
    for limit, lme4_limit, target in zip(got[["lower", "upper"]], lme4_limits,
                                         (-Z95, Z95)):
        error = abs(_zeta_of_fixed(ml, name, limit) - target)
        assert error < 1e-4, (limit, error)
        assert abs(_zeta_of_fixed(ml, name, lme4_limit) - target) > 10 * error, \
            (lme4_limit, error)


def _zeta_of_fixed(ml, name: str, value: float) -> float:
    """zeta of fixed effect ``name`` at ``value`` for a model with one scalar
    random-effect term: the ML deviance of the raw-matrix model with that column moved
    into the response, without the profile code."""
    problem = ml.record.problem
    j = ml.fix_ef_names.index(name)
    term = problem.terms[0]
    zt = np.zeros((term.n_levels, problem.n_obs))
    zt[term.codes, np.arange(problem.n_obs)] = 1.0
    held = LMM(x=np.delete(problem.x, j, axis=1), y=problem.y - value * problem.x[:, j],
               zt=zt, lambdat=lambda th: th[0] * np.eye(term.n_levels), start_point=[1.0],
               lower_bound=[0.0], reml=False)
    return float(np.sign(value - ml.fix_ef[name])
                 * np.sqrt(max(held.deviance - ml.deviance, 0.0)))


def _zeta_of_correlation(ml, rho: float) -> float:
    """zeta of a 2x2 term's correlation at rho: the ML deviance minimized over the two
    relative SDs on a log scale (their sizes differ by 700 in alien_species), from
    several starts, and the zero-SD floors; without the profile code."""
    def dev(log_sd):
        a, b = np.exp(log_sd)
        return ml.dev_fun(np.array([a, b * rho, b * np.sqrt(1 - rho**2)]))

    t1, t21, t22 = ml.theta
    t2 = np.hypot(t21, t22)
    best = min(ml.dev_fun(np.array([0.0, 0.0, t2])), ml.dev_fun(np.array([t1, 0.0, 0.0])))
    for k in (1.0, 1.5, 2.0, 3.0, 5.0):
        fit = minimize(dev, np.log([k * t1, k * t2]), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxfev": 4000})
        best = min(best, fit.fun)
    return float(np.sign(rho - t21 / t2) * np.sqrt(max(best - ml.deviance, 0.0)))


def test_fixed_effect_profile_intervals_are_conf_int_rows(fitted):
    model = fitted("dyestuff_reml")
    fixed = model.fix_ef_conf_int(method="profile", level=0.9)
    every = model.conf_int(method="profile", level=0.9)
    np.testing.assert_allclose(fixed.to_numpy(), every.loc[fixed.index].to_numpy(), rtol=1e-10)
    assert fixed.attrs == {"level": 0.9, "method": "profile"}


def test_wald_conf_int_has_no_limits_for_variance_parameters(fitted):
    model = fitted("sleep_reml")
    table = model.conf_int(method="wald", level=0.9)
    assert list(table.index) == ["sd_intercept|Subject", "cor_Days.intercept|Subject",
                                 "sd_Days|Subject", "sigma", "intercept", "Days"]
    assert table.iloc[:4].isna().all().all()
    np.testing.assert_allclose(table.iloc[4:].to_numpy(),
                               model.fix_ef_conf_int(level=0.9).to_numpy())


def test_level_is_checked(fitted):
    with pytest.raises(InvalidArgumentError, match="level"):
        fitted("dyestuff_reml").fix_ef_conf_int(level=95)
    with pytest.raises(InvalidArgumentError, match="method"):
        fitted("dyestuff_reml").conf_int(method="boot")


def test_back_spline_inverts_a_linear_trace_exactly():
    x = np.linspace(0.0, 6.0, 9)
    zeta = (x - 3.0) / 2.0
    lower, upper, outside = back_spline(x, zeta, [-1.0, 1.2, 2.0])
    assert lower == pytest.approx(1.0) and upper == pytest.approx(5.4)
    assert np.isnan(outside)


def test_back_spline_refuses_non_monotone_traces():
    x = np.arange(6.0)
    assert back_spline(x, np.array([-2, -1, 0, 0.5, 0.4, 2.0]), [1.0]) is None


def test_bootstrap_entry_points(fitted):
    model = fitted("sleep_reml")
    estimate = model.fix_ef_summary()["coef"]
    boot = model.fix_ef_conf_int(method="bootstrap", boottype="percentile", nsim=40, seed=7)
    assert list(boot.index) == model.fix_ef_names
    assert (boot["lower"] < estimate).all() and (estimate < boot["upper"]).all()
    every = model.conf_int(method="bootstrap", nsim=40, seed=7)
    assert list(every.index) == list(model.conf_int(method="wald").index)
    np.testing.assert_allclose(every.loc[model.fix_ef_names].to_numpy(), boot.to_numpy())
    assert every.notna().all().all()
    table = model.fix_ef_conf_int(method="all", nsim=40, seed=7, level=0.9)
    assert {"wald_lower", "profile_upper", "bootstrap_percentile_lower",
            "bootstrap_studentized_upper"} <= set(table.columns)
    np.testing.assert_allclose(table["wald_lower"], model.fix_ef_conf_int(level=0.9)["lower"])


def _trace(value, zeta, lower=-1.0, upper=1.0):
    import pandas as pd

    out = pd.DataFrame({"parameter": "cor", "zeta": zeta, "value": value})
    out.attrs.update(lower={"cor": lower}, upper={"cor": upper})
    return out


# (values, zetas, expected lower, expected upper): synthetic traces, zeta linear in the
# value where it is not flat, so the crossings are known exactly
TRACES = [
    # through the bounds on both sides without reaching +-1.96: the bounds
    ([-1.0, -0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5, 1.0], -1.0, 1.0),
    # crosses -1.96 at -0.6, then drops onto a floor at -1.2 up to the bound
    ([-1.0, -0.9, -0.7, -0.5, -0.3, 0.0, 0.3, 1.0],
     [-1.2, -1.2, -2.24, -1.6, -0.96, 0.0, 0.96, 3.2], -0.6125, 0.6125),
    # a plateau beyond the target: the crossing before it
    ([-1.0, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6],
     [-2.4, -2.4, -2.4, -1.6, -0.8, 0.0, 0.8, 1.6, 2.4], -0.49, 0.49),
]


@pytest.mark.parametrize("value, zeta, lower, upper", TRACES)
def test_profile_limits_are_crossings_or_bounds(value, zeta, lower, upper):
    from mixed_models.inference.intervals import profile_intervals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = profile_intervals(_trace(value, zeta)).loc["cor"]
    assert got["lower"] == pytest.approx(lower, abs=2e-3)
    assert got["upper"] == pytest.approx(upper, abs=2e-3)


def test_a_trace_that_stops_short_gives_no_limit_and_says_so():
    from mixed_models.errors import ConvergenceWarning
    from mixed_models.inference.intervals import profile_intervals

    trace = _trace([-1.0, -0.5, 0.0, 0.2, 0.4], [-1.0, -0.5, 0.0, 0.6, 1.2])
    with pytest.warns(ConvergenceWarning, match="stops at 0.4"):
        got = profile_intervals(trace).loc["cor"]
    assert got["lower"] == -1.0 and np.isnan(got["upper"])
