"""scipy's L-BFGS-B on an objective with its gradient, stopped once it stalls.

Near the optimum of a profiled objective of size 1e5 or more, differences between
neighbouring points fall to rounding level: L-BFGS-B's line search then rejects the
optimum itself (its value is a rounding error above the best one seen) and keeps
evaluating points a billionth apart until it gives up, each evaluation a gradient
(on InstEval, about a tenth of a second). The guard here ends the run after a few
such evaluations and returns the best point seen; the fitting methods check it with
a Newton step anyway.

Unstable: the thresholds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# L-BFGS-B's stopping rule by default: a relative decrease at rounding level.
FTOL = 1e-15
# An evaluation stalls when every entry lies within this (relative to max(1, |theta|))
# of the best point and the objective is not lower by more than rounding; this many
# in a row end the run.
STALL_STEP = 1e-8
STALL_VALUE = 1e-13
STALLS = 3

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


class _Stalled(Exception):
    """Raised inside scipy's loop to leave it (caught in :func:`lbfgs_b`)."""


class _StallGuard:
    """Wraps the objective; remembers the best point and counts stalled evaluations.

    With ``gtol`` (relative to the objective), a point whose projected gradient is that
    small and whose value is the best one up to rounding also ends the run (it becomes
    the best point)."""

    def __init__(self, fun: Objective, lower: np.ndarray | None = None,
                 gtol: float | None = None):
        self.fun = fun
        self.lower = lower
        self.gtol = gtol
        self.best: np.ndarray | None = None
        self.best_value = np.inf
        self.stalls = 0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = self.fun(theta)
        if self.best is not None and self._near_best(theta, value):
            self.stalls += 1
        else:
            self.stalls = 0
        converged = self._converged(theta, value, grad)
        if value < self.best_value or converged:
            self.best, self.best_value = np.array(theta, dtype=float), float(value)
        if converged or self.stalls >= STALLS:
            raise _Stalled
        return value, grad

    def _converged(self, theta: np.ndarray, value: float, grad: np.ndarray) -> bool:
        if self.gtol is None or not np.isfinite(value) \
                or value > self.best_value + STALL_VALUE * max(1.0, abs(self.best_value)):
            return False
        grad = np.asarray(grad, dtype=float)
        at_lower = np.asarray(theta) <= self.lower if self.lower is not None else False
        projected = np.where(at_lower & (grad > 0.0), 0.0, grad)
        return bool(np.max(np.abs(projected), initial=0.0)
                    <= self.gtol * max(1.0, abs(value)))

    def _near_best(self, theta: np.ndarray, value: float) -> bool:
        scale = np.maximum(1.0, np.abs(self.best))
        close = bool(np.all(np.abs(np.asarray(theta) - self.best) <= STALL_STEP * scale))
        return close and value >= self.best_value - STALL_VALUE * max(1.0, abs(self.best_value))


def lbfgs_b(problem, fun: Objective, theta: np.ndarray, ftol: float = FTOL,
            unit: float = 1.0, gtol: float | None = None) -> tuple[np.ndarray, float]:
    """L-BFGS-B from ``theta`` within the problem's bounds; returns (theta, objective).

    ``fun`` returns the objective and its gradient; ``ftol`` is the relative decrease at
    which L-BFGS-B stops. A run that stalls (see the module) returns its best point.
    ``unit``: L-BFGS-B works in theta / unit. Its first trial point lies a unit length
    down the gradient, before it knows any curvature: theta of the internal columns is
    of order 1, so with unit 1 that step reaches the bounds at zero (an evaluation
    wasted), a smaller unit makes it a step of that length. ``gtol``: stop where the
    projected gradient (per unit of theta) is below this times the objective's size.
    """
    from scipy.optimize import minimize

    lower, upper = problem.lower_bounds() / unit, problem.upper_bounds() / unit
    bounds = [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
              for lo, hi in zip(lower, upper)]
    guard = _StallGuard(fun if unit == 1.0 else _scaled(fun, unit), lower,
                        None if gtol is None else gtol * unit)
    try:
        result = minimize(guard, np.asarray(theta, dtype=float) / unit, jac=True,
                          method="L-BFGS-B", bounds=bounds,
                          options={"ftol": ftol, "gtol": 1e-10 / unit, "maxiter": 2000,
                                   "maxcor": 20})
    except _Stalled:
        return guard.best * unit, guard.best_value
    return result.x * unit, float(result.fun)


def _scaled(fun: Objective, unit: float) -> Objective:
    def scaled(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = fun(x * unit)
        return value, grad * unit
    return scaled
