"""Predictions of a generalized linear mixed model on the link or the response scale,
with confidence intervals.

The link-scale prediction is the LMM's: x'beta (+ z'b with the conditional modes) plus
the offset, new data turned into X and Z with the fit's specs, an unseen grouping level
predicted by its random effects' mean, zero (``new_levels="population"``) or refused
(``"error"``). ``type="response"`` maps it through the inverse link.

Intervals are computed on the link scale, fit -/+ z_{(1+level)/2} se, and their ends
mapped through the inverse link (monotone, so the coverage carries over; for a
decreasing link such as the inverse the ends are swapped). Without random effects se^2
is x' V x with V the Wald covariance of beta. With them it is the conditional variance
of (x'beta-hat + z'b-hat) - (x'beta + z'b) at the modes, sigma^2 c' P^{-1} c with

    P = [ Lambda' Z'WZ Lambda + I    Lambda' Z'WX ]      c = [ Lambda' z ]
        [ X'WZ Lambda                X'WX         ]          [ x         ]

and W the IRLS weights at the conditional modes (the Laplace approximation's curvature),
plus z' Sigma z for the random effects of an unseen level. sigma^2 is lme4's
``sigma()^2`` (1 for binomial, Poisson and negative binomial). The uncertainty in theta
is ignored, as in lme4. A prediction interval for a new observation is not given: the
response is discrete or skewed, so the mean's interval plus a variance would misstate it
(simulate from the model instead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import term_covariances
from mixed_models.prediction.predict import linear_point, predict, rows_or_fit
from mixed_models.prediction.rows import NewRows, check_new_levels
from mixed_models.prediction.variance import population_variance

SCALES = ("link", "response")


def _generalized(fit: object) -> FittedModel:
    record = as_record(fit)
    if not record.is_generalized:
        raise ModelError("glmm_predict is for generalized linear mixed models; an LMM's "
                         "predictions: mixed_models.prediction.predict")
    return record


def _check_scale(type: object) -> str:
    if type not in SCALES:
        raise InvalidArgumentError(f"type must be one of {SCALES}, got {type!r}")
    return str(type)


def glmm_predict(fit: FittedModel, newdata: object = None, type: str = "link",
                 with_ran_ef: bool = True, new_levels: str = "population",
                 offset: object = None) -> np.ndarray:
    """Predictions of a GLMM on the link scale (eta) or the response scale (the mean).

    Parameters
    ----------
    fit
        A fitted GLMM (or its record).
    newdata
        A data frame with the predictors (and the grouping columns with
        ``with_ran_ef``); None predicts the rows of the fit.
    type
        ``"link"`` or ``"response"`` (the inverse link of the link-scale prediction; for
        the binomial a probability).
    with_ran_ef, new_levels, offset
        As in :func:`mixed_models.prediction.predict`.

    Returns
    -------
    numpy.ndarray
        One prediction per row (NaN where a predictor or grouping value is missing).
    """
    record = _generalized(fit)
    scale = _check_scale(type)
    eta = predict(record, newdata, with_ran_ef, new_levels, offset)
    return eta if scale == "link" else _inverse(record, eta)


def _inverse(record: FittedModel, eta: np.ndarray) -> np.ndarray:
    out = np.full(eta.shape, np.nan)
    ok = np.isfinite(eta)
    out[ok] = record.family.link.inverse(eta[ok])
    return out


def glmm_predict_with_intervals(fit: FittedModel, newdata: object = None,
                                level: float = 0.95, type: str = "link",
                                with_ran_ef: bool = True, new_levels: str = "population",
                                offset: object = None) -> pd.DataFrame:
    """Predictions with confidence intervals, on the link or the response scale.

    Parameters
    ----------
    fit, newdata, type, with_ran_ef, new_levels, offset
        As in :func:`glmm_predict`.
    level
        Coverage, between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        ``fit, se_link, lower, upper`` indexed as ``newdata`` (the fitted data's rows
        when None); ``se_link`` is the link-scale standard error; ``attrs`` holds
        level and type.
    """
    from scipy.stats import norm

    record = _generalized(fit)
    scale = _check_scale(type)
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    check_new_levels(new_levels)
    rows = rows_or_fit(record, newdata, with_ran_ef,
                       new_levels if with_ran_ef else "population", offset)
    eta = linear_point(record, rows, with_ran_ef)
    var = link_variance(record, rows) if with_ran_ef \
        else population_variance(record, rows, marginal=False)
    se = np.sqrt(var)
    half = norm.ppf(0.5 + level / 2) * se
    lower, upper = eta - half, eta + half
    if scale == "response":
        eta, lower, upper = (_inverse(record, v) for v in (eta, lower, upper))
        lower, upper = np.fmin(lower, upper), np.fmax(lower, upper)
    table = pd.DataFrame({"fit": eta, "se_link": se, "lower": lower, "upper": upper},
                         index=rows.index)
    table.attrs.update(level=level, type=scale)
    return table


def link_variance(record: FittedModel, rows: NewRows) -> np.ndarray:
    """Conditional variance of the link-scale prediction error of each row (see the
    module's docstring), unseen levels' random effects included."""
    var = record.sigma2 * _joint_quadratic_form(record, rows)
    for codes, z, cov in zip(rows.codes, rows.z, term_covariances(record)):
        unseen = codes < 0
        var[unseen] += np.einsum("ns,st,nt->n", z[unseen], cov, z[unseen])
    var[rows.missing_level] = np.nan
    return var


def _joint_quadratic_form(record: FittedModel, rows: NewRows) -> np.ndarray:
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    problem = record.problem
    x = problem.x
    q = sum(t.q for t in problem.terms)
    w = problem.irls_weights()
    lambdat = problem.sparse_lambdat(record.theta)
    zl = (lambdat @ problem.sparse_zt()).T.tocsr()
    zlw = sp.diags(w) @ zl
    a = (zl.T @ zlw + sp.identity(q)).tocsc()
    b = sp.csc_matrix(zlw.T @ x)
    c = sp.csc_matrix(x.T @ (w[:, None] * x))
    lu = splu(sp.bmat([[a, b], [b.T, c]], format="csc"))
    cu = (lambdat @ _z_matrix(rows, problem.terms, q).T).toarray()
    out = np.full(len(rows.x), np.nan)
    finite = np.all(np.isfinite(rows.x), axis=1)
    rhs = np.vstack([cu[:, finite], rows.x[finite].T])
    out[finite] = np.einsum("ij,ij->j", rhs, lu.solve(rhs))
    return out


def _z_matrix(rows: NewRows, terms: list, q: int):
    """The rows' Z (rows x q) in the fit's column order: term by term, level-major."""
    import scipy.sparse as sp

    r, c, v = [], [], []
    start = 0
    for codes, z, term in zip(rows.codes, rows.z, terms):
        known = np.flatnonzero(codes >= 0)
        r.append(np.repeat(known, term.size))
        c.append((start + codes[known][:, None] * term.size + np.arange(term.size)).ravel())
        v.append(z[known].ravel())
        start += term.q
    return sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
                         shape=(len(rows.x), q))
