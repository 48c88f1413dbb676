"""Plots of inference results: likelihood-profile zeta traces and bootstrap distributions.

They draw the tables that ``model.profile()`` and ``model.bootstrap(...)`` return, so
the (costly) computation is done once and can be plotted many ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mixed_models._validate import check_level, check_positive_int, shown
from mixed_models.errors import DataTypeError, InvalidArgumentError, NotFoundError
from mixed_models.plotting._backend import axes_or_new, check_bins, figure_or_new, label

LINE = {"color": "#1f5a94", "linewidth": 1.6}
GUIDE = {"color": "#b03a2e", "linewidth": 1.0, "linestyle": "--"}


def _check_level(level: float) -> float:
    return stats.norm.ppf(0.5 + check_level(level) / 2)


def _check_table(name: str, table: object, made_by: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise DataTypeError(f"{name} must be the data frame that {made_by} returns, got "
                            f"{shown(table)} ({type(table).__name__})")


def _trace(profile: pd.DataFrame, parameter: str | None) -> tuple[str, pd.DataFrame]:
    _check_table("profile", profile, "model.profile()")
    missing = {"parameter", "zeta", "value"} - set(profile.columns)
    if missing:
        raise InvalidArgumentError(
            f"a profile table needs the columns parameter, zeta, value (as model.profile() "
            f"returns); this one lacks {sorted(missing)}")
    names = list(dict.fromkeys(profile["parameter"]))
    parameter = names[0] if parameter is None else parameter
    if parameter not in names:
        raise NotFoundError(f"the profile has no parameter {parameter!r}; it has: "
                            f"{', '.join(map(str, names))}")
    return parameter, profile[profile["parameter"] == parameter].sort_values("value")


def profile_zeta(profile: pd.DataFrame, parameter: str | None = None, ax: Any = None,
                 level: float = 0.95) -> Any:
    """The zeta trace of one parameter of ``model.profile()``; returns the Axes.

    zeta is the signed square root of the deviance increase; on a straight line the
    profile is quadratic (a Wald interval would be exact). The dashed lines mark
    zeta = +-z for ``level`` and where the trace crosses them: the profile interval.
    ``parameter`` defaults to the first one in the table.
    """
    z = _check_level(level)
    parameter, trace = _trace(profile, parameter)
    ax = axes_or_new(ax, figsize=(4.0, 3.2))
    value, zeta = trace["value"].to_numpy(float), trace["zeta"].to_numpy(float)
    ax.plot(value, zeta, marker="o", markersize=2.5, **LINE)
    for bound in (-z, z):
        ax.axhline(bound, **GUIDE)
    ax.axhline(0.0, color="#999999", linewidth=0.8)
    for crossing in _crossings(value, zeta, (-z, z)):
        ax.axvline(crossing, **GUIDE)
    ax.set(xlabel=label(parameter), ylabel="zeta", title=f"Profile: {label(parameter)}")
    return ax


def _crossings(value: np.ndarray, zeta: np.ndarray, levels: tuple[float, ...]) -> list[float]:
    """Where the (increasing) zeta trace crosses each level, by linear interpolation."""
    order = np.argsort(zeta)
    zs, vs = zeta[order], value[order]
    return [float(np.interp(level, zs, vs)) for level in levels
            if zs.size > 1 and zs[0] <= level <= zs[-1]]


def profile_panel(profile: pd.DataFrame, fig: Any = None, level: float = 0.95,
                  columns: int = 3) -> Any:
    """:func:`profile_zeta` for every parameter of the table, in a grid; returns the Figure."""
    check_positive_int("columns", columns)
    _trace(profile, None)  # the columns a profile table has
    names = list(dict.fromkeys(profile["parameter"]))
    rows = -(-len(names) // columns)
    fig = figure_or_new(fig, (3.4 * columns, 2.9 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for name, ax in zip(names, axes):
        profile_zeta(profile, name, ax=ax, level=level)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return fig


def bootstrap_distribution(replicates: pd.DataFrame, column: str | None = None,
                           ax: Any = None, estimate: float | None = None,
                           level: float = 0.95, bins: int | str = "auto") -> Any:
    """Histogram of one statistic over the bootstrap replicates (``model.bootstrap``),
    with its percentile interval (dashed) and the estimate of the original fit (solid,
    when given); failed replicates (NaN) are left out. Returns the Axes.
    """
    _check_level(level)
    check_bins(bins)
    _check_table("replicates", replicates, "model.bootstrap(...)")
    column = replicates.columns[0] if column is None else column
    if column not in replicates.columns:
        raise NotFoundError(f"the bootstrap table has no column {column!r}; it has: "
                            f"{', '.join(map(str, replicates.columns))}")
    values = replicates[column].to_numpy(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise InvalidArgumentError(f"column {column!r} has no finite replicate")
    ax = axes_or_new(ax)
    ax.hist(values, bins=bins, color="#9ab8d6", edgecolor="white")
    for q in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]):
        ax.axvline(q, **GUIDE)
    if estimate is not None:
        ax.axvline(estimate, color="#1a1a1a", linewidth=1.4)
    ax.set(xlabel=label(column), ylabel="Replicates",
           title=f"Bootstrap: {label(column)} ({values.size} replicates)")
    return ax
