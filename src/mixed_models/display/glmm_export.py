"""Every estimate of a fitted GLMM as plain JSON-ready data (``mixed-models fit --family
... --json``), in the layout of :func:`mixed_models.display.export.model_to_dict` with the
generalized model's own keys (family, link, n_agq, dispersion, overdispersion) and
per-row values on the response scale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mixed_models.display.export import plain, table_matrix, table_records, write_text_atomically
from mixed_models.display.glmm_summary import summarize_glmm
from mixed_models.fitted import glmm_results, results
from mixed_models.fitted.record import as_record

FORMAT = "mixed_models.glmm_fit/1"


def glmm_to_dict(model: object) -> dict[str, Any]:
    """Every estimate of a fitted GLMM as a JSON-ready dict.

    Keys: ``format, formula, family, link, n_agq, deviance, log_likelihood, aic, bic,
    n_parameters, df_residual, n_obs, n_dropped, n_groups, theta, sigma, dispersion,
    fix_ef, fixed_effects`` (the Wald z table), ``fix_ef_cov_mat, fixed_effects_corr,
    var_corr, ran_ef, overdispersion`` (None for families with a scale),
    ``scaled_residuals, fitted`` (response scale), ``linear_predictor, residuals``
    (deviance residuals), ``optimizer, singular, warnings``.
    """
    fit = as_record(model)
    summary = summarize_glmm(fit)
    fixed = summary.fixed_effects.rename_axis("name").reset_index()
    opt = fit.optimization
    over = summary.overdispersion
    return plain({
        "format": FORMAT,
        "formula": fit.formula,
        "family": summary.family,
        "link": summary.link,
        "n_agq": summary.n_agq,
        "deviance": fit.deviance,
        "log_likelihood": fit.log_likelihood,
        "aic": fit.aic,
        "bic": fit.bic,
        "n_parameters": fit.n_parameters,
        "df_residual": summary.df_residual,
        "n_obs": fit.n_obs,
        "n_dropped": fit.structure.n_dropped,
        "n_groups": fit.structure.n_groups,
        "theta": fit.theta,
        "sigma": fit.sigma,
        "dispersion": glmm_results.dispersion(fit),
        "fix_ef": results.fix_ef(fit),
        "fixed_effects": {"test_method": "wald", "rows": table_records(fixed)},
        "fix_ef_cov_mat": table_matrix(results.fix_ef_cov_mat(fit)),
        "fixed_effects_corr": table_matrix(summary.fixed_effects_corr),
        "var_corr": table_records(glmm_results.var_corr(fit)),
        "ran_ef": table_records(results.ran_ef_table(fit)),
        "overdispersion": None if over is None else dict(
            zip(("chi2", "df", "ratio", "p_value"), over)),
        "scaled_residuals": summary.scaled_residuals.to_dict(),
        "fitted": glmm_results.fitted(fit),
        "linear_predictor": glmm_results.linear_predictor(fit),
        "residuals": glmm_results.residuals_of(fit, "deviance"),
        "optimizer": {"optimizer": opt.optimizer, "evaluations": opt.evaluations,
                      "return_code": opt.return_code, "converged": summary.optimizer.converged},
        "singular": fit.singular,
        "warnings": list(fit.warnings),
    })


def glmm_json(model: object) -> str:
    """:func:`glmm_to_dict` as strict JSON text (one trailing newline)."""
    return json.dumps(glmm_to_dict(model), indent=1, allow_nan=False) + "\n"


def write_glmm_json(model: object, path: str | Path) -> Path:
    """Write :func:`glmm_json` to ``path`` atomically; returns the path."""
    return write_text_atomically(path, glmm_json(model))
