"""The last refinement of an optimum: Newton steps on the analytic gradient.

The derivative-free optimizer and the finite-difference Newton polish both judge points
by objective values, which at the optimum differ only in their rounding: they leave
theta where the objective stops telling points apart, about 1e-7 from the optimum in a
flat direction. Two fits of the same cross-products summed in another order (a streamed
fit and the in-memory one) then stop at thetas that far apart, and the estimates differ
by ~1e-8 of themselves. The analytic gradient still resolves those points: Newton steps
on it (with a Hessian from its differences) bring theta to where the gradient vanishes,
the same point for any summation order, to ~1e-10.

Only for the models the dense gradient serves (:func:`~mixed_models.core.gradient.
ineligible` with ``MAX_POLISHED``); entries at a zero bound stay there.

Unstable: a new module.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core.gradient import MAX_POLISHED, dense_system, ineligible, \
    objective_and_gradient
from mixed_models.core.optimize import OptimizationResult

# Newton steps at most; each costs 2 k + 1 gradient evaluations.
MAX_STEPS = 4
# Relative difference step of the Hessian from gradient differences.
HESSIAN_STEP = 1e-5
# A step this small relative to theta ends the refinement.
STEP_DONE = 1e-12
# The objective may rise by this much of itself (its rounding) on an accepted step.
ROUNDING = 1e-13


def refine_optimum(problem, result: OptimizationResult) -> OptimizationResult:
    """Newton steps on the analytic gradient from ``result.final`` (``problem``'s
    internal columns); ``result`` is updated in place and returned. A step is taken
    only while it shrinks the gradient without raising the objective beyond rounding."""
    if not np.isfinite(result.objective) or ineligible(problem, MAX_POLISHED):
        return result
    a = dense_system(problem.cp)
    slices = problem.factor.theta_slices

    def gradient(theta: np.ndarray) -> np.ndarray:
        return objective_and_gradient(problem.cp, slices, theta, problem.reml, a)[1]

    theta = np.asarray(result.final, dtype=float)
    value = result.objective
    free = ~(problem.diagonal_mask() & (theta <= 0.0))
    g = gradient(theta)
    calls = 1
    for _ in range(MAX_STEPS):
        if not (np.any(free) and np.all(np.isfinite(g))):
            break
        step, used = _newton_step(gradient, theta, g, free)
        calls += used
        if step is None:
            break
        trial = theta + step
        if np.any(problem.diagonal_mask() & (trial < 0.0)):
            break  # the optimum is at a bound: the finite-difference polish handles it
        trial_value, trial_g = problem.objective(trial), gradient(trial)
        calls += 1
        if not (trial_value <= value + ROUNDING * max(1.0, abs(value))
                and np.linalg.norm(trial_g[free]) < np.linalg.norm(g[free])):
            break
        theta, value, g = trial, trial_value, trial_g
        if np.all(np.abs(step) <= STEP_DONE * np.maximum(np.abs(theta), 1.0)):
            break
    result.final, result.objective = theta, value
    result.evaluations += calls
    return result


def _newton_step(gradient, theta: np.ndarray, g: np.ndarray,
                 free: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The Newton step over the ``free`` entries, the Hessian from central differences
    of the gradient; None when that Hessian is not positive definite."""
    index = np.flatnonzero(free)
    hess = np.zeros((len(index), len(index)))
    for j, i in enumerate(index):
        h = HESSIAN_STEP * max(abs(theta[i]), 1.0)
        e = np.zeros_like(theta)
        e[i] = h
        hess[:, j] = (gradient(theta + e)[index] - gradient(theta - e)[index]) / (2 * h)
    hess = (hess + hess.T) / 2
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None, 2 * len(index)
    step = np.zeros_like(theta)
    step[index] = -np.linalg.solve(chol.T, np.linalg.solve(chol, g[index]))
    return step, 2 * len(index)
