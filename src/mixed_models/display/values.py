"""The values of a model summary, as plain data the renderers read.

:class:`SummaryValues` holds what lme4's ``summary()`` prints;
:class:`~mixed_models.display.summary.ModelSummary` adds its renderings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

QUANTILE_NAMES = ("Min", "1Q", "Median", "3Q", "Max")

TEST_METHODS = {
    "wald": "Wald z tests (normal approximation)",
    "satterthwaite": "t tests with Satterthwaite's degrees of freedom",
    "kenward-roger": "t tests with Kenward-Roger's degrees of freedom and standard errors",
}


@dataclass(frozen=True, eq=False)
class OptimizerReport:
    """What the optimizer did, in short (the full record is ``model.optimization_result``)."""

    optimizer: str
    evaluations: int
    return_code: str
    converged: bool


@dataclass(frozen=True, eq=False)
class SummaryValues:
    """Everything lme4's ``summary()`` shows, as values and tables (the renderings are
    made from these by :mod:`mixed_models.display.layout`).

    Attributes
    ----------
    formula
        The model formula as given.
    reml
        True for a REML fit, False for maximum likelihood.
    criterion
        The optimized objective: REML criterion (REML) or deviance (ML).
    log_likelihood, aic, bic
        Log-likelihood (REML log-likelihood for REML fits) and the criteria made from it.
    df_residual
        Observations minus estimated parameters (lme4's ``df.resid``).
    scaled_residuals
        Min, quartiles and max of the Pearson residuals divided by sigma (R's type-7
        quantiles), indexed by ``QUANTILE_NAMES``.
    random_effects
        One row per random-effect column and one for the residual: ``group, name,
        variance, std_dev`` (``name`` is empty for the residual).
    random_effects_corr
        For each grouping factor with more than one column, the correlation matrix of
        its random effects; NaN where the model has no correlation parameter (``||``).
    n_obs, n_dropped
        Observations used and rows dropped for missing values.
    n_groups
        Number of levels of each grouping factor.
    fixed_effects
        The table of ``model.fix_ef_summary()`` (estimates, standard errors, tests).
    test_method
        Which tests made ``fixed_effects``: ``"wald"``, ``"satterthwaite"`` or
        ``"kenward-roger"``; :data:`TEST_METHODS` describes each in words.
    fixed_effects_corr
        Correlation matrix of the fixed-effects estimates.
    weighted, has_offset
        Whether prior weights and an offset were given.
    optimizer
        Optimizer, evaluations, return code, convergence.
    messages
        The fit's messages (``model.warnings``): convergence, singular fit, dropped
        columns, dropped rows.

    Notes
    -----
    The tables are pandas DataFrames; treat them as read-only. Field names are stable;
    more fields may be added.
    """

    formula: str | None
    reml: bool
    criterion: float
    log_likelihood: float
    aic: float
    bic: float
    df_residual: int
    scaled_residuals: pd.Series
    random_effects: pd.DataFrame
    random_effects_corr: dict[str, pd.DataFrame]
    n_obs: int
    n_dropped: int
    n_groups: dict[str, int]
    fixed_effects: pd.DataFrame
    test_method: str
    fixed_effects_corr: pd.DataFrame
    weighted: bool
    has_offset: bool
    optimizer: OptimizerReport
    messages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def method(self) -> str:
        """``"REML"`` or ``"ML"``."""
        return "REML" if self.reml else "ML"

    @property
    def test_description(self) -> str:
        """The tests of ``fixed_effects`` in words."""
        return TEST_METHODS.get(self.test_method, self.test_method)


@dataclass(frozen=True, eq=False)
class GlmmValues(SummaryValues):
    """What lme4's summary of a glmer fit adds to :class:`SummaryValues`.

    ``criterion`` is -2 log-likelihood under the approximation and ``scaled_residuals``
    the quantiles of the Pearson residuals over sigma.

    Attributes
    ----------
    family, link
        The family as lme4 names it (``binomial``, ``Negative Binomial(3.04)``...) and
        the link's name.
    n_agq
        0, 1 (Laplace) or the number of adaptive Gauss-Hermite nodes.
    overdispersion
        For binomial and Poisson: ``(chi2, df, ratio, p_value)`` of the Pearson
        statistic; else None.
    """

    family: str = ""
    link: str = ""
    n_agq: int = 1
    overdispersion: tuple[float, int, float, float] | None = None

    @property
    def approximation(self) -> str:
        """``Laplace Approximation`` or ``Adaptive Gauss-Hermite Quadrature, nAGQ = k``."""
        if self.n_agq == 1:
            return "Laplace Approximation"
        return f"Adaptive Gauss-Hermite Quadrature, nAGQ = {self.n_agq}"
