"""Plots of fitted models (matplotlib, the optional extra ``mixed_models[plot]``).

Importing this package does not import matplotlib; the first plot does, and raises
:class:`~mixed_models.errors.OptionalDependencyError` with the install command when
matplotlib is missing. Each plot function takes ``ax=None`` (a new figure when None)
and returns the Axes; :func:`diagnostic_panel` returns a Figure.

>>> from mixed_models import plotting
>>> ax = plotting.qq_plot(model)  # doctest: +SKIP
"""

from mixed_models.plotting.diagnostics import (
    diagnostic_panel,
    normal_quantiles,
    observed_vs_fitted,
    qq_plot,
    residual_histogram,
    residuals_vs_fitted,
)
from mixed_models.plotting.glmm_diagnostics import (
    binned_residual_plot,
    pearson_vs_linear_predictor,
    quantile_qq_plot,
    quantile_residual_panel,
    quantile_residuals_vs_predicted,
)
from mixed_models.plotting.inference import bootstrap_distribution, profile_panel, profile_zeta
from mixed_models.plotting.ranef import caterpillar, caterpillar_data

__all__ = [
    "binned_residual_plot",
    "bootstrap_distribution",
    "caterpillar",
    "caterpillar_data",
    "diagnostic_panel",
    "normal_quantiles",
    "observed_vs_fitted",
    "pearson_vs_linear_predictor",
    "profile_panel",
    "profile_zeta",
    "qq_plot",
    "quantile_qq_plot",
    "quantile_residual_panel",
    "quantile_residuals_vs_predicted",
    "residual_histogram",
    "residuals_vs_fitted",
]
