"""Binned residuals of a binary GLMM (Gelman and Hill's check): the observations sorted by
fitted probability and cut into bins of about equal size; in each bin the mean fitted
value, the mean response residual, and its +-2 standard-error band
``2 sqrt(p (1 - p) / n)`` from the bin's mean fitted probability. About 95% of the bins'
means should fall inside their band when the model fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.glmm_results import mean_values
from mixed_models.fitted.record import as_record


def default_bins(n: int) -> int:
    """Gelman and Hill's default: sqrt(n) bins for n >= 100, else about n / 10 (at
    least 1; at most n)."""
    if n >= 100:
        return int(np.floor(np.sqrt(n)))
    return max(1, min(n, int(round(n / 10))))


def is_binary(record: object) -> bool:
    """Whether a fitted model is a binomial GLMM of one trial per row (0/1 responses)."""
    fit = as_record(record)
    return bool(fit.is_generalized and fit.family.name == "binomial"
                and np.allclose(fit.problem.core.weights, 1.0))


def binned_residuals(record: object, bins: int | None = None) -> pd.DataFrame:
    """The bins table of a binomial GLMM's response residuals.

    Parameters
    ----------
    record
        A fitted binomial GLMM (or its record); meant for binary (0/1) responses.
    bins
        The number of bins; None: :func:`default_bins`.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``n, fitted_low, fitted_high, fitted_mean, residual_mean,
        band`` (2 standard errors), ``inside`` (|residual_mean| <= band).
    """
    fit = as_record(record)
    if not fit.is_generalized or fit.family.name != "binomial":
        raise ModelError("binned_residuals is for binomial GLMMs (binary responses), got "
                         f"{'a linear mixed model' if not fit.is_generalized else fit.family.name}")
    if not is_binary(fit):
        raise ModelError("binned_residuals is for binary (0/1) responses; this binomial "
                         "model has several trials per row: check its Pearson residuals "
                         "or quantile_residuals instead")
    mu = mean_values(fit)
    n = mu.size
    bins = default_bins(n) if bins is None else bins
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= n:
        raise InvalidArgumentError(f"bins must be an int from 1 to the number of "
                                   f"observations ({n}), got {bins!r}")
    residual = fit.problem.core.y - mu
    order = np.argsort(mu, kind="stable")
    rows = []
    for part in np.array_split(order, int(bins)):
        p = mu[part]
        mean = float(p.mean())
        band = 2.0 * np.sqrt(mean * (1.0 - mean) / part.size)
        r = float(residual[part].mean())
        rows.append((part.size, float(p.min()), float(p.max()), mean, r, band,
                     abs(r) <= band))
    return pd.DataFrame(rows, columns=["n", "fitted_low", "fitted_high", "fitted_mean",
                                       "residual_mean", "band", "inside"])
