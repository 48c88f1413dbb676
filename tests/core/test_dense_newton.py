"""Newton's method on the dense system: exact objective and gradient, the optimum the
derivative-free path finds, and the response swap of bootstrap refits."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from core_terms import problem_arrays, random_term

from mixed_models.core import dense_newton, kernels
from mixed_models.core.block_gradient import lead_blocks
from mixed_models.core.dense_evaluator import DenseEvaluator, kernel_index
from mixed_models.core.dense_newton import evaluator_for, newton_result
from mixed_models.core.optimize import OptimizerSettings
from mixed_models.core.problem import LmmProblem

KINDS = ["scalar", "vector", "slope", "slope_diagonal", "crossed_dense", "nested",
         "crossed_intercepts", "intercept_over_slope"]  # dense systems of 24-108 rows


def _problem(kind: str, reml: bool) -> LmmProblem:
    return LmmProblem(*problem_arrays(kind, np.random.default_rng(7)), reml=reml,
                      reparametrize=False)


def _thetas(problem: LmmProblem, rng: np.random.Generator):
    yield problem.start()
    for scale in (0.1, 1.0, 5.0):
        theta = rng.uniform(0.2, 1.5, problem.n_theta) * scale
        off = ~problem.diagonal_mask()
        theta[off] = rng.normal(scale=0.5 * scale, size=off.sum())
        yield theta


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_objective_and_gradient_are_exact(kind, reml):
    problem = _problem(kind, reml)
    fun = DenseEvaluator(problem.cp, problem.theta_slices, reml)
    for theta in _thetas(problem, np.random.default_rng(3)):
        value, grad = fun(theta)
        assert value == pytest.approx(problem.objective(theta), rel=1e-11)
        h = 1e-6 * np.maximum(np.abs(theta), 1.0)
        central = [(problem.objective(theta + e) - problem.objective(theta - e)) / (2 * e.sum())
                   for e in np.diag(h)]
        assert np.allclose(grad, central, rtol=1e-5, atol=1e-5 * max(1.0, abs(value)))


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_newton_reaches_the_derivative_free_optimum(kind, reml):
    problem = _problem(kind, reml)
    bobyqa = problem.optimize(OptimizerSettings())
    done = newton_result(problem, problem.start())
    if done is None:  # handed over: only for an optimum next to the boundary
        assert np.any(problem.diagonal_mask() & (bobyqa.final < 10 * dense_newton.NEAR_ZERO))
        return
    assert done.optimizer == "newton" and done.confirmed
    assert done.objective <= bobyqa.objective + 1e-9 * abs(bobyqa.objective)
    assert done.evaluations < bobyqa.evaluations


def test_a_boundary_optimum_is_handed_over():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(10), 6)
    x = np.column_stack([np.ones(60), rng.normal(size=60)])
    y = x @ [1.0, 2.0] + rng.normal(size=60)  # no group effect: its SD goes to zero
    term = random_term(rng, 60, 10, 1, codes=g)
    problem = LmmProblem([term], x, y, reml=True, reparametrize=False)
    if problem.optimize(OptimizerSettings()).final[0] > 0:
        pytest.skip("this draw has a positive group SD")
    assert newton_result(problem, problem.start()) is None


@pytest.mark.parametrize("reml", [True, False])
def test_response_swap_equals_a_fresh_evaluator(reml):
    problem = _problem("crossed_dense", reml)
    fun = evaluator_for(problem)
    y = np.random.default_rng(4).normal(size=problem.n_obs)
    refit = problem.with_response(y)
    swapped = evaluator_for(refit)
    assert swapped is not fun and swapped.cp is refit.cp
    fresh = DenseEvaluator(refit.cp, refit.theta_slices, reml)
    for theta in _thetas(problem, np.random.default_rng(1)):
        a, ga = swapped(theta)
        b, gb = fresh(theta)
        assert a == pytest.approx(b, rel=1e-13) and np.allclose(ga, gb, rtol=1e-10, atol=1e-10)
    assert evaluator_for(refit) is swapped


def _numpy_only(fun: DenseEvaluator) -> DenseEvaluator:
    """The evaluator without its compiled kernel (numpy's dense evaluation)."""
    plain = copy.copy(fun)
    plain.blocks = None
    return plain


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_blocks_equal_the_dense_evaluation(kind, reml, compiled_kernels):
    problem = _problem(kind, reml)
    fun = DenseEvaluator(problem.cp, problem.theta_slices, reml)
    plain = _numpy_only(fun)
    for theta in _thetas(problem, np.random.default_rng(11)):
        value, grad = fun(theta)
        expected, expected_grad = plain(theta)
        assert value == pytest.approx(expected, rel=1e-12)
        assert np.allclose(grad, expected_grad, rtol=1e-9, atol=1e-9 * max(1.0, abs(value)))
    bad = problem.start()
    bad[problem.diagonal_mask()] = np.nan  # outside the positive definite region
    value, grad = fun(bad)
    assert value == np.inf and np.all(np.isnan(grad))


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_newton_takes_the_python_steps(kind, reml, compiled_kernels):
    problem = _problem(kind, reml)
    fun = DenseEvaluator(problem.cp, problem.theta_slices, reml)
    diagonal = problem.diagonal_mask()
    compiled = dense_newton.newton_fit(fun, problem.start(), diagonal)
    python = dense_newton.newton_fit(_numpy_only(fun), problem.start(), diagonal)
    assert compiled.converged == python.converged
    assert abs(compiled.evaluations - python.evaluations) <= 2
    assert compiled.objective == pytest.approx(python.objective, rel=1e-13, abs=1e-10)
    assert np.allclose(compiled.theta, python.theta, rtol=1e-7, atol=1e-8)
    assert fun.calls == compiled.evaluations


def test_a_process_loads_the_kernels_once_numpy_has_cost_as_much(compiled_kernels,
                                                                  monkeypatch):
    problem = _problem("scalar", True)
    monkeypatch.setattr(kernels, "_numpy_seconds", [0.0])
    first = DenseEvaluator(problem.cp, problem.theta_slices, True)
    assert first.blocks is None  # a few fits never load numba
    while kernels._numpy_seconds[0] < kernels.LOAD_AFTER:
        dense_newton.newton_fit(first, problem.start(), problem.diagonal_mask())
    later = DenseEvaluator(problem.cp, problem.theta_slices, True)
    assert later.blocks is not None and kernels.block_wanted()


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_estimates_equal_the_blocked_factors(kind, reml, compiled_kernels):
    problem = _problem(kind, reml)
    fun = evaluator_for(problem)  # a fit's estimates then come from its kernel
    assert fun.blocks is not None
    for theta in _thetas(problem, np.random.default_rng(13)):
        assert fun.solution(theta) is not None
        compiled = problem.estimates(theta)
        assert problem.factor.update(theta)
        blocked = problem.estimates_from(problem.factor, theta)
        assert compiled.pwrss == pytest.approx(blocked.pwrss, rel=1e-10)
        for a, b in [(compiled.beta, blocked.beta),
                     (compiled.beta_cov_unscaled, blocked.beta_cov_unscaled),
                     *zip(compiled.u, blocked.u), *zip(compiled.b, blocked.b)]:
            assert a.shape == b.shape
            assert np.allclose(a, b, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(b).max()))
    bad = problem.start()
    bad[problem.diagonal_mask()] = np.nan  # no factor: the estimates are the blocked path's
    assert fun.solution(bad) is None


@pytest.mark.parametrize("kind", KINDS + ["crossed_sparse_vector"])
def test_the_kernel_index_is_the_layouts(kind):
    # the compiled kernel's positions, built directly, are those the full layout gives
    problem = _problem(kind, True)
    fun = DenseEvaluator(problem.cp, problem.theta_slices, True)
    expected = kernels.block_arrays(lead_blocks(problem.cp), fun.rows, fun.cols, fun.group)
    got = kernel_index(problem.cp, problem.theta_slices)
    assert len(got) == len(expected) - 3
    for a, b in zip(got, expected[3:]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
