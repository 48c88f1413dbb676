"""Minimizes the profiled objective over theta with nlopt's derivative-free methods.

The driver runs Powell's BOBYQA (bounded, lme4's bounds: 0 below the diagonal entries
of lambda) or NEWUOA (unconstrained, followed by sign rectification as MixedModels.jl
does), then confirms the optimum: it restarts from the end point with a fresh quadratic
model until a restart no longer lowers the objective, and tries diagonal entries that
ended next to zero at exactly zero. Every evaluation is counted; the record is an
:class:`OptimizationResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mixed_models.core.lazy import lazy_module

nlopt = lazy_module("nlopt")

_RESULT_CODES = ("SUCCESS", "STOPVAL_REACHED", "FTOL_REACHED", "XTOL_REACHED", "MAXEVAL_REACHED",
                 "MAXTIME_REACHED", "FAILURE", "INVALID_ARGS", "OUT_OF_MEMORY",
                 "ROUNDOFF_LIMITED", "FORCED_STOP")


def _result_name(code: int) -> str:
    """nlopt's name of a return code (FAILURE for a code it does not list)."""
    return next((name for name in _RESULT_CODES if getattr(nlopt, name) == code), "FAILURE")


OPTIMIZERS = ("bobyqa", "newuoa", "lbfgs")


@dataclass
class OptimizerSettings:
    """Tolerances and limits of the optimizer (MixedModels.jl's defaults, tighter than lme4's).

    Attributes
    ----------
    optimizer
        ``"bobyqa"`` (bounded) or ``"newuoa"`` (unconstrained, then rectified), or
        ``"lbfgs"``: L-BFGS-B on the analytic gradient (:mod:`core.gradient`; models with
        up to a few thousand random effects; experimental).
    ftol_rel, ftol_abs, xtol_abs
        nlopt stopping tolerances.
    max_evaluations
        Limit on objective evaluations over all restarts.
    max_restarts
        Restarts from the end point while they keep lowering the objective.
    restart_tol
        A restart must lower the objective by more than this to count as progress.
    zero_tol
        Diagonal entries of lambda below this are tried at exactly zero.
    """

    optimizer: str = "bobyqa"
    ftol_rel: float = 1e-12
    ftol_abs: float = 1e-8
    xtol_abs: float = 1e-10
    max_evaluations: int = 100_000
    max_restarts: int = 4
    restart_tol: float = 1e-8
    zero_tol: float = 1e-4


@dataclass
class OptimizationResult:
    """What the optimizer did: start, end, objective, evaluations and return code.

    ``final`` is in the same theta order as ``start``. ``confirmed`` is False when the
    last restart from the end point still lowered the objective (the optimum is then not
    confirmed).
    """

    optimizer: str
    start: np.ndarray
    final: np.ndarray
    objective: float
    evaluations: int
    return_code: str
    restarts: int
    messages: list[str] = field(default_factory=list)
    confirmed: bool = True

    @property
    def converged(self) -> bool:
        """True unless the optimizer stopped on an error or a limit."""
        return self.return_code in ("SUCCESS", "FTOL_REACHED", "XTOL_REACHED", "STOPVAL_REACHED")


class _Counted:
    """Wraps the objective: counts calls and replaces failures by the start value."""

    def __init__(self, fun: Callable[[np.ndarray], float], fallback: float):
        self.fun = fun
        self.fallback = fallback
        self.count = 0

    def __call__(self, x: np.ndarray, grad: np.ndarray | None = None) -> float:
        self.count += 1
        value = self.fun(np.asarray(x))
        # An infinite or NaN value would wreck the quadratic model; a non positive
        # definite point is simply worse than the start.
        return value if np.isfinite(value) else self.fallback


def minimize_theta(fun: Callable[[np.ndarray], float], start: np.ndarray, diagonal: np.ndarray,
                   rectify: Callable[[np.ndarray], np.ndarray],
                   settings: OptimizerSettings | None = None, lower: np.ndarray | None = None,
                   upper: np.ndarray | None = None) -> OptimizationResult:
    """Minimize ``fun`` over theta.

    Parameters
    ----------
    fun
        theta -> objective; may return inf or NaN where Omega is not positive definite.
    start
        Starting theta.
    diagonal
        Boolean mask of the entries on lambda's diagonal (bounded below by 0).
    rectify
        Maps a theta to the equivalent one with a non-negative diagonal.
    settings
        Tolerances; the defaults when None.
    lower, upper
        Bounds of theta (default: lme4's, 0 below the diagonal entries and no others).
        Bounds beyond those (a correlation parameter in [-1, 1]) make NEWUOA, which is
        unconstrained, give way to BOBYQA; the result's messages say so.
    """
    settings = settings or OptimizerSettings()
    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {settings.optimizer!r}")
    start = np.asarray(start, dtype=float)
    f0 = fun(start)
    if not np.isfinite(f0):
        raise FloatingPointError(f"the objective is not finite at the start theta {start}")
    counted = _Counted(fun, f0)
    bounds, messages = _bounds(diagonal, lower, upper, settings)
    x, fx, code = _run(counted, start, diagonal, settings, None, bounds)
    restarts = 0
    improved = True
    while improved and restarts < settings.max_restarts and \
            counted.count < settings.max_evaluations:
        x_new, f_new, code_new = _run(counted, x, diagonal, settings,
                                      _restart_scale(x), bounds)
        restarts += 1
        improved = f_new < fx - settings.restart_tol * max(1.0, abs(fx))
        if f_new < fx:
            x, fx, code = x_new, f_new, code_new
    x = rectify(x)
    x, fx = _snap_to_zero(counted, x, fx, diagonal, settings)
    if code == "MAXEVAL_REACHED":
        messages.append(f"stopped after {counted.count} evaluations (the limit)")
    name = settings.optimizer if bounds is None or settings.optimizer == "bobyqa" else "bobyqa"
    return OptimizationResult(name, start, x, fx, counted.count + 1, code,
                              restarts, messages, confirmed=not improved)


