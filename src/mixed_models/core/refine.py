"""The last refinement of an optimum: Newton steps on the analytic gradient.

The derivative-free optimizer and the finite-difference Newton polish both judge points
by objective values, which at the optimum differ only in their rounding: they leave
theta where the objective stops telling points apart, about 1e-7 from the optimum in a
flat direction. Two fits of the same cross-products summed in another order (a streamed
fit and the in-memory one) then stop at thetas that far apart, and the estimates differ
by ~1e-8 of themselves. The analytic gradient still resolves those points: Newton steps
on it (with a Hessian from its differences) bring theta to where the gradient vanishes,
the same point for any summation order, to ~1e-10.

Only for formula models (terms, not raw matrices) the dense gradient serves (:func:`~mixed_models.core.gradient.
ineligible` with ``MAX_POLISHED``); entries at a zero bound stay there.

Unstable: a new module.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core.gradient import MAX_POLISHED, dense_system, ineligible, \
    objective_and_gradient
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.threads import blas_threads_for

# Newton steps at most, on one Hessian (2 k gradient evaluations), one gradient each.
MAX_STEPS = 4
# Relative difference step of the Hessian from gradient differences.
HESSIAN_STEP = 1e-5
# A step this small relative to theta ends the refinement (the next would be smaller by
# the Hessian's relative error).
STEP_DONE = 1e-10
# The objective may rise by this much of itself (its rounding) on an accepted step.
ROUNDING = 1e-13


def refine_optimum(problem, result: OptimizationResult) -> OptimizationResult:
    """Newton steps on the analytic gradient from ``result.final`` (``problem``'s
    internal columns); ``result`` is updated in place and returned. A step is taken
    only while it shrinks the gradient without raising the objective beyond rounding."""
    refine_with_decrement(problem, result)
    return result


def refine_with_decrement(problem, result: OptimizationResult, central: bool = True) -> float:
    """:func:`refine_optimum`, returning the Newton decrement g' H^-1 g / 2 over the
    entries off their bounds at the end point (inf when the Hessian is not positive
    definite or the model is not eligible): below the objective's rounding, it confirms
    the optimum. ``central=False`` takes the Hessian from forward differences (half the
    gradients; its relative error ~1e-5 slows the steps, which start close after a
    gradient-based optimizer, and does not matter to the decrement's size)."""
    if not (np.isfinite(result.objective) and problem.has_terms) \
            or ineligible(problem, MAX_POLISHED):
        return np.inf
    cp = problem.cp
    # small dense systems: more BLAS threads than the size warrants only contend
    with blas_threads_for(cp.lead.q + cp.avv.shape[0]):
        return _refine(problem, result, central)


def _refine(problem, result: OptimizationResult, central: bool = True) -> float:
    try:
        a = dense_system(problem.cp)
    except (ValueError, FloatingPointError):
        return np.inf
    slices = problem.factor.theta_slices

    def gradient(theta: np.ndarray) -> np.ndarray:
        try:
            return objective_and_gradient(problem.cp, slices, theta, problem.reml, a)[1]
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return np.full(len(theta), np.nan)  # a degenerate system: no step from here

    theta = np.asarray(result.final, dtype=float)
    value = result.objective
    diagonal = problem.diagonal_mask()
    free = ~(diagonal & (theta <= 0.0))
    g = gradient(theta)
    calls = 1
    if not (np.any(free) and np.all(np.isfinite(g))):
        _counted(result, calls)
        return np.inf
    chol = _hessian_factor(gradient, theta, free, None if central else g)
    calls += (2 if central else 1) * int(free.sum())
    # The Hessian barely changes over steps of 1e-7: one factor serves every step.
    for _ in range(MAX_STEPS if chol is not None else 0):
        step = np.zeros_like(theta)
        step[free] = -np.linalg.solve(chol.T, np.linalg.solve(chol, g[free]))
        trial = theta + step
        if np.any(diagonal & (trial < 0.0)):
            break  # the optimum is at a bound: the finite-difference polish handles it
        trial_value, trial_g = problem.objective(trial), gradient(trial)
        calls += 1
        if not (np.isfinite(trial_value) and np.all(np.isfinite(trial_g))
                and trial_value <= value + ROUNDING * max(1.0, abs(value))
                and np.linalg.norm(trial_g[free]) < np.linalg.norm(g[free])):
            break
        theta, value, g = trial, trial_value, trial_g
        if np.all(np.abs(step) <= STEP_DONE * np.maximum(np.abs(theta), 1.0)):
            break
    result.final, result.objective = theta, value
    _counted(result, calls)
    if chol is None:
        return np.inf
    z = np.linalg.solve(chol, g[free])
    return 0.5 * float(z @ z)


def _counted(result: OptimizationResult, calls: int) -> None:
    result.evaluations += calls


def _hessian_factor(gradient, theta: np.ndarray, free: np.ndarray,
                    at_theta: np.ndarray | None = None) -> np.ndarray | None:
    """The Cholesky factor of the Hessian over the ``free`` entries, from central
    differences of the gradient (forward ones from ``at_theta``, the gradient at theta,
    when given); None when it is not positive definite."""
    index = np.flatnonzero(free)
    hess = np.zeros((len(index), len(index)))
    for j, i in enumerate(index):
        h = HESSIAN_STEP * max(abs(theta[i]), 1.0)
        e = np.zeros_like(theta)
        e[i] = h
        if at_theta is None:
            hess[:, j] = (gradient(theta + e)[index] - gradient(theta - e)[index]) / (2 * h)
        else:
            hess[:, j] = (gradient(theta + e)[index] - at_theta[index]) / h
    hess = (hess + hess.T) / 2
    if not np.all(np.isfinite(hess)):
        return None
    try:
        return np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
