"""Confidence intervals: Wald, profile likelihood and parametric bootstrap.

``fix_ef_conf_int`` covers the fixed effects (the gem's method); ``conf_int`` covers
every parameter as lme4's ``confint``: the SDs and correlations of the random effects
and sigma (named as in :mod:`.sdcor`), then the fixed effects. Profile intervals are
read off the zeta traces exactly as lme4 reads them: a natural cubic spline of zeta
against the parameter, inverted piecewise (R's ``backSpline``) and evaluated at
+-qnorm((1 + level) / 2). A trace that is not monotone (an inner fit that fell onto
another branch) is read at its first crossing of the target, walking out from the
estimate. A limit is the parameter's bound (0 for an SD, +-1 for a correlation) only
where the trace reaches that bound without zeta reaching the target; a trace that stops
short of both is no limit: NaN, with a warning. Wald intervals exist for the fixed effects only; the
variance parameters get NaN, as in lme4.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.interpolate import CubicSpline, PchipInterpolator

from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import ConvergenceWarning, InvalidArgumentError, ModelError
from mixed_models.inference.profile import profile
from mixed_models.inference.sdcor import sdcor_scale

FIXED_METHODS = ("wald", "profile", "bootstrap", "all")
ALL_METHODS = ("profile", "wald", "bootstrap")
NON_MONOTONE_TOL = 1e-2


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    return float(level)


def _frame(names: list[str], lower: object, upper: object, level: float,
           method: str) -> pd.DataFrame:
    out = pd.DataFrame({"lower": lower, "upper": upper}, index=pd.Index(names))
    out.attrs.update(level=level, method=method)
    return out


def wald_intervals(model: FittedModel, level: float = 0.95) -> pd.DataFrame:
    """estimate +- qnorm((1 + level) / 2) * SE for each fixed effect."""
    model = as_record(model)
    level = _check_level(level)
    beta = model.estimates.beta
    se = np.sqrt(np.diag(results.fix_ef_cov(model)))
    z = stats.norm.ppf((1 + level) / 2)
    return _frame(model.fix_ef_names, beta - z * se, beta + z * se, level, "wald")


def limit_zeta(level: float) -> float:
    """The zeta of a profile interval's upper limit at ``level`` (minus: the lower)."""
    return float(stats.norm.ppf((1 + _check_level(level)) / 2))


def _limits(level: float) -> tuple[float, float]:
    z = limit_zeta(level)
    return -z, z


