"""Quasi-Newton descent with an analytic gradient over parameters with lower bounds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize


def lbfgs(fg: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray,
          lower: np.ndarray, tight: bool, ftol_abs: float, max_evaluations: int,
          even: np.ndarray | None = None) -> tuple[np.ndarray, float, int, int]:
    """Minimize ``fg`` (value and gradient) over ``x >= lower`` by L-BFGS-B.

    Parameters
    ----------
    fg
        The objective and its gradient; ``inf`` or NaNs where it is not defined.
    x0, lower
        Start and lower bounds (``-inf`` for none).
    tight
        Converge fully (the result is a final estimate) rather than to ``ftol_abs``
        (the result only starts a later stage).
    ftol_abs, max_evaluations
        Absolute change of the objective that stops a loose run; evaluation limit.
    even
        Entries in which the objective is even (an SD whose sign does not matter): zero is
        a stationary point in each, so a run that ends there is restarted off zero when
        that is lower.

    Returns
    -------
    (x, value, evaluations, code)
        ``code`` is 1 on convergence, 0 when the run failed (the caller falls back to a
        derivative-free method); the start is returned when nothing was better.
    """
    x0 = np.maximum(np.asarray(x0, dtype=float), lower)
    f0, g0 = fg(x0)
    if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
        return x0, float(f0), 1, 0
    penalty = f0 + 1e3 * (1.0 + abs(f0))
    count = [1]

    def fun(x: np.ndarray):
        count[0] += 1
        value, grad = fg(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            # a point without a mode: worse than the start, so the line search backs off
            return penalty, np.zeros_like(x)
        return value, grad

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    ftol = 1e-15 if tight else ftol_abs / max(1.0, abs(f0))
    gtol = 1e-8 if tight else 1e-3
    options = {"ftol": ftol, "gtol": gtol, "maxfun": max_evaluations, "maxcor": 20}
    start, best, success = x0, f0, False
    for _ in range(3):
        res = minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
        x, value = np.asarray(res.x, dtype=float), float(res.fun)
        if not value <= best:
            break
        best_x, best, success = x, value, res.success or tight
        start = _off_zero(fg, x, value, even)
        count[0] += 0 if start is None else int(np.sum(even & (np.abs(x) < _ZERO)))
        if start is None:
            break
    if best == f0:
        return x0, float(f0), count[0], 1
    return best_x, best, count[0], 1 if success else 0


_ZERO = 1e-4
_PROBE = 0.1


def _off_zero(fg, x: np.ndarray, value: float, even: np.ndarray | None) -> np.ndarray | None:
    """A point with the even entries stuck at zero moved off it, when that is lower."""
    if even is None:
        return None
    stuck = np.flatnonzero(even & (np.abs(x) < _ZERO))
    moved = x.copy()
    for i in stuck:
        trial = moved.copy()
        trial[i] = _PROBE
        if fg(trial)[0] < value:
            moved = trial
    return None if np.array_equal(moved, x) else moved
