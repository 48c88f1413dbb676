"""The analytic gradient of the profiled objective against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from core_terms import problem_arrays

from mixed_models.core import gradient
from mixed_models.core.gradient import dense_system, objective_and_gradient, quasi_newton
from mixed_models.core.problem import LmmProblem


@pytest.mark.parametrize("kind", ["scalar", "vector", "crossed_dense", "nested"])
@pytest.mark.parametrize("reml", [True, False])
def test_gradient_matches_central_differences(kind, reml):
    rng = np.random.default_rng(31)
    terms, x, y, weights = problem_arrays(kind, rng)
    problem = LmmProblem(terms, x, y, weights, reml=reml)
    theta = rng.uniform(0.3, 1.2, problem.n_theta)
    a = dense_system(problem.cp)
    value, grad = objective_and_gradient(problem.cp, problem.factor.theta_slices, theta,
                                         reml, a)
    assert value == pytest.approx(problem.objective(theta), rel=1e-12)
    h = 1e-6
    central = np.array([(problem.objective(theta + h * e) - problem.objective(theta - h * e))
                        / (2 * h) for e in np.eye(len(theta))])
    np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-6 * np.abs(central).max())


def test_quasi_newton_reaches_the_derivative_free_optimum():
    rng = np.random.default_rng(8)
    terms, x, y, weights = problem_arrays("crossed_dense", rng)
    problem = LmmProblem(terms, x, y, weights)
    theta, value, evaluations = quasi_newton(problem)
    assert value <= problem.optimize().objective + 1e-7
    assert evaluations < 200


def test_lbfgs_is_an_optimizer_setting_of_the_problem():
    from mixed_models.core.optimize import OptimizerSettings
    rng = np.random.default_rng(9)
    terms, x, y, weights = problem_arrays("vector", rng)
    problem = LmmProblem(terms, x, y, weights, reml=False)
    result = problem.optimize(OptimizerSettings(optimizer="lbfgs"))
    assert result.optimizer == "lbfgs" and result.converged
    assert result.objective == pytest.approx(problem.objective(result.final), rel=1e-14)
    assert result.objective <= problem.optimize().objective + 1e-7


@pytest.fixture(scope="module")
def maximal():
    """The kb07-like maximal model (20 theta entries) at its optimum, internal columns."""
    import warnings
    from pathlib import Path

    import pandas as pd

    from mixed_models import LMM

    data = pd.read_csv(Path(__file__).parents[1] / "data" / "saddle" / "kb07_like.csv")
    terms = "1 + spkr + prec + load"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula(f"rt ~ {terms} + ({terms} | subj) + ({terms} | item)",
                                 data, reml=False)
    problem = model.record.problem.internal
    return problem, problem.theta_to_internal(np.asarray(model.theta))


# The subject term's lambda columns: entries (row, col) in column-major order of a 4 x 4
# lower triangle; column 1 holds entries 4 (its diagonal), 5 and 6.
@pytest.mark.parametrize("zeroed, descends", [
    ((), False),            # the optimum: its zero columns are minima in every direction
    ((4,), True),           # a diagonal zeroed, its column kept: flipping the column descends
    ((4, 5, 6), True),      # a whole column zeroed: a saddle, the objective even in it
])
def test_a_descent_off_zero_diagonal_entries_is_seen(maximal, zeroed, descends):
    from mixed_models.core.gradient import descends_off_zeros, objective_with_gradient

    problem, optimum = maximal
    theta = optimum.copy()
    theta[list(zeroed)] = 0.0
    at_zero = problem.diagonal_mask() & (theta == 0.0)
    assert np.any(at_zero)  # the optimum has zero variances of its own
    fun, _ = objective_with_gradient(problem)
    assert descends_off_zeros(problem, fun, theta, at_zero) is descends


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("kind", ["scalar", "vector", "crossed_dense", "nested"])
def test_the_blockwise_gradient_is_the_dense_one(kind, reml, monkeypatch):
    problem = LmmProblem(*problem_arrays(kind, np.random.default_rng(2)), reml=reml,
                         reparametrize=False)
    a = dense_system(problem.cp)
    rng = np.random.default_rng(8)
    for scale in (0.3, 1.0, 3.0):
        theta = rng.uniform(0.2, 1.5, problem.n_theta) * scale
        off = ~problem.diagonal_mask()
        theta[off] = rng.normal(scale=0.5 * scale, size=off.sum())
        monkeypatch.setattr(gradient, "_by_blocks", lambda cp: False)
        dense = objective_and_gradient(problem.cp, problem.theta_slices, theta, reml, a)
        monkeypatch.setattr(gradient, "_by_blocks", lambda cp: True)
        blocks = objective_and_gradient(problem.cp, problem.theta_slices, theta, reml, a)
        assert blocks[0] == pytest.approx(dense[0], rel=1e-12)
        np.testing.assert_allclose(blocks[1], dense[1], rtol=1e-9,
                                   atol=1e-9 * max(1.0, abs(dense[0])))
    theta = problem.start()
    theta[problem.diagonal_mask()] = -np.inf  # not positive definite
    value, grad = objective_and_gradient(problem.cp, problem.theta_slices, theta, reml, a)
    assert value == np.inf and np.all(np.isnan(grad))
