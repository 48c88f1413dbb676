"""Tables and derived values of a fitted model: fixed-effects table, variance
components, conditional modes with their conditional SDs.

Each function takes a fitted :class:`~mixed_models.model.LMM` and returns data (a
DataFrame or arrays); nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import norm

from mixed_models.core.solve import random_effects_precision
from mixed_models.errors import ModelError

if TYPE_CHECKING:
    from mixed_models.design.random import RandomDesign
    from mixed_models.model import LMM

MAX_DENSE_Q = 10_000


def ran_ef_keys(random: list[RandomDesign]) -> list[str]:
    """Keys of ``ran_ef``: ``<column>_<level>`` (``intercept_Asylum``, ``Age_Asylum``).

    When two grouping factors share a level label these keys would clash; every key
    then names its grouping factor too: ``<column>_<group>_<level>``.
    """
    plain = [f"{col}_{lvl}" for r in random for lvl in r.levels for col in r.columns]
    if len(set(plain)) == len(plain):
        return plain
    return [f"{col}_{r.group}_{lvl}" for r in random for lvl in r.levels for col in r.columns]


def summary_label(group: str, column: str) -> str:
    """The gem's label of a random effect in summaries: ``g`` or ``g_x``."""
    return group if column == "intercept" else f"{group}_{column}"


def term_covariances(model: LMM) -> list[np.ndarray]:
    """sigma^2 lambda lambda' of each term: the covariance of one level's effects."""
    lams = model._problem.factor.lambdas(model.theta)
    return [model.sigma2 * lam @ lam.T for lam in lams]


def _labels(model: LMM) -> list[list[str]]:
    if model._design is None:  # raw matrices: one block, labelled by Z's columns
        return [model.ran_ef_names]
    return [[summary_label(r.group, c) for c in r.columns] for r in model._design.random]


def sigma_mat(model: LMM, fill: float) -> pd.DataFrame:
    """Block-diagonal covariance of the random effects of one level per factor."""
    blocks = term_covariances(model)
    labels = [lab for term in _labels(model) for lab in term]
    out = np.full((len(labels), len(labels)), fill)
    start = 0
    for block in blocks:
        k = block.shape[0]
        out[start:start + k, start:start + k] = block
        start += k
    return pd.DataFrame(out, index=labels, columns=labels)


def ran_ef_summary(model: LMM) -> pd.DataFrame:
    """SDs on the diagonal, correlations off it; NaN between grouping factors."""
    cov = sigma_mat(model, fill=np.nan)
    values = cov.to_numpy()
    sd = np.sqrt(np.diag(values))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = values / np.outer(sd, sd)
    np.fill_diagonal(corr, sd)
    return pd.DataFrame(corr, index=cov.index, columns=cov.columns)


