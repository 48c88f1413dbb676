"""Likelihood ratio tests of nested models (the gem's ``FittedModel.likelihood_ratio_test``).

As lme4's ``anova(m0, m1)``: REML fits are refitted by ML first (with a
:class:`~mixed_models.errors.RefitWarning` and a record in the result), the statistic
is twice the difference of the log-likelihoods (clipped at 0), and the degrees of
freedom the difference of the numbers of parameters. Unlike lme4 the models are
checked: same observations, and the first nested in the second (its fixed-effects
columns in the span of the second's, each of its random-effects terms matched by a
term on the same grouping factor whose columns and covariance structure contain it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import InvalidArgumentError, ModelError, RefitWarning
from mixed_models.inference.refit import refit_ml

if TYPE_CHECKING:
    from mixed_models.design.random import RandomDesign

SPAN_TOL = 1e-8
LRT_METHODS = ("chi2", "bootstrap")


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """The result of a likelihood ratio test.

    Attributes
    ----------
    statistic
        2 (log L1 - log L0) of the ML fits, clipped at 0.
    df
        Difference of the numbers of parameters.
    p_value
        From the chi-square distribution, or the parametric bootstrap's
        (#(replicates >= statistic) + 1) / (nsim + 1).
    method
        ``"chi2"`` or ``"bootstrap"``.
    nsim
        Bootstrap replicates (None for chi2).
    deviances
        -2 log-likelihood of the null and the alternative ML fits.
    refitted_with_ml
        True when a REML fit was refitted by ML for the test.
    """

    statistic: float
    df: int
    p_value: float
    method: str
    nsim: int | None
    deviances: tuple[float, float]
    refitted_with_ml: bool


def ml_fits(*models: FittedModel) -> tuple[list[FittedModel], bool]:
    """The models fitted by ML (REML ones refitted, with a note) and whether any was."""
    refit = any(m.reml for m in models)
    if refit:
        warnings.warn("refitting model(s) with ML (instead of REML) for the likelihood "
                      "ratio test", RefitWarning, stacklevel=4)
    return [refit_ml(m) for m in models], refit


def likelihood_ratio(model1: FittedModel, model2: FittedModel) -> float:
    """2 (log L2 - log L1) of the ML fits (the gem's ``FittedModel.likelihood_ratio``).

    REML fits are refitted by ML first; the models must share their observations.
    """
    model1, model2 = as_record(model1, "model1"), as_record(model2, "model2")
    check_same_data(model1, model2)
    (m1, m2), _ = ml_fits(model1, model2)
    return float(m1.deviance - m2.deviance)


def likelihood_ratio_test(model1: FittedModel, model2: FittedModel, method: str = "chi2", nsim: int = 1000,
                          seed: int | None = None) -> LikelihoodRatioTest:
    """Test the restricted ``model1`` against ``model2``, in which it is nested."""
    model1, model2 = as_record(model1, "model1"), as_record(model2, "model2")
    if method not in LRT_METHODS:
        raise InvalidArgumentError(f"method must be one of {LRT_METHODS}, got {method!r}")
    check_nested(model1, model2)
    df = model2.n_parameters - model1.n_parameters
    if df <= 0:
        raise ModelError(f"model2 must have more parameters than model1 to test it (got "
                         f"{model1.n_parameters} and {model2.n_parameters}); pass the "
                         "restricted model first")
    (m1, m2), refitted = ml_fits(model1, model2)
    return lrt_of_ml_fits(m1, m2, df, method, nsim, seed, refitted)


def lrt_of_ml_fits(m1: FittedModel, m2: FittedModel, df: int, method: str, nsim: int, seed: int | None,
                   refitted: bool) -> LikelihoodRatioTest:
    """The test itself, for ML fits already checked to be nested."""
    statistic = max(0.0, float(m1.deviance - m2.deviance))
    if method == "chi2":
        p = float(stats.chi2.sf(statistic, df))
        return LikelihoodRatioTest(statistic, df, p, "chi2", None,
                                   (float(m1.deviance), float(m2.deviance)), refitted)
    from mixed_models.inference.bootstrap import bootstrap_lrt_p

    p = float(bootstrap_lrt_p(m1, m2, nsim, seed=seed))
    return LikelihoodRatioTest(statistic, df, p, "bootstrap", nsim,
                               (float(m1.deviance), float(m2.deviance)), refitted)


# --- checks --------------------------------------------------------------------------

def check_same_data(model1: FittedModel, model2: FittedModel) -> None:
    """Refuse models fitted to different observations, weights or offsets."""
    p1, p2 = model1.problem, model2.problem
    if p1.n_obs != p2.n_obs:
        raise ModelError(f"the models were fitted to different data: {p1.n_obs} and "
                         f"{p2.n_obs} observations (missing values in a variable only one "
                         "model uses drop different rows)")
    if not np.allclose(p1.y, p2.y, rtol=1e-12, atol=0):
        raise ModelError("the models were fitted to different responses; a likelihood ratio "
                         "test compares models of the same response")
    for what in ("weights", "offset"):
        a, b = getattr(p1, what), getattr(p2, what)
        if (a is None) != (b is None) or (a is not None and not np.allclose(a, b)):
            raise ModelError(f"the models have different {what}; they are not fitted to the "
                             "same data")


def check_nested(model1: FittedModel, model2: FittedModel) -> None:
    """Refuse unless model1 is nested in model2 (same data, fixed and random parts)."""
    check_same_data(model1, model2)
    if model1.formula is None or model2.formula is None:
        raise ModelError("nesting can only be checked for models fitted from formulas")
    _check_fixed_nested(model1, model2)
    for term in model1.structure.design.random:
        _check_term_nested(term, model2.structure.design.random)


def _outside_span(basis: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Which columns are not in the span of basis (relative to their own norm)."""
    if basis.shape[1] == 0:
        return np.linalg.norm(columns, axis=0) > 0
    coef, *_ = np.linalg.lstsq(basis, columns, rcond=None)
    resid = np.linalg.norm(columns - basis @ coef, axis=0)
    return resid > SPAN_TOL * np.maximum(np.linalg.norm(columns, axis=0), 1.0)


def _check_fixed_nested(model1: FittedModel, model2: FittedModel) -> None:
    outside = _outside_span(model2.problem.x, model1.problem.x)
    if np.any(outside):
        names = [n for n, o in zip(model1.fix_ef_names, outside) if o]
        raise ModelError(f"the models are not nested: model1's fixed effects {names} are not "
                         "in model2's; pass the restricted model first")


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _check_term_nested(term: RandomDesign, others: list[RandomDesign]) -> None:
    match = next((o for o in others if _same_partition(term.codes, o.codes)), None)
    if match is None:
        raise ModelError(f"the models are not nested: model1's random effects for "
                         f"'{term.group}' have no grouping factor with the same levels in "
                         "model2")
    if np.any(_outside_span(match.z, term.z)):
        raise ModelError(f"the models are not nested: model1's random effects {term.columns} "
                         f"for '{term.group}' are not among model2's {match.columns}")
    coef, *_ = np.linalg.lstsq(match.z, term.z, rcond=None)
    allowed = match.covariance.linked()
    linked = term.covariance.linked()
    for a, b in zip(*np.nonzero(linked)):
        e = np.zeros_like(linked, dtype=float)
        e[a, b] = e[b, a] = 1.0
        image = np.abs(coef @ e @ coef.T) > 1e-10
        if np.any(image & ~allowed):
            raise ModelError(
                f"the models are not nested: the covariance of model1's random effects for "
                f"'{term.group}' ({term.columns[a]}, {term.columns[b]}) has no counterpart in "
                f"model2's structure")
