"""The gradient's Newton refinement of an optimum: from a point the derivative-free
polish leaves (1e-6 off), back to where the analytic gradient vanishes."""

from __future__ import annotations

import numpy as np
import pytest
from core_terms import problem_arrays

from mixed_models.core.fit import FitSettings, fit_theta
from mixed_models.core.gradient import dense_system, objective_and_gradient
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.problem import LmmProblem
from mixed_models.core.refine import refine_optimum


def _gradient(problem: LmmProblem, theta: np.ndarray) -> np.ndarray:
    return objective_and_gradient(problem.cp, problem.factor.theta_slices, theta,
                                  problem.reml, dense_system(problem.cp))[1]


def _result(theta: np.ndarray, value: float) -> OptimizationResult:
    return OptimizationResult("bobyqa", theta.copy(), theta.copy(), value, 0, "SUCCESS", 0)


@pytest.mark.parametrize("kind", ["scalar", "vector", "crossed_dense", "nested"])
@pytest.mark.parametrize("reml", [True, False])
def test_refinement_returns_to_the_zero_of_the_gradient(kind, reml):
    problem = LmmProblem(*problem_arrays(kind, np.random.default_rng(5)), reml=reml).internal
    optimum = fit_theta(problem, FitSettings()).final
    off = optimum * (1 + 1e-6 * np.arange(1, len(optimum) + 1))
    result = refine_optimum(problem, _result(off, problem.objective(off)))
    np.testing.assert_allclose(result.final, optimum, rtol=1e-9, atol=1e-12)
    assert np.abs(_gradient(problem, result.final)).max() < 1e-7
    assert result.objective <= problem.objective(off)
    assert result.evaluations > 0


def test_entries_at_zero_stay_there():
    problem = LmmProblem(*problem_arrays("vector", np.random.default_rng(5))).internal
    theta = fit_theta(problem, FitSettings()).final.copy()
    theta[0] = 0.0  # a diagonal entry pinned at its bound
    result = refine_optimum(problem, _result(theta, problem.objective(theta)))
    assert result.final[0] == 0.0
    assert result.objective <= problem.objective(theta)
