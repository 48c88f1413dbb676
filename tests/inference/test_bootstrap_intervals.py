"""Bootstrap confidence intervals: the four types, against Wald and against their formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import reference
from mixed_models.errors import InvalidArgumentError, MixedModelsWarning
from mixed_models.inference.bootstrap import bootstrap
from mixed_models.inference.intervals_bootstrap import bootstrap_intervals, collect_estimates


@pytest.fixture(scope="module")
def sleep_intervals(fitted):
    model = fitted("sleep_reml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        table = bootstrap_intervals(model, boottype="all", nsim=200, seed=11, parameters="all")
    return model, table


def test_percentile_intervals_cover_lme4s_wald_centres(sleep_intervals):
    model, table = sleep_intervals
    wald = np.array(reference.fit_json("sleep_reml")["wald_ci"])
    centres, widths = wald.mean(axis=1), wald[:, 1] - wald[:, 0]
    boot = table.loc[["intercept", "Days"]]
    assert np.all(boot["percentile_lower"] < centres)
    assert np.all(centres < boot["percentile_upper"])
    # for the fixed effects the bootstrap distribution is close to the Wald normal one
    np.testing.assert_allclose(boot["percentile_lower"], wald[:, 0], atol=0.15 * widths.max())
    np.testing.assert_allclose(boot["percentile_upper"], wald[:, 1], atol=0.15 * widths.max())
    for kind in ("basic", "normal", "studentized"):
        got = boot[[f"{kind}_lower", f"{kind}_upper"]].to_numpy()
        assert np.all(np.abs(got - wald) < 0.2 * widths[:, None]), kind


def test_studentized_uses_each_replicates_own_standard_error(sleep_intervals):
    _, table = sleep_intervals
    basic = table.loc[["intercept", "Days"], ["basic_lower", "basic_upper"]].to_numpy()
    student = table.loc[["intercept", "Days"],
                        ["studentized_lower", "studentized_upper"]].to_numpy()
    # with the original SE in every replicate (the gem's bug) the two would be equal
    assert np.all(np.abs(student - basic) > 1e-3)


def test_all_parameters_in_lme4s_order(sleep_intervals):
    model, table = sleep_intervals
    assert list(table.index) == ["sd_intercept|Subject", "cor_Days.intercept|Subject",
                                 "sd_Days|Subject", "sigma", "intercept", "Days"]
    assert table.index.name == "parameter"
    assert list(table.columns) == [f"{k}_{b}" for k in ("studentized", "basic", "normal",
                                                        "percentile") for b in ("lower", "upper")]
    variance = table.loc[["sd_intercept|Subject", "sd_Days|Subject", "sigma"]]
    assert variance[["studentized_lower", "studentized_upper"]].isna().all().all()
    estimates = [24.7404, 5.9221, model.sigma]
    assert np.all(variance["percentile_lower"] < estimates)
    assert np.all(np.array(estimates) < variance["percentile_upper"])
    profile = reference.fit_json("sleep_reml")["profile_ci"]
    # the sigma interval is close to lme4's profile interval (both about 22.9 to 28.9)
    sigma = table.loc["sigma", ["percentile_lower", "percentile_upper"]].to_numpy()
    np.testing.assert_allclose(sigma, [profile["lower"][3], profile["upper"][3]], rtol=0.06)
    assert table.attrs["nsim"] == 200 and table.attrs["used"] == 200


def test_interval_formulas(fitted):
    model = fitted("dyestuff_reml")
    got = bootstrap_intervals(model, boottype="all", nsim=40, seed=5, n_jobs=1, level=0.9)
    reps = bootstrap(model, 40, seed=5, what_to_collect=collect_estimates, n_jobs=1)
    t, se = model.fix_ef["intercept"], model.fix_ef_summary().loc["intercept", "sd"]
    star = reps["intercept"].to_numpy()
    q05, q95 = np.quantile(star, [0.05, 0.95])
    pivot = (star - t) / reps["se:intercept"].to_numpy()
    p05, p95 = np.quantile(pivot, [0.05, 0.95])
    z = norm.ppf(0.95)
    expected = {
        "percentile": (q05, q95),
        "basic": (2 * t - q95, 2 * t - q05),
        "normal": (2 * t - star.mean() - z * star.std(ddof=1),
                   2 * t - star.mean() + z * star.std(ddof=1)),
        "studentized": (t - se * p95, t - se * p05),
    }
    for kind, (lo, hi) in expected.items():
        assert got.loc["intercept", f"{kind}_lower"] == pytest.approx(lo, rel=1e-10), kind
        assert got.loc["intercept", f"{kind}_upper"] == pytest.approx(hi, rel=1e-10), kind


def test_one_type_gives_lower_and_upper(fitted):
    table = bootstrap_intervals(fitted("dyestuff_reml"), boottype="percentile", nsim=10,
                                seed=1, n_jobs=1)
    assert list(table.columns) == ["lower", "upper"] and list(table.index) == ["intercept"]
    assert isinstance(table, pd.DataFrame)


@pytest.mark.parametrize("options, match", [
    ({"level": 1.5}, "level"),
    ({"boottype": "bca"}, "boottype"),
    ({"parameters": "random"}, "parameters"),
])
def test_options_are_checked(fitted, options, match):
    with pytest.raises(InvalidArgumentError, match=match):
        bootstrap_intervals(fitted("dyestuff_reml"), nsim=5, **options)
