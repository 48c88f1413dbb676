"""Values of a fitted generalized linear mixed model that differ from an LMM's, as free
functions over its record: fitted values on the response scale, the linear predictor,
residuals of each type, the dispersion, the overdispersion statistic, lme4's
``VarCorr``. The values shared with LMMs (fix_ef, ran_ef, the Wald table, conditional
SDs...) are those of :mod:`mixed_models.fitted.results`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel

#: The residual types of :func:`residuals_of`.
RESIDUAL_TYPES = ("response", "deviance", "pearson", "working")


def require_generalized(fit: FittedModel, what: str) -> None:
    """Refuse a linear mixed model where a generalized one is needed."""
    if not fit.is_generalized:
        raise ModelError(f"{what} is defined for generalized linear mixed models (GLMM), "
                         "not for a linear mixed model")


def linear_predictor_values(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """eta = X beta (+ Z b) + offset, one per observation used."""
    problem = fit.problem
    eta = problem.x @ fit.estimates.beta + problem.core.offset
    if with_ran_ef:
        eta = eta + problem.random_part(fit.estimates.b)
    return eta


def linear_predictor(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """The linear predictor (link scale, offset included), aligned to the input rows
    as ``fitted``."""
    require_generalized(fit, "linear_predictor")
    return fit.structure.align(linear_predictor_values(fit, with_ran_ef))


def mean_values(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """The fitted means mu = g^-1(eta), one per observation used."""
    return fit.family.link.inverse(linear_predictor_values(fit, with_ran_ef))


def fitted(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """Fitted values on the response scale (for the binomial: the probability of a
    success); without the random effects, g^-1(X beta + offset)."""
    require_generalized(fit, "the response-scale fitted values")
    return fit.structure.align(mean_values(fit, with_ran_ef))


def residual_values(fit: FittedModel, type: str = "deviance") -> np.ndarray:
    """Residuals of each observation used (see :func:`residuals_of`)."""
    if type not in RESIDUAL_TYPES:
        raise InvalidArgumentError(f"unknown residual type {type!r}; use one of "
                                   f"{RESIDUAL_TYPES}")
    problem = fit.problem
    fam = fit.family
    y, wt = problem.core.y, problem.core.weights
    eta = linear_predictor_values(fit)
    mu = fam.link.inverse(eta)
    if type == "response":
        return y - mu
    if type == "pearson":
        return (y - mu) * np.sqrt(wt / fam.variance(mu))
    if type == "working":
        return (y - mu) / fam.link.mu_eta(eta)
    unit = np.maximum(fam.deviance_residuals(y, mu, wt), 0.0)
    return np.sign(y - mu) * np.sqrt(unit)


def residuals_of(fit: FittedModel, type: str = "deviance") -> np.ndarray:
    """Residuals of a type, aligned to the input rows as ``fitted``.

    ``"response"``: y - mu (y the proportion of successes for a binomial);
    ``"pearson"``: (y - mu) sqrt(w / V(mu)); ``"working"``: (y - mu) / (dmu/deta);
    ``"deviance"``: sign(y - mu) times the root of the unit deviance (with the prior
    weights w, for the binomial the numbers of trials). As R's ``residuals.glm`` (and
    lme4's ``residuals`` of a glmer fit, which defaults to ``"deviance"``).
    """
    require_generalized(fit, "residuals_of")
    return fit.structure.align(residual_values(fit, type))


def dispersion(fit: FittedModel) -> float:
    """The dispersion: phi = sigma^2 for Gamma and inverse Gaussian (lme4's
    ``sigma(m)^2``), the shape of a negative binomial, 1 for binomial and Poisson."""
    require_generalized(fit, "dispersion")
    fam = fit.family
    if fam.name == "negative.binomial":
        return float(fam.shape)
    return float(fit.sigma2)


@dataclass(frozen=True)
class Overdispersion:
    """The Pearson statistic of a binomial or Poisson GLMM.

    Attributes
    ----------
    chi2
        Sum of squared Pearson residuals.
    df
        Residual degrees of freedom: observations minus estimated parameters.
    ratio
        chi2 / df (about 1 when the family's variance holds; above it, overdispersion).
    p_value
        P(chi2_df > chi2): small values flag overdispersion. A rough check: for
        binary data and few trials per row the statistic is far from chi-square.
    """

    chi2: float
    df: int
    ratio: float
    p_value: float


def overdispersion(fit: FittedModel) -> Overdispersion:
    """Pearson chi-square over the residual df, with its upper-tail p-value, for a
    binomial or Poisson GLMM (families whose dispersion is fixed at 1)."""
    from scipy.stats import chi2 as chi2_dist

    require_generalized(fit, "overdispersion")
    if fit.family.name not in ("binomial", "poisson"):
        raise ModelError(f"overdispersion is defined for the binomial and Poisson families, "
                         f"whose dispersion is fixed at 1; the {fit.family.name} family "
                         "estimates its own (see dispersion)")
    stat = float(np.sum(residual_values(fit, "pearson") ** 2))
    df = int(fit.n_obs - fit.n_parameters)
    if df <= 0:
        return Overdispersion(stat, df, np.nan, np.nan)
    return Overdispersion(stat, df, stat / df, float(chi2_dist.sf(stat, df)))


def var_corr(fit: FittedModel) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))`` of a GLMM: the random effects' variances and
    covariances (times sigma^2 for Gamma and inverse Gaussian, as lme4); the residual row
    only for those two families, which have a scale."""
    table = results.var_corr(fit)
    fam = fit.family
    if fam.has_dispersion and fam.name != "negative.binomial":
        return table
    return table[table["group"] != "Residual"].reset_index(drop=True)


def scaled_pearson(fit: FittedModel) -> np.ndarray:
    """Pearson residuals over sigma (lme4's ``residuals(m, "pearson", scaled = TRUE)``)."""
    return residual_values(fit, "pearson") / fit.sigma
