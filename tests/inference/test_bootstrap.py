"""The parametric bootstrap engine, simulation, and the bootstrap LRT p-value."""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixed_models import LMM, datasets
from mixed_models.errors import ConvergenceWarning, InvalidArgumentError, ModelError
import reference
from mixed_models.inference.bootstrap import (
    bootstrap,
    bootstrap_lrt_p,
    default_collect,
    refit_response,
    variance_parameters,
)
from mixed_models.inference.bootstrap_runner import replicate_seeds, resolve_n_jobs, run_replicates
from mixed_models.inference.simulate import simulate_response


@pytest.fixture(scope="module")
def sleep(fitted):
    return fitted("sleep_reml")


@pytest.fixture(scope="module")
def dyestuff(fitted):
    return fitted("dyestuff_reml")


# --- simulation -----------------------------------------------------------------------

def test_simulation_has_the_models_mean_and_covariance(sleep):
    rng = np.random.default_rng(11)
    draws = np.array([simulate_response(sleep, rng) for _ in range(4000)])
    problem = sleep.record.problem
    mean = problem.x @ sleep.record.estimates.beta
    se = np.sqrt(np.var(draws, axis=0) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4.5 * se)
    # rows 0..9 are subject 308 at days 0..9: Cov = Z_i Sigma Z_i' + sigma^2 I
    z = problem.terms[0].z[:10]
    sigma_b = sleep.sigma_mat.to_numpy()
    expected = z @ sigma_b @ z.T + sleep.sigma2 * np.eye(10)
    observed = np.cov(draws[:, :10], rowvar=False)
    np.testing.assert_allclose(observed, expected, rtol=0.12, atol=0.06 * expected.max())
    # rows of different subjects are independent
    assert abs(np.corrcoef(draws[:, 0], draws[:, 10])[0, 1]) < 0.06


def test_simulation_uses_weights_and_offset():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 8)
    w = np.tile([1.0, 4.0], 48)
    off = np.linspace(0, 3, 96)
    y = off + 2.0 + rng.standard_normal(12)[g] + rng.standard_normal(96) / np.sqrt(w)
    data = pd.DataFrame({"y": y, "g": g, "w": w, "o": off})
    model = LMM.from_formula("y ~ 1 + (1 | g)", data, weights="w", offset="o")
    draws = np.array([simulate_response(model, rng) for _ in range(3000)])
    centred = draws - draws.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(draws.mean(axis=0), off + model.fix_ef["intercept"],
                               atol=0.12)
    # within a group the difference of a w=1 and a w=4 row has variance sigma^2 (1 + 1/4)
    diff = centred[:, 0] - centred[:, 1]
    np.testing.assert_allclose(np.var(diff), model.sigma2 * 1.25, rtol=0.08)


def test_simulation_works_for_a_singular_fit(fitted):
    model = fitted("categorical_reml")  # a boundary fit: Lambda is singular
    assert model.singular
    y = model.simulate_new_response(seed=3)
    assert y.shape == (model.n_obs,) and np.all(np.isfinite(y))


def test_simulate_new_response_is_reproducible(sleep):
    a, b = sleep.simulate_new_response(seed=7), sleep.simulate_new_response(seed=7)
    # the same draws; the products with Lambda and Z are BLAS calls: equal to rounding
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(a, sleep.simulate_new_response(seed=8), rtol=1e-6)


# --- refits ---------------------------------------------------------------------------

def test_refit_to_the_original_response_reproduces_the_fit(sleep):
    refit = LMM.from_record(refit_response(sleep, sleep.record.problem.y.copy()))
    assert refit.deviance == pytest.approx(sleep.deviance, abs=1e-7)
    np.testing.assert_allclose(list(refit.fix_ef.values()), list(sleep.fix_ef.values()),
                               rtol=1e-7)
    assert refit.formula == sleep.formula and isinstance(refit.warnings, list)


def test_refit_matches_a_fresh_fit_of_the_new_response(dyestuff):
    y = dyestuff.simulate_new_response(seed=1)
    data = datasets.load("dyestuff").assign(Yield=y)
    fresh = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data)
    refit = refit_response(dyestuff, y)
    assert refit.deviance == pytest.approx(fresh.deviance, abs=1e-8)
    assert refit.sigma == pytest.approx(fresh.sigma, rel=1e-6)


# --- the bootstrap table ----------------------------------------------------------------

def test_same_seed_same_replicates_whatever_the_number_of_processes(sleep):
    one = bootstrap(sleep, 12, seed=2024, n_jobs=1)
    two = bootstrap(sleep, 12, seed=2024, n_jobs=2)
    pd.testing.assert_frame_equal(one, two)
    other = bootstrap(sleep, 12, seed=2025, n_jobs=1)
    assert not np.allclose(one.to_numpy(), other.to_numpy())