def _bounds(diagonal: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None,
            settings: OptimizerSettings) -> tuple[tuple[np.ndarray, np.ndarray] | None,
                                                   list[str]]:
    """The box to optimize in (None: NEWUOA's unconstrained run) and a note if any."""
    plain = np.where(diagonal, 0.0, -np.inf)
    lo = plain if lower is None else np.asarray(lower, dtype=float)
    hi = np.full(len(plain), np.inf) if upper is None else np.asarray(upper, dtype=float)
    extra = bool(np.any(lo != plain) or np.any(np.isfinite(hi)))
    if settings.optimizer == "bobyqa":
        return (lo, hi), []
    if not extra:
        return None, []
    return (lo, hi), ["newuoa cannot keep the bounded parameters (correlations) in range; "
                      "used bobyqa"]


def _run(fun: _Counted, x0: np.ndarray, diagonal: np.ndarray, settings: OptimizerSettings,
         scale: np.ndarray | None = None,
         bounds: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, float, str]:
    """One optimizer run; with ``scale``, in coordinates phi = theta / scale; BOBYQA in
    the box ``bounds``, or NEWUOA unconstrained when it is None."""
    n = len(x0)
    algorithm = nlopt.LN_BOBYQA
    if bounds is None and n > 1:
        algorithm = nlopt.LN_NEWUOA
    opt = nlopt.opt(algorithm, n)
    s = np.ones(n) if scale is None else scale
    opt.set_min_objective(lambda phi, grad: fun(phi * s))
    if bounds is not None:
        opt.set_lower_bounds(bounds[0] / s)
        opt.set_upper_bounds(bounds[1] / s)
    opt.set_ftol_rel(settings.ftol_rel)
    opt.set_ftol_abs(settings.ftol_abs)
    opt.set_xtol_abs(settings.xtol_abs)
    opt.set_maxeval(max(settings.max_evaluations - fun.count, 2 * n + 2))
    if scale is not None:
        opt.set_initial_step(_restart_step(x0 / s, s, bounds))
    try:
        phi = opt.optimize(x0 / s)
        fx = opt.last_optimum_value()
        code = _result_name(opt.last_optimize_result())
    except nlopt.RoundoffLimited:
        phi, fx, code = x0 / s, fun(x0), "ROUNDOFF_LIMITED"
    return np.asarray(phi) * s, float(fx), code


def _restart_scale(x: np.ndarray) -> np.ndarray:
    """Scale restarts by the size of each entry, so that ill-scaled thetas (an intercept
    SD a hundred times sigma next to a slope SD a tenth of it) get a well-conditioned
    quadratic model; entries near zero by 1e-2."""
    return np.maximum(np.abs(x), 1e-2)


def _restart_step(phi: np.ndarray, scale: np.ndarray,
                  bounds: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    step = np.full(len(phi), 0.1)
    if bounds is not None:
        # BOBYQA needs the first step inside the box: at most half the distance to it.
        for bound in bounds:
            gap = np.abs(phi - bound / scale)
            step = np.minimum(step, np.where(gap > 0, 0.5 * gap, np.inf))
    return step


def _snap_to_zero(fun: _Counted, x: np.ndarray, fx: float, diagonal: np.ndarray,
                  settings: OptimizerSettings) -> tuple[np.ndarray, float]:
    """Set near-zero diagonal entries to zero when that does not raise the objective."""
    small = diagonal & (x > 0) & (x < settings.zero_tol)
    if not np.any(small):
        return x, fx
    trial = np.where(small, 0.0, x)
    f_trial = fun(trial)
    # The snapped point must be as good as the optimum up to rounding.
    if f_trial <= fx + 1e-10 * max(1.0, abs(fx)):
        return trial, f_trial
    return x, fx
