"""How a fit reaches and confirms its optimum (a mixin of :class:`~mixed_models.LMM`).

After the optimizer, small models are polished by L-BFGS-B on the analytic gradient and
by Newton steps on finite differences; models with few theta entries confirm BOBYQA's end
point with one Newton step instead of restarts, and large all-scalar models are fitted by
L-BFGS-B on the gradient through the blocked factor. Unstable: thresholds and
the split between these paths follow measurements (see the README's performance
section) and may change.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from mixed_models.core import blocked_gradient
from mixed_models.core.convergence import newton_polish
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.gradient import MAX_POLISHED, gradient_polish, ineligible
from mixed_models.core.problem import LmmProblem
from mixed_models.errors import ModelError

if TYPE_CHECKING:
    from mixed_models.control import Control
    from mixed_models.core.optimize import OptimizerSettings

# Newton polishing of the optimum: for up to this many parameters, and only while it
# costs less than this share of the optimizer's own evaluations.
MAX_POLISHED_THETA = 8
POLISH_SHARE = 0.5
# A Newton decrement below this (or 1e-10 of the objective) at the optimizer's end point
# confirms the optimum without restarts (see _newton_confirms).
NEWTON_CONFIRMS = 1e-6
# A gradient through the blocked factor costs 3-5 objective evaluations (an inverse of the
# rest block): it pays where BOBYQA needs many evaluations, from three theta entries on
# (InstEval with three factors: 109 evaluations -> 22 gradients, 25% faster; with two
# factors, and on the 1M ratings, it only broke even).
MIN_GRADIENT_THETA = 3
# The finite-difference Newton check of an L-BFGS-B end point costs about 2 k^2
# evaluations: made up to this many theta entries.
MAX_CHECKED_THETA = 20


class FittingMethods:
    """The optimizer's follow-up: polish and confirmation of the optimum."""

    _problem: LmmProblem
    _settings: OptimizerSettings
    _control: Control
    _optimization: OptimizationResult

    def _polish(self) -> None:
        """Refine the optimizer's end point: L-BFGS-B on the analytic gradient for small
        models (core.gradient), then Newton steps on finite differences
        (core.convergence), which also resolve the ill-conditioned directions L-BFGS-B
        leaves (a slope SD a thousandth of the intercept's).
        """
        opt, problem = self._optimization, self._problem
        if not np.isfinite(opt.objective):
            return
        if opt.optimizer == "lbfgs":
            self._confirm_quasi_newton()
            return
        if isinstance(problem, LmmProblem):
            self._accept_polish(gradient_polish(problem, opt.final))
        k = problem.n_theta
        if k <= MAX_POLISHED_THETA and 2 * k * k + 2 * k + 2 <= POLISH_SHARE * opt.evaluations:
            self._newton()

    def _newton(self) -> float:
        """Newton-polish the current optimum; returns the decrement found at it."""
        opt, problem = self._optimization, self._problem
        result = newton_polish(problem.objective, opt.final, opt.objective,
                               problem.bounded_mask(opt.final))
        self._accept_polish((problem.rectify(result.theta), result.objective,
                             result.evaluations))
        return result.first_decrement

    def _confirm_quasi_newton(self) -> None:
        """Check the end point of Control(optimizer="lbfgs") by a Newton step (which
        also polishes it); with more than MAX_CHECKED_THETA entries the check is not
        made, and the result says so rather than claim an optimum."""
        opt, problem = self._optimization, self._problem
        if problem.n_theta > MAX_CHECKED_THETA:
            opt.messages.append(f"L-BFGS-B's end point was not checked (the Newton check "
                                f"is made for up to {MAX_CHECKED_THETA} theta entries)")
            return
        decrement = self._newton()
        if opt.converged and decrement <= max(NEWTON_CONFIRMS, 1e-10 * abs(opt.objective)):
            opt.confirmed = True
            opt.messages.append(f"optimum confirmed by a Newton step (decrement "
                                f"{decrement:.3g})")

    def _newton_confirms(self) -> bool:
        """Whether a Newton check replaces BOBYQA's restarts: formula models with few
        theta entries, where a restart costs about as much as the check that follows it
        anyway (sleepstudy 97 -> 78 evaluations, InstEval 127 -> 109)."""
        problem = self._problem
        return (isinstance(problem, LmmProblem) and self._settings.optimizer != "lbfgs"
                and problem.n_theta <= MAX_POLISHED_THETA)

    def _fit_by_blocked_gradient(self, start: np.ndarray) -> tuple[np.ndarray, int] | None:
        """With Control(optimizer="auto") and only scalar terms: L-BFGS-B on the gradient
        through the blocked factor (core.blocked_gradient), confirmed by a Newton step
        whose Hessian comes from gradient differences. Returns None when it set the
        optimum, else the point for the derivative-free fit to continue from and the
        evaluations spent."""
        problem = self._problem
        if self._control.optimizer != "auto" or problem.n_theta < MIN_GRADIENT_THETA \
                or not ineligible(problem, MAX_POLISHED) \
                or not blocked_gradient.eligible(problem.factor, problem.sigma):
            return start, 0  # small models: BOBYQA and the dense gradient's polish
        try:
            theta, value, evaluations = blocked_gradient.quasi_newton(problem, start)
            theta, value, decrement, more = blocked_gradient.newton_check(problem, theta)
        except (np.linalg.LinAlgError, FloatingPointError):
            return start, 0
        if not (np.isfinite(value) and decrement <= max(NEWTON_CONFIRMS, 1e-10 * abs(value))):
            return (theta if np.isfinite(value) else start), evaluations + more
        self._optimization = OptimizationResult(
            "lbfgs", np.asarray(start, dtype=float), theta, value, evaluations + more,
            "SUCCESS", 0, [f"L-BFGS-B on the analytic gradient; optimum confirmed by a "
                          f"Newton step (decrement {decrement:.3g})"])
        return None

    def _fit_confirmed_by_newton(self, start: np.ndarray, spent: int = 0) -> None:
        """One optimizer run, the gradient polish (small models), then a Newton step;
        only when that step promised more than NEWTON_CONFIRMS do the restarts (and a
        second polish) follow. ``spent``: evaluations already used (by a quasi-Newton
        attempt), added to the count."""
        problem, settings = self._problem, self._settings
        self._optimization = problem.optimize(
            dataclasses.replace(settings, max_restarts=0), start)
        opt = self._optimization
        opt.evaluations += spent
        if not np.isfinite(opt.objective):
            return
        self._accept_polish(gradient_polish(problem, opt.final))
        decrement = self._newton() if np.isfinite(opt.objective) else np.inf
        if not np.isfinite(opt.objective):
            return  # the polish found the response reproduced exactly: _fit says so
        if opt.converged and decrement <= max(NEWTON_CONFIRMS, 1e-10 * abs(opt.objective)):
            opt.confirmed = True
            opt.messages.append(f"optimum confirmed by a Newton step (decrement "
                                f"{decrement:.3g}) instead of restarts")
            return
        spent = opt.evaluations
        self._optimization = problem.optimize(settings, opt.final)
        self._optimization.evaluations += spent
        self._polish()

    def _accept_polish(self, polished: tuple[np.ndarray, float, int] | None) -> None:
        if polished is None:
            return
        opt = self._optimization
        theta, value, calls = polished
        opt.evaluations += calls
        if value < opt.objective:
            if opt.objective - value > 1e-9 * max(1.0, abs(value)):
                opt.messages.append(f"the polish after {opt.optimizer} lowered the objective "
                                    f"by {opt.objective - value:.3g}")
            opt.final, opt.objective = theta, value


def start_theta(problem: LmmProblem) -> np.ndarray:
    """lme4's start (in the internal columns of a formula model, see core.reparam),
    where the objective can be evaluated."""
    theta = problem.start()
    if np.isfinite(problem.objective(theta)):
        return theta
    if not isinstance(problem, LmmProblem):  # raw matrices: no columns to scale by
        raise ModelError(f"the objective cannot be evaluated at the start theta {theta}; "
                         "give a start_point where lambda is well defined")
    raise ModelError(
        f"the objective cannot be evaluated at the starting values {theta}, although the "
        "columns are centred and scaled internally: the random-effects columns are "
        "probably degenerate; check the predictors or give a start_point")