def _closure_collect(scale: float):
    def collect(fit):
        return {"s": scale * fit.sigma}
    return collect


@pytest.mark.parametrize("collect", [
    lambda fit: {"s": fit.sigma, "d": fit.deviance},
    _closure_collect(2.0),
], ids=["lambda", "closure"])
def test_lambdas_and_closures_travel_to_worker_processes(dyestuff, collect):
    one = dyestuff.bootstrap(6, seed=8, what_to_collect=collect, n_jobs=1)
    two = dyestuff.bootstrap(6, seed=8, what_to_collect=collect, n_jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert one.notna().all().all()


def test_what_cannot_be_pickled_is_named(dyestuff):
    lock = threading.Lock()
    with pytest.raises(InvalidArgumentError, match="lock.*n_jobs=1"):
        dyestuff.bootstrap(4, seed=1, n_jobs=2,
                           what_to_collect=lambda fit: (lock.locked(), fit.sigma)[1])


def _blas_threads(rng: np.random.Generator) -> list[int]:
    from threadpoolctl import threadpool_info
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_many_chunks_come_back_in_replicate_order_with_one_blas_thread():
    _, seeds = replicate_seeds(5, 90)
    serial = run_replicates(_draw, seeds, n_jobs=1, progress=False)
    parallel = run_replicates(_draw, seeds, n_jobs=2, progress=False)
    assert parallel == serial
    threads = run_replicates(_blas_threads, seeds[:4], n_jobs=2, progress=False)
    assert all(n == 1 for per_worker in threads for n in per_worker)


def test_default_columns(sleep):
    table = sleep.bootstrap(3, seed=1, n_jobs=1)
    assert list(table.columns) == ["intercept", "Days", "sd_intercept|Subject",
                                   "cor_Days.intercept|Subject", "sd_Days|Subject", "sigma",
                                   "deviance"]
    assert table.index.name == "replicate" and list(table.index) == [0, 1, 2]
    assert table.attrs["seed"] == 1 and table.attrs["failures"] == {}
    original = default_collect(sleep)
    assert original["sd_intercept|Subject"] == pytest.approx(24.7404, rel=1e-4)
    assert original["sigma"] == pytest.approx(sleep.sigma)


@pytest.mark.parametrize("model_id", ["alien_reml", "dyestuff_reml", "pastes_reml",
                                      "penicillin_reml", "sleep_reml"])
def test_variance_parameters_are_named_and_ordered_as_lme4s_confint(fitted, model_id):
    ref = reference.fit_json(model_id)
    params = variance_parameters(fitted(model_id))
    lme4_names = ref["profile_ci"]["names"][:len(params)]
    assert [n.replace("intercept", "(Intercept)") for n in params] == lme4_names
    assert params["sigma"] == pytest.approx(ref["sigma"], rel=1e-4)


def test_variance_parameters_of_uncorrelated_and_crossed_terms(fitted):
    assert list(variance_parameters(fitted("sleep_zerocorr_reml"))) == [
        "sd_intercept|Subject", "sd_Days|Subject", "sigma"]
    assert list(variance_parameters(fitted("crossed_ml"))) == [
        "sd_intercept|g", "cor_x.intercept|g", "sd_x|g", "sd_intercept|h", "cor_x.intercept|h",
        "sd_x|h", "sigma"]


def test_seedless_run_records_its_entropy(dyestuff):
    table = bootstrap(dyestuff, 4, n_jobs=1)
    again = bootstrap(dyestuff, 4, seed=table.attrs["seed"], n_jobs=1)
    pd.testing.assert_frame_equal(table, again)


def test_replicates_vary_like_the_sampling_distribution(dyestuff):
    table = bootstrap(dyestuff, 150, seed=3, n_jobs=1)
    se = dyestuff.fix_ef_summary().loc["intercept", "sd"]
    assert table["intercept"].mean() == pytest.approx(dyestuff.fix_ef["intercept"], abs=0.4 * se)
    assert table["intercept"].std() == pytest.approx(se, rel=0.2)
    assert table["deviance"].notna().all()


@pytest.mark.parametrize("collect, columns", [
    (lambda m: m.sigma, ["value"]),
    (lambda m: [m.sigma, m.deviance], [0, 1]),
    (lambda m: {"s": m.sigma}, ["s"]),
    (lambda m: pd.Series({"a": 1.0, "b": m.sigma}), ["a", "b"]),
])
def test_what_to_collect_shapes(dyestuff, collect, columns):
    table = dyestuff.bootstrap(3, seed=0, what_to_collect=collect, n_jobs=1)
    assert list(table.columns) == columns and table.shape == (3, len(columns))


def test_how_to_simulate_replaces_the_simulation(dyestuff):
    def shifted(model, rng):
        return simulate_response(model, rng) + 1000.0

    base = dyestuff.bootstrap(5, seed=4, n_jobs=1)
    moved = dyestuff.bootstrap(5, seed=4, how_to_simulate=shifted, n_jobs=1)
    np.testing.assert_allclose(moved["intercept"], base["intercept"] + 1000.0, rtol=1e-9)
    np.testing.assert_allclose(moved["sigma"], base["sigma"], rtol=1e-6)


def test_how_to_simulate_must_return_a_full_finite_response(dyestuff):
    with pytest.raises(InvalidArgumentError, match=r"shape \(3,\).*\(30,\)"):
        dyestuff.bootstrap(2, how_to_simulate=lambda m, rng: np.ones(3), n_jobs=1)
    with pytest.raises(InvalidArgumentError, match="finite"):
        dyestuff.bootstrap(2, how_to_simulate=lambda m, rng: np.full(30, np.nan), n_jobs=1)


def test_failed_refits_are_nan_rows_with_a_warning(dyestuff):
    def sometimes_constant(model, rng):
        y = simulate_response(model, rng)
        return np.full_like(y, 5.0) if rng.random() < 0.5 else y

    with pytest.warns(ConvergenceWarning, match=r"of 8 bootstrap refits failed"):
        table = dyestuff.bootstrap(8, seed=9, how_to_simulate=sometimes_constant, n_jobs=1)
    failed = table["intercept"].isna()
    assert failed.any() and not failed.all()
    assert set(table.attrs["failures"]) == set(np.flatnonzero(failed))


@pytest.mark.parametrize("nsim", [0, -3, 2.5, True])
def test_nsim_must_be_a_positive_integer(dyestuff, nsim):
    with pytest.raises(InvalidArgumentError, match="nsim"):
        bootstrap(dyestuff, nsim)


def test_n_jobs():
    assert resolve_n_jobs(None, 1) == 1
    assert resolve_n_jobs(4, 2) == 2
    assert resolve_n_jobs(-1, 1000) >= 1
    for bad in (0, -2, 1.5, "2"):
        with pytest.raises(InvalidArgumentError, match="n_jobs"):
            resolve_n_jobs(bad, 10)


def _draw(rng: np.random.Generator) -> float:
    return float(rng.standard_normal())


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("progress, shown", [(True, True), (False, False), (None, False)])
def test_progress_bar_only_when_asked(capsys, progress, shown, n_jobs):
    # None is "auto": no bar when stderr is not a terminal (here: captured)
    _, seeds = replicate_seeds(1, 6)
    run_replicates(_draw, seeds, n_jobs=n_jobs, progress=progress, label="refits")
    err = capsys.readouterr().err
    assert ("refits" in err and "6/6" in err) == shown


# --- bootstrap likelihood ratio test --------------------------------------------------

def _two_models(rng: np.random.Generator, beta: float) -> tuple[LMM, LMM]:
    g = np.repeat(np.arange(8), 5)
    x = rng.standard_normal(40)
    y = 1.0 + beta * x + 0.8 * rng.standard_normal(8)[g] + rng.standard_normal(40)
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (LMM.from_formula("y ~ 1 + (1 | g)", data, reml=False),
                LMM.from_formula("y ~ x + (1 | g)", data, reml=False))


def _uniformity_p(p_values: list[float]) -> float:
    # with 19 replicates a p-value is k/20 and P(p <= 0.2 j) = 0.2 j exactly under H0
    counts = np.histogram(p_values, bins=[0, 0.2001, 0.4001, 0.6001, 0.8001, 1.0001])[0]
    return stats.chisquare(counts).pvalue


def test_bootstrap_lrt_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(20261126)
    p_values = [bootstrap_lrt_p(*_two_models(rng, 0.0), 19, seed=i, n_jobs=1)
                for i in range(40)]
    assert set(np.round(np.array(p_values) * 20, 9)) <= set(range(1, 21))
    assert _uniformity_p(p_values) > 0.001
    assert 0.35 < np.mean(p_values) < 0.65


def test_bootstrap_lrt_detects_a_real_effect():
    rng = np.random.default_rng(7)
    p_values = [bootstrap_lrt_p(*_two_models(rng, 1.0), 19, seed=i, n_jobs=1)
                for i in range(6)]
    assert max(p_values) == pytest.approx(1 / 20)
    assert _uniformity_p(p_values * 7) < 0.001  # the uniformity check above would fail


def test_bootstrap_lrt_refuses_incomparable_models(sleep, fitted):
    with pytest.raises(ModelError, match="same observations"):
        bootstrap_lrt_p(fitted("dyestuff_ml"), fitted("sleep_ml"), 5)
    with pytest.raises(ModelError, match="REML"):
        bootstrap_lrt_p(fitted("sleep_intercept_ml"), sleep, 5)
