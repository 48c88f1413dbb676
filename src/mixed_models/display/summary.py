"""The summary of a fitted model as data: :class:`ModelSummary`.

``model.summary()`` returns a :class:`ModelSummary`; the text (``print``), HTML
(``_repr_html_``) and Markdown renderings are made from it by the other modules of
:mod:`mixed_models.display`. It holds what lme4's ``summary()`` prints, as values and
tables, so a program can read any of it without parsing text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.display.html import render_html
from mixed_models.display.markdown import render_markdown
from mixed_models.display.text import render_text
from mixed_models.display.values import (
    QUANTILE_NAMES,
    OptimizerReport,
    SummaryValues,
)
from mixed_models.errors import ModelError
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fit_rows, fix_ef_cov_mat, var_corr
from mixed_models.inference.tests import fix_ef_summary

# The tests a summary shows when none are asked for (the gem's fix_ef_summary() keeps
# its Wald z table).
SUMMARY_DDF = "satterthwaite"

@dataclass(frozen=True, eq=False)
class ModelSummary(SummaryValues):
    """Everything lme4's ``summary()`` shows, as values and tables (see
    :class:`~mixed_models.display.values.SummaryValues` for the fields), with its text,
    HTML and Markdown renderings."""

    def to_text(self) -> str:
        """The plain-text rendering (what ``print(model)`` shows)."""
        return render_text(self)

    def to_html(self) -> str:
        """An HTML fragment with its own scoped style (what Jupyter shows)."""
        return render_html(self)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown with pipe tables."""
        return render_markdown(self)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def summarize(model: object, ddf: str | None = None) -> ModelSummary:
    """Build the :class:`ModelSummary` of a fitted model.

    Parameters
    ----------
    model
        A fitted model (its record, or a public model).
    ddf
        Tests of the fixed effects (see
        :func:`mixed_models.inference.tests.fix_ef_summary`): ``"wald"``,
        ``"satterthwaite"`` or ``"kenward-roger"``. None: Satterthwaite's t tests
        (lmerTest's summary), or Wald z tests where those are not defined.
    """
    model = as_record(model)
    fixed, method = fixed_effects_table(model, ddf)
    opt = model.optimization
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
        n_dropped=int(model.structure.n_dropped),
        n_groups=dict(model.structure.n_groups),
        fixed_effects=fixed,
        test_method=method,
        fixed_effects_corr=fixed_effects_correlation(model),
        weighted=model.weighted,
        has_offset=model.has_offset,
        optimizer=OptimizerReport(opt.optimizer, int(opt.evaluations), opt.return_code,
                                  bool(opt.converged and opt.confirmed)),
        messages=tuple(model.warnings),
    )


def fixed_effects_table(model: FittedModel, ddf: str | None) -> tuple[pd.DataFrame, str]:
    """The fixed-effects tests (``fix_ef_summary``) and the name of the method that made
    them. ``ddf=None`` shows lmerTest's t tests with Satterthwaite's degrees of freedom,
    as lmerTest users read them, and Wald z tests where those are not defined."""
    if ddf is None:
        try:
            table = fix_ef_summary(model, SUMMARY_DDF)
        except ModelError:
            table = fix_ef_summary(model, "wald")
            return table, str(table.attrs.get("ddf", "wald"))
        return table, str(table.attrs.get("ddf", SUMMARY_DDF))
    table = fix_ef_summary(model, ddf)
    return table, str(table.attrs.get("ddf", ddf))


def scaled_residual_quantiles(model: FittedModel) -> pd.Series:
    """Quantiles of the Pearson residuals over sigma (lme4's ``scaled=TRUE``)."""
    try:
        scaled = fit_rows(model).scaled
    except ModelError:  # streamed rows are not kept: no residuals to summarize
        return pd.Series([], dtype=float, name="scaled residuals")
    return residual_quantiles(scaled)


def residual_quantiles(values: np.ndarray) -> pd.Series:
    """Minimum, quartiles and maximum of scaled residuals, as lme4's summary prints them."""
    quantiles = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return pd.Series(quantiles, index=list(QUANTILE_NAMES), name="scaled residuals")


def random_effects_table(model: FittedModel) -> pd.DataFrame:
    """Variances and SDs of the random effects and the residual, one row each."""
    return variance_rows(var_corr(model))


def variance_rows(vc: pd.DataFrame) -> pd.DataFrame:
    """The variance rows of a ``var_corr`` table (no correlations) as the summary shows
    them: group, name, variance, std_dev."""
    rows = vc[vc["var2"].isna()]
    return pd.DataFrame({
        "group": rows["group"].to_numpy(),
        "name": rows["var1"].fillna("").to_numpy(),
        "variance": rows["vcov"].to_numpy(dtype=float),
        "std_dev": rows["sdcor"].to_numpy(dtype=float),
    })


def random_effects_correlations(model: FittedModel) -> dict[str, pd.DataFrame]:
    """Per grouping factor with several columns, the correlation of its random effects."""
    vc = var_corr(model)
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


def fixed_effects_correlation(model: FittedModel) -> pd.DataFrame:
    """Correlation matrix of the fixed-effects estimates (cov2cor of their covariance)."""
    cov = fix_ef_cov_mat(model)
    sd = np.sqrt(np.diag(cov.to_numpy()))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov.to_numpy() / np.outer(sd, sd)
    return pd.DataFrame(corr, index=cov.index, columns=cov.columns)
