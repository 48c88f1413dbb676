"""Profile points placed where zeta crosses an interval's limits.

lme4 reads a profile interval off an inverse spline through the trace's points, which
are about an eighth of the cutoff apart in zeta; where zeta bends between two points
(a correlation approaching +-1) the spline's reading can be off by a tenth of the
points' gap, and it moves with the points' exact placement, which differs with the
floating-point rounding of the inner fits. A point found where zeta equals the limit's
target (to ``ZETA_TOL``) pins the spline there: the limit is then the profile's own
crossing, not an interpolation.

Unstable: a new module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Where |zeta - target| is below this, the point marks the crossing.
ZETA_TOL = 1e-6
# Inner fits per crossing at most (regula falsi, Illinois variant: superlinear).
MAX_FITS = 30


def crossing_points(rows: list[np.ndarray], column: int, targets: tuple[float, ...],
                    zeta_at: Callable[[float, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """New trace rows, located where zeta crosses each of ``targets`` first going out
    from the estimate (zeta = 0). ``rows`` are the trace's ``(zeta, parameters...)``,
    ``column`` the profiled parameter's position in them; ``zeta_at(value, start_row)``
    evaluates the profile. A target the trace does not reach adds no rows."""
    extra: list[np.ndarray] = []
    for target in targets:
        bracket = _bracket(rows, column, target)
        if bracket is not None:
            extra += _located(*bracket, column, target, zeta_at)
    return extra


def _bracket(rows: list[np.ndarray], column: int, target: float
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The neighbouring rows (inner, outer) between which zeta first passes ``target``."""
    ordered = sorted((r for r in rows if np.isfinite(r[0]) and np.isfinite(r[column])),
                     key=lambda r: r[column])
    if len(ordered) < 2:
        return None
    zeta = np.array([r[0] for r in ordered])
    step = 1 if target > 0 else -1
    i = int(np.argmin(np.abs(zeta))) + step
    while 0 <= i < len(ordered) and not step * zeta[i] >= step * target:
        i += step
    if not 0 <= i < len(ordered):
        return None
    return ordered[i - step], ordered[i]


def _located(inner: np.ndarray, outer: np.ndarray, column: int, target: float,
             zeta_at: Callable[[float, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Regula falsi (Illinois) on zeta(value) - target within the bracket."""
    points: list[np.ndarray] = []
    f_in, f_out = inner[0] - target, outer[0] - target
    if abs(f_out) <= ZETA_TOL or abs(f_in) <= ZETA_TOL:
        return points
    kept = None  # which end stayed last time: its value is halved if it stays again
    for _ in range(MAX_FITS):
        x_in, x_out = inner[column], outer[column]
        if abs(x_out - x_in) <= 1e-12 * max(1.0, abs(x_in)):
            break
        x = x_out - f_out * (x_out - x_in) / (f_out - f_in)
        if not min(x_in, x_out) < x < max(x_in, x_out):
            x = 0.5 * (x_in + x_out)
        row = zeta_at(float(x), inner if abs(x - x_in) <= abs(x - x_out) else outer)
        if not np.isfinite(row[0]):
            break
        points.append(row)
        f = row[0] - target
        if abs(f) <= ZETA_TOL:
            break
        if np.sign(f) == np.sign(f_in):
            inner, f_in = row, f
            if kept == "outer":
                f_out *= 0.5
            kept = "outer"
        else:
            outer, f_out = row, f
            if kept == "inner":
                f_in *= 0.5
            kept = "inner"
    return points
