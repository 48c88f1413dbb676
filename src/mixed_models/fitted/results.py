"""The gem's values and tables of a fitted model, as free functions over a
:class:`~mixed_models.fitted.record.FittedModel`: estimates by name, variance
components, conditional modes with their conditional SDs, fitted values, residuals.

Each returns data (dicts, arrays, DataFrames); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.core.lazy import lazy_module
from mixed_models.core.convergence import Derivatives
from mixed_models.errors import ModelError
from mixed_models.fitted.checks import convergence_check as _derivatives
from mixed_models.fitted.record import FittedModel

MAX_DENSE_Q = 10_000

sp = lazy_module("scipy.sparse")


def fix_ef(fit: FittedModel) -> dict[str, float]:
    """Fixed-effects estimates by name."""
    return dict(zip(fit.fix_ef_names, map(float, fit.estimates.beta)))


def ran_ef(fit: FittedModel) -> dict[str, float]:
    """Conditional modes of the random effects (BLUPs) by name."""
    values = np.concatenate([b.ravel() for b in fit.estimates.b])
    return dict(zip(fit.ran_ef_names, map(float, values)))


def fix_ef_cov(fit: FittedModel) -> np.ndarray:
    """Covariance matrix of the fixed-effects estimates (an array)."""
    return fit.sigma2 * fit.estimates.beta_cov_unscaled


def fix_ef_cov_mat(fit: FittedModel) -> pd.DataFrame:
    """Covariance matrix of the fixed-effects estimates, labelled."""
    names = fit.fix_ef_names
    return pd.DataFrame(fix_ef_cov(fit), index=names, columns=names)


def term_covariances(fit: FittedModel) -> list[np.ndarray]:
    """sigma^2 lambda lambda' of each term: the covariance of one level's effects."""
    lams = fit.problem.factor.lambdas(fit.theta)
    return [fit.sigma2 * lam @ lam.T for lam in lams]


def sigma_mat(fit: FittedModel, fill: float = 0.0) -> pd.DataFrame:
    """Block-diagonal covariance of the random effects of one level per factor;
    ``fill`` between factors."""
    blocks = term_covariances(fit)
    labels = [lab for block in fit.structure.blocks() for lab in block.labels]
    out = np.full((len(labels), len(labels)), fill)
    start = 0
    for block in blocks:
        k = block.shape[0]
        out[start:start + k, start:start + k] = block
        start += k
    return pd.DataFrame(out, index=labels, columns=labels)


def ran_ef_summary(fit: FittedModel) -> pd.DataFrame:
    """SDs on the diagonal, correlations off it; NaN between grouping factors."""
    cov = sigma_mat(fit, fill=np.nan)
    values = cov.to_numpy()
    sd = np.sqrt(np.diag(values))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = values / np.outer(sd, sd)
    np.fill_diagonal(corr, sd)
    return pd.DataFrame(corr, index=cov.index, columns=cov.columns)


def var_corr(fit: FittedModel) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))``: variances, then covariances, then residual.

    Structured terms are reported on the natural scale of the covariance they imply: a
    ``cs`` term lists its variances and, for every pair of columns, the covariance and
    the common correlation rho; an ``ar1`` term lists rho^|i-j| for columns i and j (so
    rho itself for neighbouring columns). A model built from raw matrices lists the
    variance of each random effect (its full covariance is ``sigma_mat``).
    """
    rows = []
    for block, cov in zip(fit.structure.blocks(), term_covariances(fit)):
        sd = np.sqrt(np.diag(cov))
        columns = block.columns
        for i, name in enumerate(columns):
            rows.append((block.group, name, None, cov[i, i], sd[i]))
        for i in range(len(columns)):
            for j in range(i + 1, len(columns)):
                if block.linked[i, j]:
                    denom = sd[i] * sd[j]
                    rows.append((block.group, columns[i], columns[j], cov[i, j],
                                 cov[i, j] / denom if denom > 0 else np.nan))
    rows.append(("Residual", None, None, fit.sigma2, fit.sigma))
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])


def conditional_sds(fit: FittedModel) -> list[np.ndarray]:
    """Per term, (levels, S) conditional SDs of the random effects (lme4's condVar)."""
    blocks = fit.problem.conditional_covariances(fit.theta)
    return [np.sqrt(fit.sigma2 * np.diagonal(b, axis1=1, axis2=2)) for b in blocks]


def ran_ef_table(fit: FittedModel) -> pd.DataFrame:
    """Tidy conditional modes: ``group, level, term, value, cond_sd``."""
    return fit.structure.ran_ef_frame(fit.estimates.b, conditional_sds(fit))


