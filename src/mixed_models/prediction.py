"""Prediction on new data, with confidence and prediction intervals; conditional
covariances of the random effects level by level.

New data are turned into X and Z with the specs kept from the fit (the same columns, the
same coding). A grouping level the fit did not see has no conditional mode: its random
effects are predicted by their mean, zero (``new_levels="population"``, lme4's
``allow.new.levels = TRUE``), or refused (``"error"``).

Intervals are normal-theory, fit -/+ z_{(1+level)/2} se, with se^2 the variance of the
prediction error. With random effects it is the joint (conditional) variance of
(beta-hat - beta, b-hat - b), lme4's ``vcov(full = TRUE)``: sigma^2 c' P^{-1} c, where

    P = [ Lambda' Z'WZ Lambda + I    Lambda' Z'WX ]      c = [ Lambda' z ]
        [ X'WZ Lambda                X'WX         ]          [ x         ]

for a row with fixed-effect values x and random-effect values z. An unseen level's
random effects are not informed by the data, so they add their full variance z' Sigma z
(lme4's ``se.fit`` leaves them out). Without random effects (``with_ran_ef=False``) the
confidence interval is for x'beta alone, and the prediction interval adds the variance
of every random effect and the residual (the gem's intervals). Prediction intervals add
sigma^2 / w for the new observation. The uncertainty in theta and sigma is ignored
throughout, as in lme4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from mixed_models.design.evaluation import offset_values
from mixed_models.design.frame import to_pandas
from mixed_models.design.newdata import check_new_data, per_row, unseen_as_error
from mixed_models.errors import (
    DataError,
    InvalidArgumentError,
    ModelError,
    NotFoundError,
)
from mixed_models.results import term_covariances

if TYPE_CHECKING:
    from mixed_models.design import ModelDesign
    from mixed_models.model import LMM

NEW_LEVELS = ("population", "error")
INTERVAL_TYPES = ("confidence", "prediction")
# Right-hand sides solved at once: bounds the dense (q + p) x rows block in memory.
_RHS_ENTRIES = 4_000_000


@dataclass(frozen=True, eq=False)
class NewRows:
    """New data as the model's arrays.

    Attributes
    ----------
    x
        Fixed-effects matrix (rows x p); NaN rows where a predictor is missing.
    codes, z
        Per random-effects term: the level code of each row (-1 for a level the fit
        did not see, or a missing one) and its z values (rows x S).
    missing_level
        Rows whose grouping value is missing in some term.
    offset
        The offset of each row (None without offset).
    index
        The new data's row labels.
    """

    x: np.ndarray
    codes: list[np.ndarray]
    z: list[np.ndarray]
    missing_level: np.ndarray
    offset: np.ndarray | None
    index: pd.Index


def predict(model: LMM, newdata: object = None, with_ran_ef: bool = True,
            new_levels: str = "population", offset: object = None) -> np.ndarray:
    """Predicted responses: X beta (+ Z b with ``with_ran_ef``) + offset.

    Parameters
    ----------
    model
        A fitted model.
    newdata
        A data frame with the predictors (and, with ``with_ran_ef``, the grouping
        columns); None predicts the rows of the fit (``model.fitted``).
    with_ran_ef
        Include the conditional modes of the random effects (lme4's ``re.form = NULL``)
        or not (``re.form = NA``).
    new_levels
        ``"population"``: an unseen grouping level contributes zero; ``"error"``: raise
        NotFoundError naming it.
    offset
        For a model fitted with an offset: the new rows' offset (a column name of
        ``newdata``, an array or a number).

    Returns
    -------
    numpy.ndarray
        One prediction per row; NaN where a predictor or (with ``with_ran_ef``) a
        grouping value is missing.
    """
    _check_new_levels(new_levels)
    if newdata is None:
        return model.fitted(with_ran_ef)
    rows = new_rows(model, newdata, with_ran_ef, new_levels if with_ran_ef else "population",
                    offset)
    return _point(model, rows, with_ran_ef)


def _point(model: LMM, rows: NewRows, with_ran_ef: bool) -> np.ndarray:
    fit = rows.x @ model._estimates.beta
    if rows.offset is not None:
        fit = fit + rows.offset
    if with_ran_ef:
        for codes, z, b in zip(rows.codes, rows.z, model._estimates.b):
            known = codes >= 0
            fit[known] += np.einsum("ns,ns->n", z[known], b[codes[known]])
        fit[rows.missing_level] = np.nan
    return fit


def predict_with_intervals(model: LMM, newdata: object = None, level: float = 0.95,
                           type: str = "confidence", with_ran_ef: bool = True,
                           new_levels: str = "population", weights: object = None,
                           offset: object = None) -> pd.DataFrame:
    """Predictions with confidence or prediction intervals.

    Parameters
    ----------
    model, newdata, with_ran_ef, new_levels, offset
        As in :func:`predict` (``newdata=None``: the rows of the fit, indexed by their
        position in the fitted data frame).
    level
        Coverage of the intervals, between 0 and 1.
    type
        ``"confidence"``: for the mean response of the row (X beta + Z b);
        ``"prediction"``: for a new observation of it.
    weights
        Prediction intervals of a model fitted with prior weights need the new rows'
        weights (residual variance sigma^2 / w): a column name, an array or a number.

    Returns
    -------
    pandas.DataFrame
        ``fit, lower, upper``, indexed as ``newdata``; ``attrs`` holds level and type.
    """
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    if type not in INTERVAL_TYPES:
        raise InvalidArgumentError(f"type must be one of {INTERVAL_TYPES}, got {type!r}")
    _check_new_levels(new_levels)
    rows = _rows_or_fit(model, newdata, with_ran_ef or type == "prediction",
                        new_levels if with_ran_ef else "population", offset)
    fit = _point(model, rows, with_ran_ef)
    if with_ran_ef:
        var = _conditional_variance(model, rows)
    else:
        var = _population_variance(model, rows, marginal=type == "prediction")
    if type == "prediction":
        var = var + model.sigma2 / _new_weights(model, newdata, weights, len(fit))
    half = norm.ppf(0.5 + level / 2) * np.sqrt(var)
    table = pd.DataFrame({"fit": fit, "lower": fit - half, "upper": fit + half},
                         index=rows.index)
    table.attrs.update(level=level, type=type)
    return table


def _rows_or_fit(model: LMM, newdata: object, random: bool, new_levels: str,
                 offset: object) -> NewRows:
    if newdata is not None:
        return new_rows(model, newdata, random, new_levels, offset)
    if model._design is None:
        raise ModelError("intervals for a model built from raw matrices are not available")
    problem = model._problem
    return NewRows(problem.x, [t.codes for t in problem.terms], [t.z for t in problem.terms],
                   np.zeros(problem.n_obs, dtype=bool), problem.offset,
                   pd.Index(model._design.frame.rows))


# --- new data -> arrays -----------------------------------------------------------------

def new_rows(model: LMM, newdata: object, random: bool = True,
             new_levels: str = "population", offset: object = None) -> NewRows:
    """The model's arrays for new data (see :class:`NewRows`); ``random=False`` skips
    the random-effects terms (their codes are then all -1 and z has no columns)."""
    _check_new_levels(new_levels)
    design = model._design
    if design is None:
        raise ModelError("a model built from raw matrices has no formula to evaluate on new "
                         "data; predict(newdata=None) gives its fitted values")
    checked = check_new_data(design, to_pandas(newdata), random)
    data = checked.data
    x = unseen_as_error(design.fixed.for_data, data)
    x[checked.incomplete] = np.nan
    codes, zs, missing = [], [], np.zeros(len(data), dtype=bool)
    for term in design.random:
        term_codes = term.codes_for_data(data) if random else np.full(len(data), -1)
        if random:
            absent = data[list(term.grouping)].isna().any(axis=1).to_numpy()
            missing |= absent
            if new_levels == "error":
                _refuse_new_levels(term.group, term_codes, absent, data, term.grouping)
        codes.append(term_codes)
        zs.append(unseen_as_error(term.z_for_data, data) if random
                  else np.zeros((len(data), 0)))
    return NewRows(x, codes, zs, missing, _new_offset(model, data, offset), data.index)


def _check_new_levels(new_levels: str) -> None:
    if new_levels not in NEW_LEVELS:
        raise InvalidArgumentError(f"new_levels must be one of {NEW_LEVELS}, got {new_levels!r}")


def _refuse_new_levels(group: str, codes: np.ndarray, absent: np.ndarray,
                       data: pd.DataFrame, grouping: tuple[str, ...]) -> None:
    new = np.flatnonzero((codes < 0) & ~absent)
    if len(new) == 0:
        return
    labels = data.iloc[new][list(grouping)].astype(str).agg(":".join, axis=1)
    unique = list(dict.fromkeys(labels))
    raise NotFoundError(
        f"level(s) {unique[:5]}{' ...' if len(unique) > 5 else ''} of grouping factor "
        f"'{group}' were not in the fitted data (rows {[int(i) for i in new[:5]]}); their "
        "random effects have no estimate. Pass new_levels='population' to predict them by "
        "the population value (random effects zero)")


def _new_offset(model: LMM, data: pd.DataFrame, offset: object) -> np.ndarray | None:
    design = model._design
    # offset() terms of the formula are evaluated on the new rows; offset= gives the rest
    in_formula = offset_values(design.parsed.offsets, data, design.parsed.formula)
    if design.given_offset is None and in_formula is not None:
        if offset is not None:
            raise InvalidArgumentError("offset= is only for a model fitted with an offset= "
                                       "argument; the formula's offset() terms are evaluated "
                                       "on the new data")
        return in_formula
    if model._problem.offset is None:
        if offset is not None:
            raise InvalidArgumentError("offset= is only for a model fitted with an offset")
        return None
    if offset is None:
        raise InvalidArgumentError(
            "the model was fitted with an offset; pass the new rows' offset= (a column "
            "name of the new data, an array or a number)")
    given = per_row(offset, data, len(data), "offset")
    return given if in_formula is None else given + in_formula


def _new_weights(model: LMM, newdata: object, weights: object, n: int) -> np.ndarray:
    if weights is not None:
        data = None if newdata is None else to_pandas(newdata)
        w = per_row(weights, data, n, "weights")
        if np.any(w <= 0):
            raise DataError("weights must be positive (they are precisions)")
        return w
    if model._problem.weights is None:
        return np.ones(n)
    if newdata is None:
        return model._problem.weights
    raise InvalidArgumentError(
        "the model was fitted with prior weights: a prediction interval needs the new "
        "observations' weights (their residual variance is sigma^2 / w); pass weights= "
        "(a column name of the new data, an array or a number)")


# --- variance of the prediction error ---------------------------------------------------

def _population_variance(model: LMM, rows: NewRows, marginal: bool) -> np.ndarray:
    """Variance of x'beta-hat, plus every random effect's z' Sigma z when ``marginal``."""
    var = model.sigma2 * _quad(rows.x, model._estimates.beta_cov_unscaled)
    if marginal:
        var = var + sum(_quad(z, cov) for z, cov in zip(rows.z, term_covariances(model)))
    return var


