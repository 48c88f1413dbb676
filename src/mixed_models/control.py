"""Control of a fit: the optimizer and what to do when a check finds a problem.

As lme4's ``lmerControl``: each check is ``"ignore"``, ``"warn"`` or ``"raise"``. Every
warning a fit raises is also stored on the model (``model.warnings``) and repeated in its
summary.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, fields
from typing import Literal

from mixed_models._validate import check_bool, check_positive_int, shown
from mixed_models.errors import DataTypeError, InvalidArgumentError, MixedModelsWarning

Action = Literal["ignore", "warn", "raise"]
ACTIONS = ("ignore", "warn", "raise")


@dataclass(frozen=True)
class Control:
    """Settings of a fit.

    Attributes
    ----------
    optimizer
        ``"auto"`` (the default): BOBYQA, except for large models whose random-effects
        terms all have one column (crossed or nested random intercepts), which are fitted
        by L-BFGS-B on the analytic gradient through the blocked factor and fall back to
        BOBYQA when a Newton check does not confirm the optimum.
        ``"bobyqa"`` (bounded, lme4's choice), ``"newuoa"`` (unconstrained, then
        rectified, MixedModels.jl's choice) or ``"lbfgs"`` (L-BFGS-B on the analytic
        gradient of the profiled objective: a third of BOBYQA's evaluations, but only for
        models with up to about 3000 random effects and unstructured or diagonal
        covariances, from formulas; other models raise InvalidArgumentError. Unstable:
        it may become the default for small models).
    max_evaluations
        Limit on objective evaluations.
    check_nobs_vs_nlev
        A grouping factor with as many levels as observations (a random effect per
        observation is confounded with the residual). Default ``"raise"``.
    check_nlev_gtr_1
        A grouping factor with a single level. Default ``"raise"``.
    check_nobs_vs_nre
        A term with at least as many random effects as observations. Default ``"raise"``.
    check_rank_x
        A rank-deficient fixed-effects matrix: aliased columns are dropped; ``"warn"``
        names them, ``"raise"`` refuses the model. Default ``"warn"``.
    check_scale_x
        Predictors whose standard deviations differ by more than a factor 1000.
        Default ``"warn"``.
    check_singular
        A boundary (singular) fit. Default ``"warn"``.
    check_convergence
        An optimum that the checks could not confirm. Default ``"warn"``.
    convergence_tol
        Largest decrease of the objective (in its own units, deviance or REML
        criterion) that a Newton step from the end point may promise before the fit is
        reported as not converged.
    """

    optimizer: str = "auto"
    max_evaluations: int = 100_000
    check_nobs_vs_nlev: Action = "raise"
    check_nlev_gtr_1: Action = "raise"
    check_nobs_vs_nre: Action = "raise"
    check_rank_x: Action = "warn"
    check_scale_x: Action = "warn"
    check_singular: Action = "warn"
    check_convergence: Action = "warn"
    convergence_tol: float = 1e-4

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.startswith("check_") and getattr(self, f.name) not in ACTIONS:
                raise InvalidArgumentError(
                    f"Control.{f.name} must be one of {ACTIONS}, got {getattr(self, f.name)!r}"
                )
        if self.optimizer not in ("auto", "bobyqa", "newuoa", "lbfgs"):
            raise InvalidArgumentError(
                "Control.optimizer must be 'auto', 'bobyqa', 'newuoa' or 'lbfgs', got "
                f"{self.optimizer!r}")
        check_positive_int("Control.max_evaluations", self.max_evaluations,
                           "number of objective evaluations")
        tol = self.convergence_tol
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < math.inf:
            raise InvalidArgumentError(
                f"Control.convergence_tol must be a positive number, got {shown(tol)}")


@functools.cache
def _default_control() -> Control:
    """The default settings (frozen, so one instance serves every fit)."""
    return Control()


def fit_arguments(reml: object, control: object) -> tuple[bool, Control]:
    """The ``reml`` and ``control`` arguments of a fit, checked: ``reml`` a bool (a
    string such as ``"False"`` is refused, not read as true), ``control`` a
    :class:`Control` or None (the defaults)."""
    reml = check_bool("reml", reml)
    if control is None:
        return reml, _default_control()
    if not isinstance(control, Control):
        raise DataTypeError(f"control must be a mixed_models.Control or None, got "
                            f"{shown(control)} ({type(control).__name__})")
    return reml, control


def enforce(action: Action, message: str, error: type[Exception],
            warning: type[MixedModelsWarning], stacklevel: int = 3) -> None:
    """Carry out a check's action for a problem described by ``message``."""
    if action == "raise":
        raise error(message)
    if action == "warn":
        warnings.warn(message, warning, stacklevel=stacklevel)
