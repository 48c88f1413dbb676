"""Residual plots of a GLMM: simulated quantile residuals (a Q-Q plot against the uniform
distribution, and the residuals against the predicted values) and binned residuals for
binary data.

The numbers come from :mod:`mixed_models.inference.quantile_residuals` and
:mod:`mixed_models.inference.binned_residuals`; each function takes a fitted GLMM and
an optional Axes and returns the Axes. The quantile-residual plots take the
:class:`~mixed_models.inference.quantile_residuals.QuantileResiduals` to draw (the
simulation is the slow part: compute it once, draw it twice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixed_models.fitted.glmm_results import linear_predictor_values, residual_values
from mixed_models.fitted.record import as_record
from mixed_models.inference.binned_residuals import binned_residuals, is_binary
from mixed_models.inference.quantile_residuals import QuantileResiduals
from mixed_models.plotting._backend import axes_or_new, figure_or_new
from mixed_models.plotting.diagnostics import GUIDE, POINT

BAND = {"color": "#777777", "linewidth": 1.0, "linestyle": "--"}


def quantile_qq_plot(residuals: QuantileResiduals, ax: Any = None) -> Any:
    """Q-Q plot of the simulated quantile residuals against U(0, 1), with the line
    y = x and the Kolmogorov-Smirnov p-value in the title."""
    ax = axes_or_new(ax)
    observed = np.sort(residuals.residuals)
    expected = (np.arange(1, observed.size + 1) - 0.5) / observed.size
    ax.scatter(expected, observed, **POINT)
    ax.plot([0.0, 1.0], [0.0, 1.0], **GUIDE)
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.0), xlabel="Expected (uniform) quantiles",
           ylabel="Quantile residuals",
           title=f"Uniform Q-Q plot (KS p = {residuals.p_value:.3g})")
    return ax


def quantile_residuals_vs_predicted(residuals: QuantileResiduals, ax: Any = None) -> Any:
    """The simulated quantile residuals against the rank of the predicted values (scaled
    to (0, 1)), with the lines at 0.25, 0.5 and 0.75 they should scatter evenly around."""
    ax = axes_or_new(ax)
    predicted = residuals.predicted
    ranks = (np.argsort(np.argsort(predicted, kind="stable"), kind="stable") + 0.5) \
        / predicted.size
    ax.scatter(ranks, residuals.residuals, **POINT)
    for level in (0.25, 0.75):
        ax.axhline(level, **BAND)
    ax.axhline(0.5, **GUIDE)
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.0), xlabel="Predicted value (rank, scaled)",
           ylabel="Quantile residuals", title="Quantile residuals vs predicted")
    return ax


def quantile_residual_panel(residuals: QuantileResiduals, fig: Any = None) -> Any:
    """Both quantile-residual plots side by side; returns the Figure."""
    fig = figure_or_new(fig, (10.0, 4.0))
    left, right = fig.subplots(1, 2)
    quantile_qq_plot(residuals, ax=left)
    quantile_residuals_vs_predicted(residuals, ax=right)
    return fig


def binned_residual_plot(model: Any, ax: Any = None, bins: int | None = None) -> Any:
    """Gelman and Hill's binned residual plot of a binary GLMM: the mean residual of each
    bin of fitted probabilities against the bin's mean fitted value, inside +-2 SE."""
    table = binned_residuals(model, bins)
    ax = axes_or_new(ax)
    x = table["fitted_mean"].to_numpy()
    ax.plot(x, table["band"].to_numpy(), **BAND)
    ax.plot(x, -table["band"].to_numpy(), **BAND)
    ax.axhline(0.0, **GUIDE)
    inside = table["inside"].to_numpy(dtype=bool)
    ax.scatter(x[inside], table["residual_mean"].to_numpy()[inside], **POINT)
    ax.scatter(x[~inside], table["residual_mean"].to_numpy()[~inside],
               **{**POINT, "color": "#b03a2e"})
    ax.set(xlabel="Mean fitted probability (bin)", ylabel="Mean residual (bin)",
           title=f"Binned residuals ({inside.sum()} of {len(table)} bins within 2 SE)")
    return ax


def pearson_vs_linear_predictor(model: Any, ax: Any = None) -> Any:
    """Pearson residuals against the linear predictor (link scale, with the random
    effects), and the zero line."""
    fit = as_record(model)
    ax = axes_or_new(ax)
    ax.scatter(linear_predictor_values(fit), residual_values(fit, "pearson"), **POINT)
    ax.axhline(0.0, **GUIDE)
    ax.set(xlabel="Linear predictor", ylabel="Pearson residuals",
           title="Pearson residuals vs linear predictor")
    return ax


def pearson_histogram(model: Any, ax: Any = None) -> Any:
    """Histogram of the Pearson residuals."""
    ax = axes_or_new(ax)
    ax.hist(residual_values(as_record(model), "pearson"), bins="auto", color="#4c72b0",
            alpha=0.8)
    ax.set(xlabel="Pearson residuals", ylabel="Count", title="Pearson residuals")
    return ax


def glmm_diagnostic_panel(model: Any, residuals: QuantileResiduals, fig: Any = None) -> Any:
    """A GLMM's four diagnostic plots: Pearson residuals against the linear predictor,
    the quantile residuals' uniform Q-Q plot and their plot against the predicted
    values, and the binned residuals of a binary model (else the Pearson residuals'
    histogram); returns the Figure."""
    fig = figure_or_new(fig, (10.0, 8.0))
    axes = fig.subplots(2, 2)
    pearson_vs_linear_predictor(model, ax=axes[0, 0])
    quantile_qq_plot(residuals, ax=axes[0, 1])
    quantile_residuals_vs_predicted(residuals, ax=axes[1, 0])
    if is_binary(model):
        binned_residual_plot(model, ax=axes[1, 1])
    else:
        pearson_histogram(model, ax=axes[1, 1])
    fig.tight_layout()
    return fig
