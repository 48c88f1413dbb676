"""The summary of a fitted GLMM as data (lme4's summary of a glmer fit):
:class:`GlmmSummary`, rendered as text, HTML and Markdown like an LMM's summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixed_models.display.summary import (
    ModelSummary,
    fixed_effects_correlation,
    random_effects_correlations,
    residual_quantiles,
    variance_rows,
)
from mixed_models.display.values import GlmmValues, OptimizerReport
from mixed_models.errors import ModelError
from mixed_models.fitted.glmm_results import overdispersion, require_generalized, \
    scaled_pearson, var_corr
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fix_ef_summary


@dataclass(frozen=True, eq=False)
class GlmmSummary(GlmmValues, ModelSummary):
    """Everything lme4's summary of a glmer fit shows (see
    :class:`~mixed_models.display.values.GlmmValues`), with its renderings."""


def family_label(fit: FittedModel) -> str:
    """The family as lme4 prints it: ``binomial``, ``Negative Binomial(3.038)``..."""
    fam = fit.family
    if fam.name == "negative.binomial":
        return f"Negative Binomial({fam.shape:.4g})"
    return str(fam.name)


def summarize_glmm(model: object) -> GlmmSummary:
    """Build the :class:`GlmmSummary` of a fitted generalized linear mixed model."""
    fit = as_record(model)
    require_generalized(fit, "summarize_glmm")
    opt = fit.optimization
    table = fix_ef_summary(fit)
    return GlmmSummary(
        formula=fit.formula,
        reml=False,
        criterion=float(fit.deviance),
        log_likelihood=float(fit.log_likelihood),
        aic=float(fit.aic),
        bic=float(fit.bic),
        df_residual=int(fit.n_obs - fit.n_parameters),
        scaled_residuals=residual_quantiles(scaled_pearson(fit)),
        random_effects=variance_rows(var_corr(fit)),
        random_effects_corr=random_effects_correlations(fit),
        n_obs=int(fit.n_obs),
        n_dropped=int(fit.structure.n_dropped),
        n_groups=dict(fit.structure.n_groups),
        fixed_effects=table,
        test_method="wald",
        fixed_effects_corr=fixed_effects_correlation(fit),
        weighted=_prior_weights_given(fit),
        has_offset=fit.problem.offset is not None,
        optimizer=OptimizerReport(opt.optimizer, int(opt.evaluations), opt.return_code,
                                  bool(opt.converged and opt.confirmed)),
        messages=_messages(fit),
        family=family_label(fit),
        link=str(fit.family.link.name),
        n_agq=int(fit.problem.n_agq),
        overdispersion=_overdispersion(fit),
    )


def _prior_weights_given(fit: FittedModel) -> bool:
    """Whether the user gave weights (a cbind() response's trials are not prior weights)."""
    if not fit.problem.has_terms:
        return fit.problem.weights is not None
    design = fit.structure.require_design("the summary")
    return design.frame.weights is not None


def _overdispersion(fit: FittedModel) -> tuple[float, int, float, float] | None:
    try:
        o = overdispersion(fit)
    except ModelError:
        return None
    return (o.chi2, o.df, o.ratio, o.p_value)


def _messages(fit: FittedModel) -> tuple[str, ...]:
    """The fit's warnings, then its optimizer notes not already among them."""
    messages = list(fit.warnings)
    for note in fit.optimization.messages:
        if not any(note in m for m in messages):
            messages.append(note)
    return tuple(messages)
