"""Newton's method on the analytic gradient, for small models (a dense system).

The objective and its exact gradient come from
:class:`~mixed_models.core.dense_evaluator.DenseEvaluator` (a few microseconds to tens of
them per evaluation on sleepstudy's 39 rows). Once the compiled kernels are in use
(:func:`mixed_models.core.kernels.block_wanted`), the iterations below run compiled too
(:mod:`mixed_models.core.numba_newton`, step for step the same).

:func:`newton_fit` minimizes with Newton steps, projected on the bounds (0 below the
diagonal entries of lambda) and backtracked until the objective decreases enough. The
Hessian is the forward difference of exact gradients (k gradients for k theta entries),
kept positive definite, carried over full steps by BFGS's update and differenced again
after a shortened or slow step. Near the optimum the convergence is quadratic, so the
end is also the confirmation: the Newton decrement g' H^-1 g / 2 of a freshly
differenced Hessian is the decrease any further step could promise.

Unstable: the size limit and the stopping rule follow measurements (docs/performance.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mixed_models.core import kernels
from mixed_models.core.dense_evaluator import DenseEvaluator
from mixed_models.core.gradient import ineligible
from mixed_models.core.lazy import lazy_module
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.threads import blas_threads_for

lapack = lazy_module("scipy.linalg.lapack")

# The optimizer name a Newton fit reports (fit_theta skips the refinement after it).
OPTIMIZER_NAME = "newton"
#: Largest dense system (random effects + fixed effects + 1) fitted here.
MAX_SIZE = 160
#: A Newton decrement below this share of the objective (or of 1) ends the iterations.
DECREMENT_TOL = 1e-14
#: Relative step of the forward differences of the gradient.
HESSIAN_STEP = 1e-6
#: A decrement below this share of the objective is within the differenced Hessian's
#: noise when steps no longer lower the objective.
NOISE_DECREMENT = 1e-10
MAX_STEPS = 60
#: Diagonal entries of lambda below this hand the fit to the derivative-free path.
NEAR_ZERO = 1e-3
MAX_HALVINGS = 30


@dataclass
class NewtonResult:
    """End point of :func:`newton_fit`.

    Attributes
    ----------
    theta, objective, gradient
        The best point, its objective and gradient.
    decrement
        The Newton decrement at ``theta`` over the entries not held at a bound.
    evaluations
        Objective-and-gradient evaluations.
    converged
        True when the decrement fell below the tolerance.
    hessian
        The differenced Hessian at ``theta`` (None when the last one was BFGS's).
    """

    theta: np.ndarray
    objective: float
    gradient: np.ndarray
    decrement: float
    evaluations: int
    converged: bool
    hessian: np.ndarray | None = None


def newton_fit(fun: DenseEvaluator, start: np.ndarray, diagonal: np.ndarray,
               max_steps: int = MAX_STEPS, hessian: np.ndarray | None = None,
               confirm: bool = True, max_evaluations: int = 100_000) -> NewtonResult:
    """Minimize ``fun`` from ``start`` with entries ``diagonal`` bounded below by 0.

    The Hessian is differenced at the start (unless ``hessian`` gives one to begin
    with) and again wherever its (BFGS-updated) version says the optimum is reached:
    only a fresh Hessian confirms it. With ``confirm`` False the updated one is taken
    at its word (refits whose spread dwarfs the difference). Past ``max_evaluations``
    the result is not converged.
    """
    if fun.blocks is not None:
        return _compiled_newton(fun, start, diagonal, max_steps, hessian, confirm,
                                max_evaluations)
    began = time.perf_counter()
    try:
        return _numpy_newton(fun, start, diagonal, max_steps, hessian, confirm,
                             max_evaluations)
    finally:
        kernels.spent_in_numpy(time.perf_counter() - began)


def _numpy_newton(fun: DenseEvaluator, start: np.ndarray, diagonal: np.ndarray,
                  max_steps: int, hessian: np.ndarray | None, confirm: bool,
                  max_evaluations: int) -> NewtonResult:
    theta = np.where(diagonal, np.maximum(start, 0.0), start).astype(float)
    calls0 = fun.calls
    f, g = fun(theta)
    if not np.isfinite(f):
        return NewtonResult(theta, f, g, np.inf, fun.calls - calls0, False)
    decrement, fresh, converged = np.inf, False, False
    hess = None if hessian is None else hessian.copy()
    previous: float | None = None
    for _ in range(max_steps):
        if fun.calls - calls0 >= max_evaluations:
            converged = False
            break
        if hess is None:
            hess, fresh = _hessian(fun, theta, g), True
        free = ~(diagonal & (theta <= 0.0) & (g >= 0.0))
        step, decrement = _newton_step(hess, g, free)
        if step is None or decrement <= DECREMENT_TOL * max(1.0, abs(f)):
            converged = step is not None or decrement == 0.0
            if fresh or (converged and not confirm):
                if step is not None and decrement > 0.0:
                    theta, f, g = _last_step(fun, theta, f, g, step, diagonal, hess, free)
                break
            hess = None
            continue
        accepted = _line_search(fun, theta, f, g, step, diagonal)
        if accepted is None:
            converged = fresh and decrement <= NOISE_DECREMENT * max(1.0, abs(f))
            if fresh:
                break
            hess = None
            continue
        trial, f_trial, g_trial, full = accepted
        if f - f_trial <= DECREMENT_TOL * max(1.0, abs(f)) and \
                decrement <= NOISE_DECREMENT * max(1.0, abs(f)) and fresh:
            theta, f, g, converged = trial, f_trial, g_trial, True
            break  # the decrease is at the rounding level of the objective
        # BFGS carries the Hessian over steps the quadratic model predicted well; a
        # shortened step (far from the optimum, or a poor model) differences it again
        slow = previous is not None and decrement > 0.25 * previous
        hess = _bfgs_update(hess, trial - theta, g_trial - g) if full and not slow else None
        theta, f, g, fresh, previous = trial, f_trial, g_trial, False, decrement
    return NewtonResult(theta, f, g, decrement, fun.calls - calls0, bool(converged),
                        hess if fresh else None)


def _compiled_newton(fun: DenseEvaluator, start: np.ndarray, diagonal: np.ndarray,
                     max_steps: int, hessian: np.ndarray | None, confirm: bool,
                     max_evaluations: int) -> NewtonResult:
    """:func:`newton_fit`'s iterations, compiled with the evaluator's block kernel."""
    rules = (max_steps, DECREMENT_TOL, NOISE_DECREMENT, HESSIAN_STEP, MAX_HALVINGS)
    theta, f, g, decrement, calls, converged, hess, fresh = kernels.block_newton(
        start, diagonal, hessian, confirm, max_evaluations, rules, fun.blocks, fun.q_rest,
        fun.reml, fun.weight, fun.constant)
    fun.calls += calls
    return NewtonResult(theta, float(f), g, float(decrement), int(calls), bool(converged),
                        hess if fresh else None)


def _last_step(fun: DenseEvaluator, theta: np.ndarray, f: float, g: np.ndarray,
               step: np.ndarray, diagonal: np.ndarray, hess: np.ndarray, free: np.ndarray
               ) -> tuple[np.ndarray, float, np.ndarray]:
    """The step from a confirmed optimum: below the objective's rounding, but it
    squares theta's error (the gradient is exact where the objective is flat). Taken
    when the objective does not rise beyond rounding and the gradient shrinks."""
    trial = np.where(diagonal, np.maximum(theta + step, 0.0), theta + step)
    f_trial, g_trial = fun(trial)
    _, after = _newton_step(hess, g_trial, free)
    _, before = _newton_step(hess, g, free)
    if np.isfinite(f_trial) and f_trial <= f + 1e-15 * abs(f) and after < before:
        return trial, f_trial, g_trial
    return theta, f, g


def _bfgs_update(hess: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BFGS's update of a Hessian approximation (skipped without positive curvature)."""
    sy = float(s @ y)
    hs = hess @ s
    shs = float(s @ hs)
    if not (sy > 1e-12 * np.sqrt(float(s @ s) * float(y @ y)) and shs > 0.0):
        return hess
    return hess - np.outer(hs, hs) / shs + np.outer(y, y) / sy


def _hessian(fun: DenseEvaluator, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Forward differences of the exact gradient, symmetrized (steps stay feasible:
    the only bounds are lower ones)."""
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        h = HESSIAN_STEP * max(1.0, abs(theta[i]))
        shifted = theta.copy()
        shifted[i] += h
        _, g_i = fun(shifted)
        hess[i] = (g_i - g) / h
    return 0.5 * (hess + hess.T)


def _newton_step(hess: np.ndarray, g: np.ndarray,
                 free: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The Newton step over the free entries, the Hessian shifted to be positive
    definite when it is not; and the decrement it promises."""
    step = np.zeros_like(g)
    if not np.any(free) or not np.all(np.isfinite(hess)):
        return None, (0.0 if not np.any(free) else np.inf)
    h = hess[np.ix_(free, free)]
    gf = g[free]
    _, solved, info = lapack.dposv(h, gf, lower=1)
    if info == 0 and np.all(np.isfinite(solved)):  # positive definite: the plain step
        step[free] = -solved
        return step, 0.5 * float(gf @ solved)
    values, vectors = np.linalg.eigh(h)
    top = max(float(np.abs(values).max()), 1e-12)
    floor = 1e-8 * top
    shifted = np.maximum(np.abs(values), floor)  # flip negative curvature, bound small
    direction = -(vectors @ ((vectors.T @ gf) / shifted))
    step[free] = direction
    return step, 0.5 * float(-gf @ direction)


def _line_search(fun: DenseEvaluator, theta: np.ndarray, f: float, g: np.ndarray,
                 step: np.ndarray, diagonal: np.ndarray
                 ) -> tuple[np.ndarray, float, np.ndarray, bool] | None:
    """Backtrack along the projected step until Armijo's sufficient decrease holds;
    the point, its objective and gradient, and whether the full step was taken."""
    t = 1.0
    for _ in range(MAX_HALVINGS):
        trial = theta + t * step
        trial = np.where(diagonal, np.maximum(trial, 0.0), trial)
        moved = trial - theta
        f_trial, g_trial = fun(trial)
        if np.isfinite(f_trial) and f_trial <= f + 1e-4 * float(g @ moved):
            return trial, f_trial, g_trial, t == 1.0
        t *= 0.5
    return None


def eligible(problem) -> bool:
    """Whether ``problem`` (with grouped terms) is fitted here: a dense system of at
    most MAX_SIZE rows, unstructured or diagonal covariances, sigma profiled."""
    return bool(problem.has_terms) and not ineligible(problem, MAX_SIZE)


def evaluator_for(problem) -> DenseEvaluator:
    """The problem's evaluator, built once: a problem made by ``with_response`` from one
    that has an evaluator (a bootstrap refit) swaps the response's row into a copy of
    that one's dense system instead of forming it again."""
    known = problem.__dict__.get("_dense_evaluator")
    cp = problem.cp
    if known is not None and known.cp is cp:
        return known
    shared = known is not None and known.cp.a11 is cp.a11 and known.cp.ar1 is cp.ar1 \
        and known.reml == problem.reml
    fun = known.with_response(cp) if shared else \
        DenseEvaluator(cp, problem.theta_slices, problem.reml)
    problem._dense_evaluator = fun
    return fun


def newton_result(problem, start: np.ndarray, confirm: bool = True,
                  max_evaluations: int = 100_000) -> OptimizationResult | None:
    """:func:`newton_fit` of ``problem`` from ``start`` as an optimization result, or
    None when it did not converge to an interior point (every diagonal entry of lambda
    at least NEAR_ZERO).

    Near a zero diagonal entry the objective depends on its square, so Newton's steps
    toward the boundary shrink instead of reaching it, and a zero can be a saddle of its
    own: those fits are left to the derivative-free path, which snaps to zero and checks
    the boundary.
    """
    fun = evaluator_for(problem)
    diagonal = problem.diagonal_mask()
    start = np.asarray(start, dtype=float)
    known = fun.optimum  # a refit from a fit's optimum starts from its Hessian
    hessian = known[1] if known is not None and np.array_equal(known[0], start) else None
    with blas_threads_for(fun.size):
        done = newton_fit(fun, start, diagonal, hessian=hessian, confirm=confirm,
                          max_evaluations=max_evaluations)
    if done.hessian is not None and done.converged:
        fun.optimum = (done.theta.copy(), done.hessian)
    if not done.converged or np.any(diagonal & (done.theta < NEAR_ZERO)):
        return None
    # every diagonal entry is positive, so lme4's representative (rectify: columns with a
    # negative diagonal entry flipped, for these unstructured and diagonal terms) is
    # theta itself, and Newton's last evaluation is its objective
    theta, value = done.theta, done.objective
    if not np.isfinite(value):
        return None
    how = "confirmed by its last step" if done.hessian is not None else \
        "by its quasi-Newton Hessian, not differenced again"
    return OptimizationResult(
        OPTIMIZER_NAME, start, theta, value, done.evaluations, "SUCCESS", 0,
        [f"Newton's method on the exact gradient; optimum {how} (decrement "
         f"{done.decrement:.3g})"])
