"""Satterthwaite's degrees of freedom for t and F tests of the fixed effects (lmerTest).

For a contrast l, var(l'beta) = l' vcov(beta) l is a function of the variance
parameters; its gradient g and their asymptotic covariance A give the degrees of
freedom 2 var^2 / (g' A g). A multi-row contrast L is decorrelated first
(L vcov(beta) L' = P D P'), each row of P'L gets its own degrees of freedom nu_m, and
the F statistic's denominator degrees of freedom follow from E = sum nu_m / (nu_m - 2)
as 2E / (E - q) (lmerTest's ``contestMD``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.inference.varpar import VarParCovariance, varpar_covariance

RANK_EPS = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class TTest:
    """A test of one linear combination l'beta = 0."""

    estimate: float
    se: float
    df: float
    t_value: float
    p_value: float


@dataclass(frozen=True)
class FTest:
    """A joint test of L beta = 0."""

    f_value: float
    num_df: int
    den_df: float
    p_value: float


def t_test(model: FittedModel, contrast: np.ndarray) -> TTest:
    """Satterthwaite t test of ``contrast @ beta = 0`` (lmerTest's ``contest1D``)."""
    model = as_record(model)
    vp = varpar_covariance(model)
    return _t_test(vp, model.estimates.beta, np.asarray(contrast, dtype=float))


def _t_test(vp: VarParCovariance, beta: np.ndarray, contrast: np.ndarray) -> TTest:
    estimate = float(contrast @ beta)
    var = float(contrast @ vp.vcov_beta @ contrast)
    df = _ddf(vp, contrast, var)
    t = estimate / np.sqrt(var)
    return TTest(estimate, float(np.sqrt(var)), df, float(t), float(2 * stats.t.sf(abs(t), df)))


def _ddf(vp: VarParCovariance, contrast: np.ndarray, var: float) -> float:
    grad = np.einsum("i,ijk,j->k", contrast, vp.jacobian, contrast)
    return float(2.0 * var**2 / (grad @ vp.vcov_varpar @ grad))


def f_test(model: FittedModel, contrasts: np.ndarray) -> FTest:
    """Satterthwaite F test of ``contrasts @ beta = 0`` (lmerTest's ``contestMD``)."""
    model = as_record(model)
    vp = varpar_covariance(model)
    beta = model.estimates.beta
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if contrasts.shape[0] == 1:
        return _from_t(_t_test(vp, beta, contrasts[0]))
    values, vectors = np.linalg.eigh(contrasts @ vp.vcov_beta @ contrasts.T)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > max(RANK_EPS * values[0], 0.0)
    q = int(keep.sum())
    rotated = (vectors.T @ contrasts)[:q]
    if q == 1:
        return _from_t(_t_test(vp, beta, rotated[0]))
    f_value = float(np.sum((rotated @ beta) ** 2 / values[:q]) / q)
    nu = np.array([_ddf(vp, row, d) for row, d in zip(rotated, values[:q])])
    den = f_denominator_df(nu)
    return FTest(f_value, q, den, float(stats.f.sf(f_value, q, den)))


def _from_t(t: TTest) -> FTest:
    f_value = t.t_value**2
    return FTest(f_value, 1, t.df, float(stats.f.sf(f_value, 1, t.df)))


def f_denominator_df(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of an F statistic from the df of its q independent t statistics."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2)))
    return 2 * e / (e - len(nu))
