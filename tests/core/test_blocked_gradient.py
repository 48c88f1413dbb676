"""The gradient through the blocked factor against the dense analytic gradient, and the
default fit that uses it (large models whose terms are all scalar)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixed_models import LMM
from mixed_models.control import Control
from mixed_models.core import blocked_gradient, kernels
from mixed_models.core.factor import BlockedCholesky
from mixed_models.core.gradient import objective_and_gradient


def frame(n: int, levels: tuple[int, int, int], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, k, n) for k in levels]
    effects = [rng.normal(scale=s, size=k) for s, k in zip((1.0, 0.6, 0.3), levels)]
    x = rng.normal(size=n)
    y = 2.0 + 0.5 * x + sum(e[c] for e, c in zip(effects, codes)) + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "a": codes[0].astype(str), "b": codes[1].astype(str),
                         "c": codes[2].astype(str)})


def fit(data, formula, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(formula, data, **kwargs)


@pytest.mark.parametrize("formula", ["y ~ x + (1|a) + (1|b)",
                                     "y ~ x + (1|a) + (1|b) + (1|c)"])
def test_default_fit_uses_it_from_two_terms_and_keeps_nothing_after(formula):
    data = frame(6000, (500, 120, 15), seed=8)
    auto = fit(data, formula, reml=True)
    bobyqa = fit(data, formula, reml=True, control=Control(optimizer="bobyqa"))
    assert auto.optimization_result.optimizer == "lbfgs"
    assert auto.deviance <= bobyqa.deviance + 1e-8
    np.testing.assert_allclose(auto.theta, bobyqa.theta, rtol=1e-5)
    factor = auto.record.problem.internal.factor
    assert factor not in blocked_gradient._work and factor not in blocked_gradient._last


@pytest.mark.parametrize("formula", ["y ~ x + (1|a) + (1|b) + (1|c)", "y ~ x + (1|a)",
                                     "y ~ 1 + (1|a) + (1|b)", "y ~ x + (1|a) + (1|a:b)"])
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_blocked_gradient_equals_the_dense_one(formula, reml, weighted):
    data = frame(400, (30, 12, 5), seed=1)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(data)) if weighted else None
    problem = fit(data, formula, reml=reml, weights=weights).record.problem
    factor = BlockedCholesky(problem.cp)
    theta = np.abs(np.random.default_rng(3).normal(size=problem.n_theta)) + 0.2
    value, grad = blocked_gradient.objective_and_gradient(factor, theta, reml)
    dense_value, dense_grad = objective_and_gradient(problem.cp, factor.theta_slices, theta,
                                                     reml)
    assert value == pytest.approx(dense_value, rel=1e-12)
    np.testing.assert_allclose(grad, dense_grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("compiled", [False, True])
def test_sparse_lead_block_and_zero_entries(compiled, reml, monkeypatch):
    # 1500 x 600 levels: the lead-rest block is stored sparse; theta_c = 0 has gradient 0.
    # compiled: the lead term's trace by the compiled kernel
    if compiled and not kernels.available():
        pytest.skip("numba is not installed")
    data = frame(20_000, (1500, 600, 20), seed=4)
    problem = fit(data, "y ~ x + (1|a) + (1|b) + (1|c)", reml=reml).record.problem
    monkeypatch.setattr(kernels, "MIN_WORK", 0 if compiled else 10**18)
    factor = BlockedCholesky(problem.cp)
    h = factor.weighted_lead_rest(np.ones(1500))
    q = factor.q_rest
    assert (factor.lead_rest_trace(h, np.ones(q), np.eye(q)) is not None) is compiled
    theta = np.array([0.8, 0.5, 0.0])
    value, grad = blocked_gradient.objective_and_gradient(factor, theta, reml)
    dense_value, dense_grad = objective_and_gradient(problem.cp, factor.theta_slices, theta,
                                                     reml)
    assert value == pytest.approx(dense_value, rel=1e-12)
    np.testing.assert_allclose(grad, dense_grad, rtol=1e-9, atol=1e-7)
    assert grad[2] == 0.0


def test_default_fit_of_a_large_scalar_model_uses_it_and_matches_bobyqa():
    data = frame(6000, (500, 120, 15), seed=5)
    formula = "y ~ x + (1|a) + (1|b) + (1|c)"
    auto = fit(data, formula, reml=False)
    bobyqa = fit(data, formula, reml=False, control=Control(optimizer="bobyqa"))
    assert auto.optimization_result.optimizer == "lbfgs"
    assert bobyqa.optimization_result.optimizer == "bobyqa"
    assert auto.deviance <= bobyqa.deviance + 1e-8
    np.testing.assert_allclose(auto.theta, bobyqa.theta, rtol=1e-5)
    assert auto.optimization_result.evaluations < bobyqa.optimization_result.evaluations


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_small_variance_is_not_lost_to_the_stationary_point_at_zero(seed):
    # theta_k = 0 has gradient 0 for every scalar term; L-BFGS-B alone stopped there on
    # such data, 0.15-9.7 above the optimum, before the kicks and the zero check
    rng = np.random.default_rng(seed)
    n, levels = 5000, (600, 120, 10)
    codes = [rng.integers(0, k, n) for k in levels]
    effects = [rng.normal(scale=s, size=k) for s, k in zip((0.5, 0.05, 2.0), levels)]
    x = rng.normal(size=n)
    y = 1.0 + x + sum(e[c] for e, c in zip(effects, codes)) + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "x": x, "a": codes[0].astype(str), "b": codes[1].astype(str),
                         "c": codes[2].astype(str)})
    formula = "y ~ x + (1|a) + (1|b) + (1|c)"
    auto = fit(data, formula, reml=False)
    bobyqa = fit(data, formula, reml=False, control=Control(optimizer="bobyqa"))
    assert auto.deviance <= bobyqa.deviance + 1e-8
    np.testing.assert_allclose(auto.theta, bobyqa.theta, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed, sds", [(0, (0.5, 0.0)), (2, (0.0, 0.7)), (5, (0.5, 0.02)),
                                       (7, (1e-3, 1.0))])
@pytest.mark.parametrize("reml", [False, True])
def test_two_terms_with_a_variance_at_or_near_zero_reach_bobyqas_optimum(seed, sds, reml):
    rng = np.random.default_rng(seed)
    n, levels = 5000, (600, 150)
    codes = [rng.integers(0, k, n) for k in levels]
    effects = [rng.normal(scale=s, size=k) for s, k in zip(sds, levels)]
    x = rng.normal(size=n)
    y = 1.0 + x + sum(e[c] for e, c in zip(effects, codes)) + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "x": x, "a": codes[0].astype(str), "b": codes[1].astype(str)})
    formula = "y ~ x + (1|a) + (1|b)"
    auto = fit(data, formula, reml=reml)
    bobyqa = fit(data, formula, reml=reml, control=Control(optimizer="bobyqa"))
    assert auto.optimization_result.optimizer == "lbfgs"
    assert auto.deviance <= bobyqa.deviance + 1e-8
    np.testing.assert_allclose(auto.theta, bobyqa.theta, rtol=1e-4, atol=1e-5)


def test_the_gradient_at_the_last_theta_is_not_computed_again(monkeypatch):
    data = frame(400, (30, 12, 5), seed=6)
    problem = fit(data, "y ~ x + (1|a) + (1|b) + (1|c)", reml=False).record.problem
    factor = BlockedCholesky(problem.cp)
    theta = np.array([0.8, 0.5, 0.3])
    value, grad = blocked_gradient.objective_and_gradient(factor, theta, False)
    calls = []
    inner = blocked_gradient._objective_and_gradient
    monkeypatch.setattr(blocked_gradient, "_objective_and_gradient",
                        lambda *a: calls.append(a) or inner(*a))
    again, grad_again = blocked_gradient.objective_and_gradient(factor, theta.copy(), False)
    assert calls == [] and again == value
    np.testing.assert_array_equal(grad_again, grad)
    grad_again[0] = 99.0  # the caller's copy: the memo is not changed through it
    assert blocked_gradient.objective_and_gradient(factor, theta, False)[1][0] == grad[0]
    # another theta, or the REML criterion at the same theta, is computed
    blocked_gradient.objective_and_gradient(factor, theta * 1.1, False)
    reml_value = blocked_gradient.objective_and_gradient(factor, theta, True)[0]
    assert len(calls) == 2 and reml_value != value


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), reml=st.booleans())
def test_a_large_two_term_fit_does_not_depend_on_row_order_or_level_labels(seed, reml):
    # the L-BFGS-B path: the same optimum whatever the order of rows and names of levels
    rng = np.random.default_rng(seed)
    data = frame(4000, (500, 150, 2), seed=seed % 1000)
    formula = "y ~ x + (1|a) + (1|b)"
    base = fit(data, formula, reml=reml)
    shuffled = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    shuffled = shuffled.assign(a="L" + shuffled["a"], b=shuffled["b"] + "_z")
    other = fit(shuffled, formula, reml=reml)
    assert base.optimization_result.optimizer == other.optimization_result.optimizer == "lbfgs"
    assert other.deviance == pytest.approx(base.deviance, rel=1e-12, abs=1e-8)
    np.testing.assert_allclose(other.theta, base.theta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(other.fix_ef_summary()["coef"].to_numpy(),
                               base.fix_ef_summary()["coef"].to_numpy(), rtol=1e-6, atol=1e-9)
