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
    NonGaussianResponseWarning,
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


def solvable_estimates(problem: MixedProblem, result: OptimizationResult):
    """The problem's estimates at the optimum; DataError where their system is singular
    there (the random effects reproduce the response up to rounding, theta running off
    to huge values)."""
    try:
        return problem.estimates(result.final)
    except np.linalg.LinAlgError:
        raise DataError(
            f"the estimates cannot be solved at the optimum (theta {result.final}): the "
            "random effects reproduce the response almost exactly (e.g. a term of the "
            "response itself), so no residual variance can be estimated") from None


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


# A count response has at most this many distinct values to be flagged.
MAX_COUNT_VALUES = 20


def non_gaussian_hint(y: object) -> str | None:
    """What a linear model's response looks like when it looks binary (only 0 and 1) or
    like counts (non-negative whole numbers, 0 among them, at most
    ``MAX_COUNT_VALUES`` distinct values); None otherwise."""
    if y is None:
        return None
    y = np.asarray(y, dtype=float)
    # the minimum first: it rules out most responses (NaN and -inf included) in one pass
    if y.size == 0 or y.min() != 0 or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        return None
    values = np.unique(y)
    if len(values) == 2 and values[1] == 1:
        return "only 0 and 1 (a binary response): fit it with GLMM.from_formula(..., " \
            "family='binomial')"
    if len(values) <= MAX_COUNT_VALUES:
        return (f"{len(values)} distinct non-negative whole numbers (counts?): fit it with "
                "GLMM.from_formula(..., family='poisson') or 'negative_binomial'")
    return None


def warn_non_gaussian(y: object, stacklevel: int = 3) -> None:
    """Warn (NonGaussianResponseWarning) when a linear model's response looks binary or
    like counts: the normal model then gives fitted values outside the response's range
    and wrong standard errors."""
    hint = non_gaussian_hint(y)
    if hint is not None:
        warnings.warn(f"the response of this linear mixed model has {hint}",
                      NonGaussianResponseWarning, stacklevel=stacklevel)