def var_corr(model: LMM) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))``: variances, then covariances, then residual.

    Structured terms are reported on the natural scale of the covariance they imply: a
    ``cs`` term lists its variances and, for every pair of columns, the covariance and
    the common correlation rho; an ``ar1`` term lists rho^|i-j| for columns i and j (so
    rho itself for neighbouring columns). A model built from raw matrices lists the
    variance of each random effect (its full covariance is ``sigma_mat``).
    """
    if model._design is None:
        from mixed_models.constructors import raw_var_corr

        return raw_var_corr(model)
    rows = []
    for r, cov in zip(model._design.random, term_covariances(model)):
        sd = np.sqrt(np.diag(cov))
        for i, name in enumerate(r.columns):
            rows.append((r.group, name, None, cov[i, i], sd[i]))
        linked = r.covariance.linked()
        for i in range(len(r.columns)):
            for j in range(i + 1, len(r.columns)):
                if linked[i, j]:
                    denom = sd[i] * sd[j]
                    rows.append((r.group, r.columns[i], r.columns[j], cov[i, j],
                                 cov[i, j] / denom if denom > 0 else np.nan))
    rows.append(("Residual", None, None, model.sigma2, model.sigma))
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])


def conditional_sds(model: LMM) -> list[np.ndarray]:
    """Per term, (levels, S) conditional SDs of the random effects (lme4's condVar)."""
    blocks = model._problem.conditional_covariances(model.theta)
    return [np.sqrt(model.sigma2 * np.diagonal(b, axis1=1, axis2=2)) for b in blocks]


def ran_ef_table(model: LMM) -> pd.DataFrame:
    """One row per (grouping factor, level, column): value and conditional SD."""
    if model._design is None:
        from mixed_models.constructors import raw_ran_ef_table

        return raw_ran_ef_table(model)
    frames = []
    for r, b, sd in zip(model._design.random, model._estimates.b, conditional_sds(model)):
        frames.append(pd.DataFrame({
            "group": r.group,
            "level": np.repeat(r.levels, len(r.columns)),
            "term": np.tile(r.columns, r.n_levels),
            "value": b.ravel(),
            "cond_sd": sd.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def cond_cov_mat_ran_ef(model: LMM) -> pd.DataFrame:
    """sigma^2 Lambda (Lambda' Z'WZ Lambda + I)^{-1} Lambda', labelled by ``ran_ef_names``."""
    q = len(model.ran_ef_names)
    if q > MAX_DENSE_Q:
        raise ModelError(
            f"the model has {q} random effects; a dense {q} x {q} conditional covariance "
            f"matrix is refused above {MAX_DENSE_Q}. Use ran_ef_table() for conditional SDs."
        )
    problem = model._problem
    if model._design is None:  # raw matrices: the problem's single block is the matrix
        cov = model.sigma2 * problem.conditional_covariances(model.theta)[0][0]
        return pd.DataFrame(cov, index=model.ran_ef_names, columns=model.ran_ef_names)
    problem.factor.update(model.theta)
    omega, lam = random_effects_precision(problem.factor, model.theta)
    cov = model.sigma2 * lam @ np.linalg.solve(omega, lam.T)
    return pd.DataFrame(cov, index=model.ran_ef_names, columns=model.ran_ef_names)


def fix_ef_summary(model: LMM) -> pd.DataFrame:
    """The gem's Wald z table of the fixed effects."""
    coef = model._estimates.beta
    sd = np.sqrt(np.diag(model.fix_ef_cov_mat.to_numpy()))
    z = coef / sd
    return pd.DataFrame({"coef": coef, "sd": sd, "z_score": z,
                         "WaldZ_p_value": 2.0 * norm.sf(np.abs(z))},
                        index=pd.Index(model.fix_ef_names))


@dataclass(frozen=True, eq=False)
class ModelData:
    """The model's matrices (as the gem's ``model_data``).

    Attributes
    ----------
    x
        n x p fixed-effects matrix (full rank).
    y
        Response.
    zt
        q x n sparse transpose of the random-effects matrix, columns of Z in
        ``ran_ef_names`` order.
    lambdat
        q x q sparse transpose of the relative covariance factor at the estimate.
    weights, offset
        Prior weights and offset (None when not given).
    x_col_names, z_col_names
        Column labels of X and Z.
    """

    x: np.ndarray
    y: np.ndarray
    zt: sp.csr_matrix
    lambdat: sp.csr_matrix
    weights: np.ndarray | None
    offset: np.ndarray | None
    x_col_names: list[str]
    z_col_names: list[str]


def model_data(model: LMM) -> ModelData:
    """Assemble :class:`ModelData` (Zt is sparse: n x (sum of S) nonzeros)."""
    problem = model._problem
    if model._design is None:  # raw matrices: the user's Zt and Lambda'
        lambdat = sp.csr_matrix(problem.factor.lambdat_at(model.theta))
        return ModelData(problem.x, problem.y, problem.zt, lambdat, problem.weights,
                         problem.offset, model.fix_ef_names, model.ran_ef_names)
    lams = problem.factor.lambdas(model.theta)
    blocks = []
    for term in problem.terms:
        n, size = term.z.shape
        rows = (term.codes[:, None] * size + np.arange(size)).ravel()
        cols = np.repeat(np.arange(n), size)
        blocks.append(sp.csr_matrix((term.z.ravel(), (rows, cols)), shape=(term.q, n)))
    zt = sp.vstack(blocks).tocsr()
    lambdat = sp.block_diag([sp.kron(sp.identity(t.n_levels), lam.T)
                             for t, lam in zip(problem.terms, lams)]).tocsr()
    return ModelData(problem.x, problem.y, zt, lambdat, problem.weights, problem.offset,
                     model.fix_ef_names, model.ran_ef_names)
