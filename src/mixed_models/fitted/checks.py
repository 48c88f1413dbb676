"""The checks made after every fit: convergence, a vanishing residual SD, a boundary fit.

Each warns or raises as the model's :class:`~mixed_models.control.Control` says; the
messages say what happened and what to try.
"""

from __future__ import annotations

import warnings

import numpy as np

from mixed_models.control import Control, enforce
from mixed_models.core.convergence import Derivatives, derivatives
from mixed_models.core.interface import MixedProblem
from mixed_models.core.optimize import OptimizationResult
from mixed_models.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ModelError,
    SingularFitWarning,
)
from mixed_models.fitted.record import SINGULAR_TOL

# Finite-difference diagnostics cost about 2 k^2 evaluations: only for small k.
MAX_DIAGNOSED_THETA = 20
# warnings.warn's stacklevel that points at the user's call of a public constructor
_STACKLEVEL = 6


def convergence_check(problem: MixedProblem, theta: np.ndarray) -> Derivatives:
    """Finite-difference gradient and Hessian of the objective at ``theta``, and the
    Newton decrement, taken in the internal centred and scaled columns where the
    optimizer works."""
    inner = problem.theta_to_internal(theta)
    return derivatives(problem.internal.detached_objective(), inner,
                       problem.internal.bounded_mask(inner))


def check_finite_optimum(result: OptimizationResult) -> None:
    """A non-finite optimum means the random effects reproduce the response exactly."""
    if not np.isfinite(result.objective):
        raise DataError(
            "the objective is not finite at the optimum: the random effects reproduce the "
            "response exactly (e.g. it is constant within every group), so no residual "
            "variance can be estimated")


def check_fit(problem: MixedProblem, result: OptimizationResult, sigma: float,
              control: Control) -> None:
    """Warn or raise (per ``control``) on an unconfirmed optimum, a residual SD near
    zero and a boundary fit."""
    if not (result.converged and result.confirmed):
        enforce(control.check_convergence, _convergence_message(problem, result), ModelError,
                ConvergenceWarning, stacklevel=_STACKLEVEL)
    spread = problem.response_sd
    if problem.sigma is None and spread > 0 and sigma < 1e-6 * spread:
        warnings.warn(
            f"the residual SD ({sigma:.3g}) is below 1e-6 of the response's SD "
            f"({spread:.3g}): the random effects reproduce the response almost exactly "
            "(e.g. it is constant within groups), so the variance estimates are not "
            "reliable", DataWarning, stacklevel=_STACKLEVEL)
    if problem.singular(result.final, SINGULAR_TOL):
        enforce(control.check_singular,
                "boundary (singular) fit: the estimated covariance matrix of some random "
                "effects is singular (a variance is zero or a correlation is +-1). The fit "
                "is valid, but the model may be more complex than the data support: "
                "consider removing the term or the correlation ('||').",
                ModelError, SingularFitWarning, stacklevel=_STACKLEVEL)


def _convergence_message(problem: MixedProblem, result: OptimizationResult) -> str:
    why = (f"the optimizer stopped with return code {result.return_code}"
           if not result.converged
           else f"a restart from the end point still lowered the objective after "
                f"{result.restarts} restarts")
    detail = ""
    if problem.n_theta <= MAX_DIAGNOSED_THETA:
        d = convergence_check(problem, result.final)
        detail = (f"; max |gradient| {np.max(np.abs(d.gradient[d.free]), initial=0):.3g}, "
                  f"a Newton step would lower the objective by {d.decrement:.3g}")
    return (f"the optimum is not confirmed: {why} ({result.evaluations} evaluations, "
            f"objective {result.objective:.10g}){detail}. Try Control(optimizer='newuoa'), "
            "another start_point, or rescaling the predictors.")
