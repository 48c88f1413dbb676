"""Nakagawa's R² and the intraclass correlation of a linear mixed model, as R's
performance package (``r2_nakagawa``, ``icc``) defines them.

The variance components (insight's ``get_variance``):

- fixed: the variance (denominator n - 1) of X beta over the rows of the fit;
- random: over the random-effect terms, the mean over rows of z_i' Sigma z_i (z_i the
  row's random-effect covariates, Sigma the term's covariance): Johnson's extension,
  so a random slope counts at the observed covariate values;
- residual: sigma².

R²m = fixed / total, R²c = (fixed + random) / total, ICC adjusted = random / (random +
residual), ICC unadjusted = random / total, total = fixed + random + residual.

Unstable: for a singular fit performance returns nothing (with a warning); here the
values are computed with the zero variances as they are (R² conditional = marginal when
every random variance is 0) and a SingularFitWarning says so.
"""

from __future__ import annotations

import warnings

import numpy as np

from mixed_models.errors import ModelError, SingularFitWarning
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fitted_values, term_covariances


def variance_components(model: object) -> dict[str, float]:
    """``fixed``, ``random`` and ``residual`` variances (see the module docstring)."""
    fit = as_record(model)
    if fit.family != "gaussian":
        raise ModelError(f"R² and ICC are defined here for linear mixed models; the model's "
                         f"family is {fit.family!r}")
    design = fit.structure.require_design("R² and ICC")
    fixed = float(np.var(fitted_values(fit, with_ran_ef=False) - _offset(fit), ddof=1))
    random = 0.0
    for term, cov in zip(design.random, term_covariances(fit)):
        z = term.z
        random += float(np.mean(np.einsum("ij,jk,ik->i", z, cov, z)))
    return {"fixed": fixed, "random": random, "residual": fit.sigma2}


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
