"""Nakagawa's R² and the intraclass correlation of a linear or generalized mixed model, as R's
performance package (``r2_nakagawa``, ``icc``) defines them.

The variance components (insight's ``get_variance``):

- fixed: the variance (denominator n - 1) of X beta over the rows of the fit;
- random: over the random-effect terms, the mean over rows of z_i' Sigma z_i (z_i the
  row's random-effect covariates, Sigma the term's covariance): Johnson's extension,
  so a random slope counts at the observed covariate values;
- residual: sigma² (a GLMM's distribution-specific variance: pi² / 3 for a binomial
  logit, the lognormal approximation log(1 + 1/lambda) for a Poisson log; see
  :mod:`mixed_models.inference.r2_glmm`).

R²m = fixed / total, R²c = (fixed + random) / total, ICC adjusted = random / (random +
residual), ICC unadjusted = random / total, total = fixed + random + residual.

Unstable: for a singular fit performance returns nothing (with a warning); here the
values are computed with the zero variances as they are (R² conditional = marginal when
every random variance is 0) and a SingularFitWarning says so.
"""

from __future__ import annotations

import warnings

import numpy as np

from mixed_models.errors import SingularFitWarning
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fitted_values, term_covariances


def variance_components(model: object) -> dict[str, float]:
    """``fixed``, ``random`` and ``residual`` variances (see the module docstring)."""
    fit = as_record(model)
    if fit.is_generalized:
        from mixed_models.inference.r2_glmm import check_supported

        check_supported(fit)
    design = fit.structure.require_design("R² and ICC")
    if fit.is_generalized:
        eta = design.fixed.matrix @ fit.estimates.beta
    else:
        eta = fitted_values(fit, with_ran_ef=False) - _offset(fit)
    fixed = float(np.var(eta, ddof=1))
    random = 0.0
    for term, cov in zip(design.random, term_covariances(fit)):
        z = term.z
        random += float(np.mean(np.einsum("ij,jk,ik->i", z, cov, z)))
    return {"fixed": fixed, "random": random, "residual": _residual(fit)}


def _residual(fit: FittedModel) -> float:
    """sigma², or a GLMM's distribution-specific variance."""
    if not fit.is_generalized:
        return fit.sigma2
    from mixed_models.inference.r2_glmm import distribution_variance

    return distribution_variance(fit)


def _offset(fit: FittedModel) -> np.ndarray | float:
    return 0.0 if fit.problem.offset is None else fit.problem.offset


def _components(model: object) -> dict[str, float]:
    fit = as_record(model)
    if fit.singular:
        warnings.warn("the fit is singular: some random-effect variances are 0, so R² and "
                      "ICC count them as 0 (R's performance returns NA here)",
                      SingularFitWarning, stacklevel=3)
    return variance_components(fit)


def r2(model: object) -> dict[str, float]:
    """Nakagawa's ``marginal`` (fixed effects) and ``conditional`` (fixed and random) R²."""
    v = _components(model)
    total = v["fixed"] + v["random"] + v["residual"]
    return {"marginal": v["fixed"] / total, "conditional": (v["fixed"] + v["random"]) / total}


def icc(model: object) -> dict[str, float]:
    """Intraclass correlation: ``adjusted`` (random over random + residual) and
    ``unadjusted`` (random over the total, fixed-effect variance included)."""
    v = _components(model)
    total = v["fixed"] + v["random"] + v["residual"]
    return {"adjusted": v["random"] / (v["random"] + v["residual"]),
            "unadjusted": v["random"] / total}