def profile_intervals(trace: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Intervals from zeta traces (the output of :func:`profile`)."""
    level = _check_level(level)
    z = limit_zeta(level)
    names, lower, upper = [], [], []
    for name, points in trace.groupby("parameter", sort=False):
        bounds = (trace.attrs["lower"][name], trace.attrs["upper"][name])
        lo, hi = _invert(points["value"].to_numpy(), points["zeta"].to_numpy(), [-z, z],
                         name, bounds)
        names.append(name)
        lower.append(lo)
        upper.append(hi)
    return _frame(names, lower, upper, level, "profile")


def _invert(value: np.ndarray, zeta: np.ndarray, targets: list[float], name: str,
            bounds: tuple[float, float]) -> tuple[float, ...]:
    ok = np.isfinite(value) & np.isfinite(zeta)
    order = np.argsort(value[ok], kind="stable")
    x, y = value[ok][order], zeta[ok][order]
    x, first = np.unique(x, return_index=True)
    y = y[first]
    if len(x) < 2:
        return tuple(_short(x, y, t, name, bounds) for t in targets)
    if np.all(np.diff(y) > 0):
        if len(x) < 4:
            warnings.warn(f"bad spline fit for the profile of {name}: using linear "
                          "interpolation", ConvergenceWarning, stacklevel=4)
        return tuple(_first_crossing(x, y, t, name, bounds) for t in targets)
    if np.any(np.diff(y) < -NON_MONOTONE_TOL):
        warnings.warn(f"non-monotonic profile for {name}: each limit is the trace's first "
                      "crossing out from the estimate", ConvergenceWarning, stacklevel=4)
    return tuple(_first_crossing(x, y, t, name, bounds) for t in targets)


def _first_crossing(x: np.ndarray, y: np.ndarray, target: float, name: str,
                    bounds: tuple[float, float]) -> float:
    """Where zeta first passes ``target`` going out from the estimate (zeta = 0).

    Read off lme4's inverse spline of the strictly monotone stretch of the trace around
    that crossing (the whole trace when it is monotone). The spline can swing outside
    the two points that bracket the crossing (next to a steep end, such as a drop onto
    a floor); then a monotone cubic (PCHIP) of the stretch is read instead.
    """
    step = 1 if target > 0 else -1
    centre = int(np.argmin(np.abs(y)))
    i = centre + step
    while 0 <= i < len(x) and not step * y[i] >= step * target:
        i += step
    if not 0 <= i < len(x):
        return _short(x, y, target, name, bounds)
    a, b = sorted((i, i - step))  # the crossing is between them, and y[a] < y[b]
    # the stretch leaves out a plateau (equal zeta: a boundary where the parameter has
    # no effect), whose corner a spline would round off
    flat = np.isclose(y[:-1], y[1:], rtol=1e-9, atol=1e-9)
    plateau = np.append(flat, False) | np.insert(flat, 0, False)
    if plateau[a] or plateau[b]:
        return float(np.interp(target, y[[a, b]], x[[a, b]]))
    # nor a point at the parameter's bound (a correlation of +-1 is a degenerate fit
    # whose zeta jumps far past the cutoff and bends the whole spline)
    lo, hi = a, b
    while lo > 0 and y[lo - 1] < y[lo] and not plateau[lo - 1] and x[lo - 1] > bounds[0]:
        lo -= 1
    while hi < len(x) - 1 and y[hi + 1] > y[hi] and not plateau[hi + 1] \
            and x[hi + 1] < bounds[1]:
        hi += 1
    xs, ys = x[lo:hi + 1], y[lo:hi + 1]
    result = back_spline(xs, ys, [target])
    low, high = sorted((x[a], x[b]))
    if result is not None and low <= result[0] <= high:
        return float(result[0])
    if len(xs) >= 3:
        return float(PchipInterpolator(ys, xs)(target))
    return float(np.interp(target, y[[a, b]], x[[a, b]]))


def _short(x: np.ndarray, y: np.ndarray, target: float, name: str,
           bounds: tuple[float, float]) -> float:
    """The limit of a trace that ends before zeta reaches ``target``: the parameter's
    bound if the trace got there, otherwise no limit (NaN, with a warning)."""
    end = len(x) - 1 if target > 0 else 0
    bound = bounds[1] if target > 0 else bounds[0]
    if len(x) and x[end] == bound:
        return float(bound)
    last = f" at {x[end]:.6g} (zeta {y[end]:.3g})" if len(x) else ""
    warnings.warn(f"the profile of {name} stops{last} before zeta reaches {target:.3g}: "
                  "no limit on that side", ConvergenceWarning, stacklevel=5)
    return float("nan")


def back_spline(x: np.ndarray, y: np.ndarray, targets: list[float]) -> tuple | None:
    """R's ``predict(backSpline(interpSpline(y ~ x)), targets)``; None when the spline
    cannot be inverted (too few points, or not monotone)."""
    if len(x) < 4:
        return None
    slope = CubicSpline(x, y, bc_type="natural")(x, 1)
    dy, dx = np.diff(y), np.diff(x)
    if not np.all(dy > 0) or np.any(slope == 0):
        return None
    c1, c2 = x.copy(), 1.0 / slope
    c3, c4 = np.zeros(len(x)), np.zeros(len(x))
    for i in range(len(x) - 1):  # cubic Hermite pieces of the inverse
        a = dy[i]
        rhs = [dx[i] - a * c2[i], c2[i + 1] - c2[i]]
        c3[i], c4[i] = np.linalg.solve([[a**2, a**3], [2 * a, 3 * a**2]], rhs)
    last = len(x) - 2
    if len(x) > 2:  # the end pieces are quadratics matching the inner end only
        c4[0] = c4[last] = 0.0
        c2[0], c3[0] = np.linalg.solve([[dy[0], dy[0] ** 2], [1.0, 2 * dy[0]]],
                                       [dx[0], 1.0 / slope[1]])
        c3[last] = (dx[last] - dy[last] * c2[last]) / dy[last] ** 2
    if c3[0] > 0:
        c3[0], c2[0] = 0.0, dx[0] / dy[0]
    if c3[last] < 0:
        c3[last], c2[last] = 0.0, dx[last] / dy[last]
    out = []
    for t in targets:
        if not y[0] <= t <= y[-1]:
            out.append(np.nan)
            continue
        i = min(max(int(np.searchsorted(y, t, side="left")) - 1, 0), last)
        d = t - y[i]
        out.append(float(c1[i] + d * (c2[i] + d * (c3[i] + d * c4[i]))))
    return tuple(out)


def fix_ef_conf_int(model: FittedModel, level: float = 0.95, method: str = "wald",
                    boottype: str = "studentized", nsim: int = 1000,
                    seed: int | None = None) -> pd.DataFrame:
    """Intervals for the fixed effects: ``lower, upper`` indexed by fixed effect.

    With ``method="all"`` the columns are ``<method>_lower, <method>_upper`` for the
    Wald and profile intervals and every bootstrap type (one bootstrap run).
    """
    model = as_record(model)
    level = _check_level(level)
    if method not in FIXED_METHODS:
        raise InvalidArgumentError(f"method must be one of {FIXED_METHODS}, got {method!r}")
    names = model.fix_ef_names
    if method == "wald":
        return wald_intervals(model, level)
    if method == "profile":
        trace = profile(model, which=names, limit_zetas=_limits(level))
        return profile_intervals(trace, level).loc[names]
    if method == "bootstrap":
        return _bootstrap(model, level, boottype, nsim, seed, "fixed")
    parts = {"wald": wald_intervals(model, level),
             "profile": profile_intervals(profile(model, which=names,
                                                  limit_zetas=_limits(level)),
                                          level).loc[names]}
    boot = _bootstrap(model, level, "all", nsim, seed, "fixed")
    out = pd.concat([frame.add_prefix(f"{key}_") for key, frame in parts.items()]
                    + [boot.add_prefix("bootstrap_")], axis=1)
    out.attrs.update(level=level, method="all")
    return out


def _bootstrap(model: FittedModel, level: float, boottype: str, nsim: int, seed: int | None,
               parameters: str) -> pd.DataFrame:
    from mixed_models.inference.intervals_bootstrap import bootstrap_intervals

    return bootstrap_intervals(model, level=level, boottype=boottype, nsim=nsim, seed=seed,
                               parameters=parameters)


def _in_our_names(table: pd.DataFrame, model: FittedModel) -> pd.DataFrame:
    """Rows renamed and ordered as the profile's: a correlation may come named either
    way round (``cor_a.b|g`` or ``cor_b.a|g``)."""
    try:
        names = list(sdcor_scale(model).names) + ["sigma"] + model.fix_ef_names
    except ModelError:  # a structure without SD/correlation names: keep the table's
        return table
    rows = []
    for name in names:
        if name.startswith("cor_") and name not in table.index:
            pair, group = name[4:].split("|", 1)
            first, second = pair.split(".", 1)
            name_swapped = f"cor_{second}.{first}|{group}"
            rows.append(name_swapped if name_swapped in table.index else name)
        else:
            rows.append(name)
    out = table.reindex(rows)
    out.index = pd.Index(names)
    out.attrs.update(table.attrs)
    return out


def conf_int(model: FittedModel, method: str = "profile", level: float = 0.95, nsim: int = 1000,
             boottype: str = "percentile", seed: int | None = None) -> pd.DataFrame:
    """Intervals for every parameter: SDs and correlations, sigma, fixed effects.

    Rows are named ``sd_<column>|<group>``, ``cor_<row>.<column>|<group>``, ``sigma``
    and the fixed effects' names; columns ``lower, upper``.
    """
    model = as_record(model)
    level = _check_level(level)
    if method not in ALL_METHODS:
        raise InvalidArgumentError(f"method must be one of {ALL_METHODS}, got {method!r}")
    if method == "profile":
        return profile_intervals(profile(model, limit_zetas=_limits(level)), level)
    if method == "bootstrap":
        return _in_our_names(_bootstrap(model, level, boottype, nsim, seed, "all"), model)
    names = list(sdcor_scale(model).names) + ["sigma"]
    wald = wald_intervals(model, level)
    blank = _frame(names, np.nan, np.nan, level, "wald")
    out = pd.concat([blank, wald])
    out.attrs.update(level=level, method="wald")
    return out