def cond_cov_mat_ran_ef(fit: FittedModel) -> pd.DataFrame:
    """sigma^2 Lambda (Lambda' Z'WZ Lambda + I)^{-1} Lambda', labelled by ``ran_ef_names``."""
    names = fit.ran_ef_names
    if len(names) > MAX_DENSE_Q:
        raise ModelError(
            f"the model has {len(names)} random effects; a dense {len(names)} x {len(names)} "
            f"conditional covariance matrix is refused above {MAX_DENSE_Q}. Use "
            "ran_ef_table() for conditional SDs.")
    cov = fit.sigma2 * fit.problem.conditional_covariance_matrix(fit.theta)
    return pd.DataFrame(cov, index=names, columns=names)


def fix_ef_summary(fit: FittedModel) -> pd.DataFrame:
    """The gem's Wald z table of the fixed effects."""
    from scipy.stats import norm

    coef = fit.estimates.beta
    sd = np.sqrt(np.diag(fix_ef_cov(fit)))
    z = coef / sd
    return pd.DataFrame({"coef": coef, "sd": sd, "z_score": z,
                         "WaldZ_p_value": 2.0 * norm.sf(np.abs(z))},
                        index=pd.Index(fit.fix_ef_names))


def fitted_values(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """X beta (+ Z b) plus any offset, one per observation used."""
    fit.structure.require_rows("fitted values")
    problem = fit.problem
    out = problem.x @ fit.estimates.beta
    if problem.offset is not None:
        out = out + problem.offset
    if with_ran_ef:
        out = out + problem.random_part(fit.estimates.b)
    return out


def fitted(fit: FittedModel, with_ran_ef: bool = True) -> np.ndarray:
    """Fitted values, one per input row (NaN for dropped rows) under
    ``na_action="exclude"``."""
    lazy = fit.structure.lazy_rows(fit.estimates.beta, fit.estimates.b, "fitted", with_ran_ef)
    return fit.structure.align(fitted_values(fit, with_ran_ef)) if lazy is None else lazy


def residuals(fit: FittedModel) -> np.ndarray:
    """Response minus fitted values (with random effects), aligned as :func:`fitted`."""
    lazy = fit.structure.lazy_rows(fit.estimates.beta, fit.estimates.b, "residual", True)
    return fit.structure.align(fit.problem.y - fitted_values(fit, True)) \
        if lazy is None else lazy


def per_row(fit: FittedModel, values: object, name: str) -> object:
    """Per-row values (from :func:`fitted` or :func:`residuals`) as a pandas Series
    labelled by the input frame's index: the kept rows' labels under
    ``na_action="drop"``, every row's (NaN where dropped) under ``"exclude"``, 0..n-1 for
    polars input or raw matrices. Lazy values of a streamed model pass through."""
    if not isinstance(values, np.ndarray):
        return values
    return pd.Series(values, index=fit.structure.row_labels(), name=name)


@dataclass(frozen=True, eq=False)
class FitRows:
    """Per observation used in the fit: response, fitted values, residuals.

    ``pearson`` is ``sqrt(weight) * (observed - fitted)`` (the plain residual without
    weights) and ``scaled`` is ``pearson / sigma``. Rows dropped for missing values are
    not included, whatever the model's ``na_action``.
    """

    observed: np.ndarray
    fitted: np.ndarray
    pearson: np.ndarray
    scaled: np.ndarray


def fit_rows(fit: FittedModel) -> FitRows:
    """The :class:`FitRows` of a fitted model."""
    problem = fit.problem
    fitted = fitted_values(fit, True)
    pearson = problem.y - fitted
    if problem.weights is not None:
        pearson = np.sqrt(problem.weights) * pearson
    return FitRows(problem.y, fitted, pearson, pearson / fit.sigma)


def convergence_check(fit: FittedModel) -> Derivatives:
    """Finite-difference gradient and Hessian of the objective at the estimate, and the
    Newton decrement, in the internal centred and scaled columns."""
    return _derivatives(fit.problem, fit.theta)


def dev_fun(fit: FittedModel) -> Callable[[np.ndarray], float]:
    """theta -> the model's objective (REML criterion or ML deviance)."""
    return fit.problem.detached_objective()


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


def model_data(fit: FittedModel) -> ModelData:
    """Assemble :class:`ModelData` (Zt is sparse: n x (sum of S) nonzeros)."""
    fit.structure.require_rows("model_data")
    problem = fit.problem
    if "model_data" not in fit.memo:
        fit.memo["model_data"] = ModelData(
            problem.x, problem.y, problem.sparse_zt(), problem.sparse_lambdat(fit.theta),
            problem.weights, problem.offset, fit.fix_ef_names, fit.ran_ef_names)
    return fit.memo["model_data"]
