"""Residual diagnostics: residuals against fitted values, histogram, normal Q-Q plot,
observed against fitted values, and the panel that draws them together.

Each function takes a fitted model and an optional matplotlib Axes, draws on it (a new
figure when ``ax`` is None) and returns the Axes. Residuals are Pearson residuals
(``sqrt(weight) * (y - fitted)``, the plain residuals of an unweighted model); the
histogram and Q-Q plot show them divided by sigma, like lme4's scaled residuals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from mixed_models.fitted.record import as_record
from mixed_models.fitted.results import fit_rows as _fit_rows
from mixed_models.plotting._backend import axes_or_new, check_bins, figure_or_new

POINT = {"s": 14, "alpha": 0.7, "color": "#1f5a94", "edgecolors": "none"}
GUIDE = {"color": "#b03a2e", "linewidth": 1.0}


def fit_rows(model: Any) -> Any:
    """Response, fitted values and residuals of a model (a record or a public model)."""
    return _fit_rows(as_record(model))


def _residual_label(model: Any) -> str:
    weighted = as_record(model).problem.weights is not None
    return "Pearson residuals" if weighted else "Residuals"


def residuals_vs_fitted(model: Any, ax: Any = None) -> Any:
    """Residuals against fitted values (with random effects), and the zero line."""
    ax = axes_or_new(ax)
    rows = fit_rows(model)
    ax.scatter(rows.fitted, rows.pearson, **POINT)
    ax.axhline(0.0, **GUIDE)
    ax.set(xlabel="Fitted values", ylabel=_residual_label(model),
           title="Residuals vs fitted")
    return ax


def residual_histogram(model: Any, ax: Any = None, bins: int | str = "auto") -> Any:
    """Histogram of the scaled residuals with the standard normal density over it."""
    check_bins(bins)
    ax = axes_or_new(ax)
    scaled = fit_rows(model).scaled
    ax.hist(scaled, bins=bins, density=True, color="#9ab8d6", edgecolor="white")
    grid = np.linspace(min(scaled.min(), -3.0), max(scaled.max(), 3.0), 200)
    ax.plot(grid, stats.norm.pdf(grid), **GUIDE)
    ax.set(xlabel="Scaled residuals", ylabel="Density", title="Histogram of residuals")
    return ax


def normal_quantiles(n: int) -> np.ndarray:
    """Expected standard-normal order statistics (R's ``qqnorm`` plotting positions)."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return stats.norm.ppf((np.arange(1, n + 1) - a) / (n + 1 - 2 * a))


def qq_plot(model: Any, ax: Any = None) -> Any:
    """Normal Q-Q plot of the scaled residuals, with the line y = x."""
    ax = axes_or_new(ax)
    observed = np.sort(fit_rows(model).scaled)
    theoretical = normal_quantiles(observed.size)
    ax.scatter(theoretical, observed, **POINT)
    low, high = theoretical[0], theoretical[-1]
    ax.plot([low, high], [low, high], **GUIDE)
    ax.set(xlabel="Standard normal quantiles", ylabel="Scaled residuals",
           title="Normal Q-Q plot of residuals")
    return ax


def observed_vs_fitted(model: Any, ax: Any = None) -> Any:
    """The response against the fitted values (with random effects), and y = x."""
    ax = axes_or_new(ax)
    rows = fit_rows(model)
    ax.scatter(rows.fitted, rows.observed, **POINT)
    low = min(rows.fitted.min(), rows.observed.min())
    high = max(rows.fitted.max(), rows.observed.max())
    ax.plot([low, high], [low, high], **GUIDE)
    ax.set(xlabel="Fitted values", ylabel="Observed response", title="Observed vs fitted")
    return ax


def diagnostic_panel(model: Any, fig: Any = None) -> Any:
    """The standard panel: the four residual plots and a caterpillar plot per
    grouping factor (its first random-effect column). Returns the Figure."""
    from mixed_models.plotting.ranef import caterpillar

    groups = list(as_record(model).structure.n_groups)
    n_rows = 2 + (len(groups) + 1) // 2
    fig = figure_or_new(fig, (10, 3.6 * n_rows))
    axes = fig.subplots(n_rows, 2, squeeze=False)
    for draw, ax in zip((residuals_vs_fitted, qq_plot, residual_histogram,
                         observed_vs_fitted), axes[:2].ravel()):
        draw(model, ax=ax)
    cater_axes = axes[2:].ravel()
    for group, ax in zip(groups, cater_axes):
        caterpillar(model, group=group, ax=ax)
    for ax in cater_axes[len(groups):]:
        ax.set_visible(False)
    return fig
