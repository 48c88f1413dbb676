"""The summary of a fitted model as data: :class:`ModelSummary`.

``model.summary()`` returns a :class:`ModelSummary`; the text (``print``), HTML
(``_repr_html_``) and Markdown renderings are made from it by the other modules of
:mod:`mixed_models.display`. It holds what lme4's ``summary()`` prints, as values and
tables, so a program can read any of it without parsing text.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mixed_models.model import LMM

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
class ModelSummary:
    """Everything lme4's ``summary()`` shows, as values and tables.

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

    def to_text(self) -> str:
        """The plain-text rendering (what ``print(model)`` shows)."""
        from mixed_models.display.text import render_text

        return render_text(self)

    def to_html(self) -> str:
        """An HTML fragment with its own scoped style (what Jupyter shows)."""
        from mixed_models.display.html import render_html

        return render_html(self)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown with pipe tables."""
        from mixed_models.display.markdown import render_markdown

        return render_markdown(self)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def summarize(model: LMM, ddf: str | None = None) -> ModelSummary:
    """Build the :class:`ModelSummary` of a fitted model.

    Parameters
    ----------
    model
        A fitted :class:`~mixed_models.LMM`.
    ddf
        Tests of the fixed effects, passed to ``model.fix_ef_summary(ddf=...)``:
        ``"wald"``, ``"satterthwaite"`` or ``"kenward-roger"``. None takes that
        method's default.
    """
    fixed, method = fixed_effects_table(model, ddf)
    opt = model.optimization_result
    return ModelSummary(
        formula=model.formula,
        reml=model.reml,
        criterion=float(model.deviance),
        log_likelihood=float(model.log_likelihood),
        aic=float(model.aic),
        bic=float(model.bic),
        df_residual=int(model.n_obs - model.n_parameters),
        scaled_residuals=scaled_residual_quantiles(model),
        random_effects=random_effects_table(model),
        random_effects_corr=random_effects_correlations(model),
        n_obs=int(model.n_obs),
        n_dropped=int(model.n_dropped),
        n_groups=dict(model.n_groups),
        fixed_effects=fixed,
        test_method=method,
        fixed_effects_corr=fixed_effects_correlation(model),
        weighted=model._problem.weights is not None,
        has_offset=model._problem.offset is not None,
        optimizer=OptimizerReport(opt.optimizer, int(opt.evaluations), opt.return_code,
                                  bool(opt.converged and opt.confirmed)),
        messages=tuple(model.warnings),
    )


def fixed_effects_table(model: LMM, ddf: str | None) -> tuple[pd.DataFrame, str]:
    """``model.fix_ef_summary(ddf=...)`` and the name of the method that made it.

    The table names its method in ``attrs["ddf"]``; without it, the method is ``ddf``,
    or the default of ``fix_ef_summary``'s ``ddf`` when ``ddf`` is None.
    """
    table = model.fix_ef_summary() if ddf is None else model.fix_ef_summary(ddf=ddf)
    if ddf is None:
        default = inspect.signature(model.fix_ef_summary).parameters["ddf"].default
        ddf = "wald" if default is inspect.Parameter.empty else str(default)
    return table, str(table.attrs.get("ddf", ddf))


@dataclass(frozen=True, eq=False)
class FitRows:
    """Per observation used in the fit: response, fitted values, residuals.

    ``pearson`` is ``sqrt(weight) * (observed - fitted)`` (the plain residual without
    weights) and ``scaled`` is ``pearson / sigma``. Rows dropped for missing values are
    not included, whatever the model's ``na_action``.
    """

    observed: np.ndarray
    fitted: np.ndarray
    pearson: np.ndarray
    scaled: np.ndarray


def fit_rows(model: LMM) -> FitRows:
    """The :class:`FitRows` of a fitted model."""
    problem = model._problem
    fitted = model._fitted(True)
    pearson = problem.y - fitted
    if problem.weights is not None:
        pearson = np.sqrt(problem.weights) * pearson
    return FitRows(problem.y, fitted, pearson, pearson / model.sigma)


def scaled_residual_quantiles(model: LMM) -> pd.Series:
    """Quantiles of the Pearson residuals over sigma (lme4's ``scaled=TRUE``)."""
    quantiles = np.quantile(fit_rows(model).scaled, [0.0, 0.25, 0.5, 0.75, 1.0])
    return pd.Series(quantiles, index=list(QUANTILE_NAMES), name="scaled residuals")


def random_effects_table(model: LMM) -> pd.DataFrame:
    """Variances and SDs of the random effects and the residual, one row each."""
    vc = model.var_corr()
    rows = vc[vc["var2"].isna()]
    return pd.DataFrame({
        "group": rows["group"].to_numpy(),
        "name": rows["var1"].fillna("").to_numpy(),
        "variance": rows["vcov"].to_numpy(dtype=float),
        "std_dev": rows["sdcor"].to_numpy(dtype=float),
    })


def random_effects_correlations(model: LMM) -> dict[str, pd.DataFrame]:
    """Per grouping factor with several columns, the correlation of its random effects."""
    vc = model.var_corr()
    out: dict[str, pd.DataFrame] = {}
    for group, rows in vc[vc["group"] != "Residual"].groupby("group", sort=False):
        names = list(rows.loc[rows["var2"].isna(), "var1"])
        if len(names) < 2:
            continue
        values = np.full((len(names), len(names)), np.nan)
        np.fill_diagonal(values, 1.0)
        off = rows[rows["var2"].notna()]
        for var1, var2, r in off[["var1", "var2", "sdcor"]].itertuples(index=False):
            i, j = names.index(var1), names.index(var2)
            values[i, j] = values[j, i] = r
        out[str(group)] = pd.DataFrame(values, index=names, columns=names)
    return out


def fixed_effects_correlation(model: LMM) -> pd.DataFrame:
    """Correlation matrix of the fixed-effects estimates (cov2cor of their covariance)."""
    cov = model.fix_ef_cov_mat
    sd = np.sqrt(np.diag(cov.to_numpy()))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov.to_numpy() / np.outer(sd, sd)
    return pd.DataFrame(corr, index=cov.index, columns=cov.columns)
