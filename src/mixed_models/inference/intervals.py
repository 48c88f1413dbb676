"""Confidence intervals: Wald, profile likelihood and parametric bootstrap.

``fix_ef_conf_int`` covers the fixed effects (the gem's method); ``conf_int`` covers
every parameter as lme4's ``confint``: the SDs and correlations of the random effects
and sigma (named as in :mod:`.sdcor`), then the fixed effects. Profile intervals are
read off the zeta traces exactly as lme4 reads them: a natural cubic spline of zeta
against the parameter, inverted piecewise (R's ``backSpline``) and evaluated at
+-qnorm((1 + level) / 2); a limit beyond the trace is the parameter's bound (0 for an
SD, +-1 for a correlation). Wald intervals exist for the fixed effects only; the
variance parameters get NaN, as in lme4.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from scipy.interpolate import CubicSpline

from mixed_models.errors import ConvergenceWarning, InvalidArgumentError, ModelError
from mixed_models.inference.profile import profile
from mixed_models.inference.sdcor import sdcor_scale

if TYPE_CHECKING:
    from mixed_models.model import LMM

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


def wald_intervals(model: LMM, level: float = 0.95) -> pd.DataFrame:
    """estimate +- qnorm((1 + level) / 2) * SE for each fixed effect."""
    level = _check_level(level)
    beta = model._estimates.beta
    se = np.sqrt(np.diag(model.fix_ef_cov_mat.to_numpy()))
    z = stats.norm.ppf((1 + level) / 2)
    return _frame(model.fix_ef_names, beta - z * se, beta + z * se, level, "wald")


def profile_intervals(trace: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Intervals from zeta traces (the output of :func:`profile`)."""
    level = _check_level(level)
    z = float(stats.norm.ppf((1 + level) / 2))
    names, lower, upper = [], [], []
    for name, points in trace.groupby("parameter", sort=False):
        lo, hi = _invert(points["value"].to_numpy(), points["zeta"].to_numpy(), [-z, z], name)
        names.append(name)
        lower.append(trace.attrs["lower"][name] if np.isnan(lo) else lo)
        upper.append(trace.attrs["upper"][name] if np.isnan(hi) else hi)
    out = _frame(names, lower, upper, level, "profile")
    for bound, column in (("lower", "lower"), ("upper", "upper")):
        infinite = np.isinf(out[column])
        out.loc[infinite, column] = np.nan  # a fixed effect has no bound: unknown limit
    return out


def _invert(value: np.ndarray, zeta: np.ndarray, targets: list[float],
            name: str) -> tuple[float, ...]:
    ok = np.isfinite(value) & np.isfinite(zeta)
    order = np.argsort(value[ok], kind="stable")
    x, y = value[ok][order], zeta[ok][order]
    x, first = np.unique(x, return_index=True)
    y = y[first]
    result = back_spline(x, y, targets)
    if result is not None:
        return result
    if np.all(np.diff(y) >= -NON_MONOTONE_TOL):
        warnings.warn(f"bad spline fit for the profile of {name}: using linear interpolation",
                      ConvergenceWarning, stacklevel=4)
        return tuple(np.interp(t, y, x, left=np.nan, right=np.nan) for t in targets)
    warnings.warn(f"non-monotonic profile for {name}: no interval", ConvergenceWarning,
                  stacklevel=4)
    return (np.nan, np.nan)


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


def fix_ef_conf_int(model: LMM, level: float = 0.95, method: str = "wald",
                    boottype: str = "studentized", nsim: int = 1000,
                    seed: int | None = None) -> pd.DataFrame:
    """Intervals for the fixed effects: ``lower, upper`` indexed by fixed effect.

    With ``method="all"`` the columns are ``<method>_lower, <method>_upper`` for the
    Wald and profile intervals and every bootstrap type (one bootstrap run).
    """
    level = _check_level(level)
    if method not in FIXED_METHODS:
        raise InvalidArgumentError(f"method must be one of {FIXED_METHODS}, got {method!r}")
    names = model.fix_ef_names
    if method == "wald":
        return wald_intervals(model, level)
    if method == "profile":
        trace = profile(model, which=names)
        return profile_intervals(trace, level).loc[names]
    if method == "bootstrap":
        return _bootstrap(model, level, boottype, nsim, seed, "fixed")
    parts = {"wald": wald_intervals(model, level),
             "profile": profile_intervals(profile(model, which=names), level).loc[names]}
    boot = _bootstrap(model, level, "all", nsim, seed, "fixed")
    out = pd.concat([frame.add_prefix(f"{key}_") for key, frame in parts.items()]
                    + [boot.add_prefix("bootstrap_")], axis=1)
    out.attrs.update(level=level, method="all")
    return out


def _bootstrap(model: LMM, level: float, boottype: str, nsim: int, seed: int | None,
               parameters: str) -> pd.DataFrame:
    from mixed_models.inference.bootstrap import bootstrap_intervals

    return bootstrap_intervals(model, level=level, boottype=boottype, nsim=nsim, seed=seed,
                               parameters=parameters)


def _in_our_names(table: pd.DataFrame, model: LMM) -> pd.DataFrame:
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


def conf_int(model: LMM, method: str = "profile", level: float = 0.95, nsim: int = 1000,
             boottype: str = "percentile", seed: int | None = None) -> pd.DataFrame:
    """Intervals for every parameter: SDs and correlations, sigma, fixed effects.

    Rows are named ``sd_<column>|<group>``, ``cor_<row>.<column>|<group>``, ``sigma``
    and the fixed effects' names; columns ``lower, upper``.
    """
    level = _check_level(level)
    if method not in ALL_METHODS:
        raise InvalidArgumentError(f"method must be one of {ALL_METHODS}, got {method!r}")
    if method == "profile":
        return profile_intervals(profile(model), level)
    if method == "bootstrap":
        return _in_our_names(_bootstrap(model, level, boottype, nsim, seed, "all"), model)
    names = list(sdcor_scale(model).names) + ["sigma"]
    wald = wald_intervals(model, level)
    blank = _frame(names, np.nan, np.nan, level, "wald")
    out = pd.concat([blank, wald])
    out.attrs.update(level=level, method="wald")
    return out
