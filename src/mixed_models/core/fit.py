"""The fit strategy: from a numeric problem and settings to an optimization result.

:func:`fit_theta` runs the whole optimization of theta and returns one
:class:`~mixed_models.core.optimize.OptimizationResult`; it mutates nothing outside it.
The problem is optimized in its internal (centred and scaled) columns and the result is
mapped back to the original ones.

The paths, by model size:

* small models (a dense system of at most ``dense_newton.MAX_SIZE`` rows, theta entries
  of lambda, sigma profiled): Newton's method on the exact gradient
  (:mod:`mixed_models.core.dense_newton`), whose last step confirms the optimum; an end
  point on the boundary (a zero variance) or a failed confirmation hands over to the
  paths below, from the start;
* more theta entries, formula models small enough for the dense gradient (at most
  ``gradient.MAX_POLISHED`` dense rows): L-BFGS-B on that gradient from the start,
  stepping off zero variances in both signs, then Newton steps on the gradient whose
  Hessian confirms the optimum; BOBYQA from its end point when it does not. BOBYQA
  alone can stop at a zero variance whose column still points downhill (a saddle);
* few theta entries (<= ``MAX_POLISHED_THETA``), formula models: one BOBYQA run, the
  gradient polish, then a Newton step; restarts follow only when that step still
  promises a decrease (a restart costs about as much as the check that follows it);
* all-scalar models with >= ``MIN_GRADIENT_THETA`` terms: L-BFGS-B on the gradient
  through the blocked factor, confirmed by a Newton step, handing over to BOBYQA
  when the check fails;
* otherwise BOBYQA with restarts, then the polish.

Unstable: the thresholds and the split between the paths follow measurements
(docs/performance.md) and may change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mixed_models.core import blocked_gradient, dense_newton, kernels
from mixed_models.core.convergence import newton_polish
from mixed_models.core.gradient import MAX_POLISHED, gradient_polish, ineligible, \
    quasi_newton_result
from mixed_models.core.interface import MixedProblem as Problem
from mixed_models.core.optimize import OptimizationResult, OptimizerSettings
from mixed_models.core.refine import refine_optimum, refine_with_decrement
from mixed_models.core.start import moment_start
from mixed_models.errors import ModelError

# Newton polishing of the optimum: for up to this many parameters, and only while it
# costs less than this share of the optimizer's own evaluations.
MAX_POLISHED_THETA = 8
POLISH_SHARE = 0.5
# A Newton decrement below this (or 1e-10 of the objective) confirms the optimum.
NEWTON_CONFIRMS = 1e-6
# A gradient through the blocked factor costs several objective evaluations (an inverse
# of the rest block): with two terms L-BFGS-B needs a third to a quarter of BOBYQA's
# evaluations, which takes as long on InstEval and two thirds of the time on the 1M
# ratings; with one, BOBYQA's line search is as cheap.
MIN_GRADIENT_THETA = 2
# The finite-difference Newton check costs about 2 k^2 evaluations: up to this many.
MAX_CHECKED_THETA = 20


@dataclass(frozen=True)
class FitSettings:
    """How to fit theta.

    Attributes
    ----------
    optimizer
        ``"auto"`` (the strategy chooses), ``"bobyqa"``, ``"newuoa"``, ``"nelder_mead"``
        or ``"lbfgs"``.
    max_evaluations
        Limit of objective evaluations of one optimizer run.
    polish
        Polish and confirm the optimum (False for bootstrap refits, where the polish
        costs far more than the replicates' spread warrants).
    """

    optimizer: str = "auto"
    max_evaluations: int = 100_000
    polish: bool = True

    def optimizer_settings(self) -> OptimizerSettings:
        """The settings of one optimizer run ("auto" runs BOBYQA)."""
        name = "bobyqa" if self.optimizer == "auto" else self.optimizer
        return OptimizerSettings(optimizer=name, max_evaluations=self.max_evaluations)


def fit_theta(problem: Problem, settings: FitSettings,
              start: np.ndarray | None = None) -> OptimizationResult:
    """Optimize theta of ``problem`` (in its internal columns) and return the result in
    the original ones. ``start`` is in the original columns (None: lme4's start)."""
    inner = problem.internal
    theta0 = None if start is None else problem.theta_to_internal(np.asarray(start, dtype=float))
    if settings.optimizer == "auto" and dense_newton.eligible(inner):
        # Newton's first evaluation tells whether the start can be evaluated: lme4's
        # start is checked (below) only when Newton's method hands the fit on. Without
        # a start given, a single vector-valued term starts from its moments.
        first = theta0
        if first is None:
            first = moment_start(inner.cp, inner.sigma, kernels.block_wanted())
        done = dense_newton.newton_result(inner, inner.start() if first is None else first,
                                          confirm=settings.polish,
                                          max_evaluations=settings.max_evaluations)
        if done is not None:
            return problem.result_to_original(done)
    theta0 = start_theta(inner) if theta0 is None else theta0
    result, refined = _optimize(inner, settings, theta0)
    if settings.polish and not refined:
        result = refine_optimum(inner, result)
    return problem.result_to_original(result)


def _optimize(problem: Problem, settings: FitSettings, start: np.ndarray
              ) -> tuple[OptimizationResult, bool]:
    """The optimization result (after Newton's method, when it applies, handed the fit
    on), and whether it already ends where the analytic gradient vanishes (no refinement
    needed)."""
    run = settings.optimizer_settings()
    if settings.optimizer == "auto" and settings.polish and _dense_gradient_first(problem):
        done = _by_dense_gradient(problem, start)
        if isinstance(done, OptimizationResult):
            return done, True
        start, spent = done
        result = problem.optimize(run, start)
        result.evaluations += spent
        return polish(problem, result), False
    return _derivative_free(problem, settings, run, start), False


def _derivative_free(problem: Problem, settings: FitSettings, run: OptimizerSettings,
                     start: np.ndarray) -> OptimizationResult:
    if settings.polish and _newton_confirms(problem, run):
        done = _by_blocked_gradient(problem, settings, start)
        if isinstance(done, OptimizationResult):
            return done
        return _confirmed_by_newton(problem, run, *done)
    result = problem.optimize(run, start)
    return polish(problem, result) if settings.polish else result


def start_theta(problem: Problem) -> np.ndarray:
    """lme4's start, where the objective can be evaluated."""
    theta = problem.start()
    if np.isfinite(problem.objective(theta)):
        return theta
    if not problem.has_terms:  # raw matrices: no columns to scale by
        raise ModelError(f"the objective cannot be evaluated at the start theta {theta}; "
                         "give a start_point where lambda is well defined")
    raise ModelError(
        f"the objective cannot be evaluated at the starting values {theta}, although the "
        "columns are centred and scaled internally: the random-effects columns are "
        "probably degenerate; check the predictors or give a start_point")


def polish(problem: Problem, result: OptimizationResult) -> OptimizationResult:
    """Refine an optimizer's end point: L-BFGS-B on the analytic gradient (formula
    models), then Newton steps on finite differences, which also resolve the
    ill-conditioned directions L-BFGS-B leaves (a slope SD a thousandth of the
    intercept's). ``result`` is updated and returned."""
    if not np.isfinite(result.objective):
        return result
    if result.optimizer == "lbfgs":
        return _confirm_quasi_newton(problem, result)
    if problem.has_terms:
        accept(result, gradient_polish(problem, result.final))
    k = problem.n_theta
    if k <= MAX_POLISHED_THETA and 2 * k * k + 2 * k + 2 <= POLISH_SHARE * result.evaluations:
        _newton(problem, result)
    return result


def _newton(problem: Problem, result: OptimizationResult) -> float:
    """Newton-polish ``result`` in place; returns the decrement found at its start."""
    step = newton_polish(problem.objective, result.final, result.objective,
                         problem.bounded_mask(result.final))
    accept(result, (problem.rectify(step.theta), step.objective, step.evaluations))
    return step.first_decrement


def _confirms(result: OptimizationResult, decrement: float) -> bool:
    return result.converged and decrement <= max(NEWTON_CONFIRMS, 1e-10 * abs(result.objective))


def _confirm_quasi_newton(problem: Problem, result: OptimizationResult) -> OptimizationResult:
    """Check an L-BFGS-B end point by a Newton step (which also polishes it); beyond
    MAX_CHECKED_THETA entries the result says it was not checked."""
    if problem.n_theta > MAX_CHECKED_THETA:
        result.messages.append(f"L-BFGS-B's end point was not checked (the Newton check "
                               f"is made for up to {MAX_CHECKED_THETA} theta entries)")
        return result
    decrement = _newton(problem, result)
    if _confirms(result, decrement):
        result.confirmed = True
        result.messages.append(f"optimum confirmed by a Newton step (decrement "
                               f"{decrement:.3g})")
    return result


def _newton_confirms(problem: Problem, run: OptimizerSettings) -> bool:
    """Whether a Newton check replaces BOBYQA's restarts: formula models with few theta
    entries, where a restart costs about as much as the check that follows it."""
    return (problem.has_terms and run.optimizer != "lbfgs"
            and problem.n_theta <= MAX_POLISHED_THETA)


def _dense_gradient_first(problem: Problem) -> bool:
    """Formula models with more than MAX_POLISHED_THETA theta entries whose dense
    gradient costs milliseconds."""
    return (problem.has_terms and problem.n_theta > MAX_POLISHED_THETA
            and not ineligible(problem, MAX_POLISHED))


def _by_dense_gradient(problem: Problem, start: np.ndarray
                       ) -> OptimizationResult | tuple[np.ndarray, int]:
    """L-BFGS-B on the dense analytic gradient from ``start``, then Newton steps on it.
    Returns the result when the last Newton decrement confirms the optimum, else the
    point for the derivative-free fit to continue from and the evaluations spent."""
    try:
        result = quasi_newton_result(problem, start)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        return start, 0
    if not np.isfinite(result.objective):
        return start, result.evaluations
    decrement = refine_with_decrement(problem, result, central=False)
    if not _confirms(result, decrement):
        return result.final, result.evaluations
    result.confirmed = True
    result.messages.append(f"L-BFGS-B on the analytic gradient; optimum confirmed by "
                           f"Newton steps on it (decrement {decrement:.3g})")
    return result


def _by_blocked_gradient(problem: Problem, settings: FitSettings, start: np.ndarray
                         ) -> OptimizationResult | tuple[np.ndarray, int]:
    """With optimizer "auto" and only scalar terms: L-BFGS-B on the gradient through the
    blocked factor, confirmed by a Newton step on gradient differences. Returns the
    confirmed result, or the point for the derivative-free fit to continue from and the
    evaluations spent."""
    factor = getattr(problem, "factor", None)
    if settings.optimizer != "auto" or problem.n_theta < MIN_GRADIENT_THETA \
            or not ineligible(problem, MAX_POLISHED) \
            or not blocked_gradient.eligible(factor, problem.sigma):
        return start, 0  # small models: BOBYQA and the dense gradient's polish
    try:
        theta, value, evaluations = blocked_gradient.quasi_newton(problem, start)
        theta, value, decrement, more = blocked_gradient.newton_check(problem, theta)
    except (np.linalg.LinAlgError, FloatingPointError):
        return start, 0
    finally:
        blocked_gradient.release(factor)
    if not (np.isfinite(value) and decrement <= max(NEWTON_CONFIRMS, 1e-10 * abs(value))):
        return (theta if np.isfinite(value) else start), evaluations + more
    return OptimizationResult(
        "lbfgs", np.asarray(start, dtype=float), theta, value, evaluations + more,
        "SUCCESS", 0, [f"L-BFGS-B on the analytic gradient; optimum confirmed by a "
                      f"Newton step (decrement {decrement:.3g})"])


def _confirmed_by_newton(problem: Problem, run: OptimizerSettings, start: np.ndarray,
                         spent: int = 0) -> OptimizationResult:
    """One optimizer run, the gradient polish, then a Newton step; only when that step
    promised more than NEWTON_CONFIRMS do the restarts (and a second polish) follow.
    ``spent``: evaluations already used (by a quasi-Newton attempt)."""
    result = problem.optimize(dataclasses.replace(run, max_restarts=0), start)
    result.evaluations += spent
    if not np.isfinite(result.objective):
        return result
    accept(result, gradient_polish(problem, result.final))
    decrement = _newton(problem, result) if np.isfinite(result.objective) else np.inf
    if not np.isfinite(result.objective):
        return result  # the response is reproduced exactly: the caller says so
    if _confirms(result, decrement):
        result.confirmed = True
        result.messages.append(f"optimum confirmed by a Newton step (decrement "
                               f"{decrement:.3g}) instead of restarts")
        return result
    restarted = problem.optimize(run, result.final)
    restarted.evaluations += result.evaluations
    return polish(problem, restarted)


def accept(result: OptimizationResult,
           polished: tuple[np.ndarray, float, int] | None) -> None:
    """Take a polish's point into ``result`` when it is lower; count its evaluations."""
    if polished is None:
        return
    theta, value, calls = polished
    result.evaluations += calls
    if value < result.objective:
        if result.objective - value > 1e-9 * max(1.0, abs(value)):
            result.messages.append(f"the polish after {result.optimizer} lowered the "
                                   f"objective by {result.objective - value:.3g}")
        result.final, result.objective = theta, value
