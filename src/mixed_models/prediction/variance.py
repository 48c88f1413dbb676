"""The variance of the prediction error of new rows.

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

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from threadpoolctl import threadpool_limits

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import model_data, term_covariances
from mixed_models.prediction.rows import NewRows

# Right-hand sides solved at once: bounds the dense (q + p) x rows block in memory.
_RHS_ENTRIES = 4_000_000


def population_variance(fit: FittedModel, rows: NewRows, marginal: bool) -> np.ndarray:
    """Variance of x'beta-hat, plus every random effect's z' Sigma z when ``marginal``."""
    var = fit.sigma2 * _quad(rows.x, fit.estimates.beta_cov_unscaled)
    if marginal:
        var = var + sum(_quad(z, cov) for z, cov in zip(rows.z, term_covariances(fit)))
    return var


def conditional_variance(fit: FittedModel, rows: NewRows) -> np.ndarray:
    """Variance of (x'beta-hat + z'b-hat) - (x'beta + z'b), unseen levels included."""
    var = fit.sigma2 * joint_quadratic_form(fit, rows)
    for codes, z, cov in zip(rows.codes, rows.z, term_covariances(fit)):
        unseen = codes < 0
        var[unseen] += _quad(z[unseen], cov)
    var[rows.missing_level] = np.nan
    return var


def _quad(z: np.ndarray, cov: np.ndarray) -> np.ndarray:
    return np.einsum("ns,st,nt->n", z, cov, z)


def joint_quadratic_form(fit: FittedModel, rows: NewRows) -> np.ndarray:
    """c' P^{-1} c for each row (see the module's docstring); unseen levels add nothing."""
    # One BLAS thread: on systems this size OpenBLAS's threads make SuperLU's solves
    # ten times slower (milliseconds for a 60 x 60 system on a 2-core machine).
    with threadpool_limits(limits=1):
        return _joint_quadratic_form(as_record(fit), rows)


def _joint_quadratic_form(fit: FittedModel, rows: NewRows) -> np.ndarray:
    md = model_data(fit)
    n, q = md.x.shape[0], md.zt.shape[0]
    w = np.ones(n) if md.weights is None else md.weights
    zl = (md.lambdat @ md.zt).T.tocsr()
    zlw = sp.diags(w) @ zl
    a = (zl.T @ zlw + sp.identity(q)).tocsc()
    b = sp.csc_matrix(zlw.T @ md.x)
    c = sp.csc_matrix(md.x.T @ (w[:, None] * md.x))
    lu = splu(sp.bmat([[a, b], [b.T, c]], format="csc"))
    cu = (md.lambdat @ _z_matrix(rows, fit.problem.terms, q).T).tocsc()
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