def _conditional_variance(model: LMM, rows: NewRows) -> np.ndarray:
    """Variance of (x'beta-hat + z'b-hat) - (x'beta + z'b), unseen levels included."""
    var = model.sigma2 * joint_quadratic_form(model, rows)
    for codes, z, cov in zip(rows.codes, rows.z, term_covariances(model)):
        unseen = codes < 0
        var[unseen] += _quad(z[unseen], cov)
    var[rows.missing_level] = np.nan
    return var


def _quad(z: np.ndarray, cov: np.ndarray) -> np.ndarray:
    return np.einsum("ns,st,nt->n", z, cov, z)


def joint_quadratic_form(model: LMM, rows: NewRows) -> np.ndarray:
    """c' P^{-1} c for each row (see the module's docstring); unseen levels add nothing."""
    # One BLAS thread: on systems this size OpenBLAS's threads make SuperLU's solves
    # ten times slower (milliseconds for a 60 x 60 system on a 2-core machine).
    with threadpool_limits(limits=1):
        return _joint_quadratic_form(model, rows)


def _joint_quadratic_form(model: LMM, rows: NewRows) -> np.ndarray:
    md = model.model_data
    n, q = md.x.shape[0], md.zt.shape[0]
    w = np.ones(n) if md.weights is None else md.weights
    zl = (md.lambdat @ md.zt).T.tocsr()
    zlw = sp.diags(w) @ zl
    a = (zl.T @ zlw + sp.identity(q)).tocsc()
    b = sp.csc_matrix(zlw.T @ md.x)
    c = sp.csc_matrix(md.x.T @ (w[:, None] * md.x))
    lu = splu(sp.bmat([[a, b], [b.T, c]], format="csc"))
    cu = (md.lambdat @ _z_matrix(rows, model._problem.terms, q).T).tocsc()
    out = np.full(len(rows.x), np.nan)
    finite = np.all(np.isfinite(rows.x), axis=1)
    step = max(1, _RHS_ENTRIES // (q + md.x.shape[1]))
    for start in range(0, len(out), step):
        idx = np.arange(start, min(start + step, len(out)))
        idx = idx[finite[idx]]
        if len(idx) == 0:
            continue
        rhs = np.vstack([cu[:, idx].toarray(), rows.x[idx].T])
        out[idx] = np.einsum("ij,ij->j", rhs, lu.solve(rhs))
    return out


def _z_matrix(rows: NewRows, terms: list, q: int) -> sp.csr_matrix:
    """The new rows' Z (rows x q), columns as the fit's: term by term, level-major."""
    pieces_r, pieces_c, pieces_v = [], [], []
    start = 0
    for codes, z, term in zip(rows.codes, rows.z, terms):
        known = np.flatnonzero(codes >= 0)
        size = term.size
        pieces_r.append(np.repeat(known, size))
        pieces_c.append((start + codes[known][:, None] * size + np.arange(size)).ravel())
        pieces_v.append(z[known].ravel())
        start += term.q
    return sp.csr_matrix((np.concatenate(pieces_v), (np.concatenate(pieces_r),
                                                      np.concatenate(pieces_c))),
                         shape=(len(rows.x), q))


# --- conditional covariance of the random effects, level by level ----------------------

def cond_cov_ran_ef(model: LMM, group: str | None = None) -> pd.DataFrame:
    """Covariance of each level's random effects given the data (lme4's ``condVar``).

    Parameters
    ----------
    model
        A fitted model (built from a formula).
    group
        One grouping factor, or None for all.

    Returns
    -------
    pandas.DataFrame
        A tidy table, one row per (group, level, var1, var2) with every entry of each
        level's S x S block (both triangles): columns ``group, level, var1, var2, cov``.
        ``table.query("level == '308'").pivot(index="var1", columns="var2",
        values="cov")`` gives one block. The diagonal is ``ran_ef_table()``'s
        ``cond_sd`` squared; the blocks are the diagonal blocks of
        ``cond_cov_mat_ran_ef()``, computed without forming that q x q matrix.
    """
    design = model._design
    if design is None:
        raise ModelError("a model built from raw matrices has no grouping levels; use "
                         "cond_cov_mat_ran_ef() for the covariance of its random effects")
    groups = [r.group for r in design.random]
    if group is not None and group not in groups:
        raise NotFoundError(f"no grouping factor {group!r}; the model's are {groups}")
    blocks = model._problem.conditional_covariances(model.theta)
    frames = []
    for term, block in zip(design.random, blocks):
        if group is not None and term.group != group:
            continue
        size = len(term.columns)
        frames.append(pd.DataFrame({
            "group": term.group,
            "level": np.repeat(term.levels, size * size),
            "var1": np.tile(np.repeat(term.columns, size), term.n_levels),
            "var2": np.tile(term.columns, size * term.n_levels),
            "cov": (model.sigma2 * block).ravel(),
        }))
    return pd.concat(frames, ignore_index=True)
