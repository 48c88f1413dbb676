"""Kenward-Roger adjusted covariance of beta and degrees of freedom (as pbkrtest).

The covariance of y is Sigma = sum_r gamma_r G_r, linear in the variance-covariance
parameters gamma (each free entry of each term's covariance matrix, then sigma^2), with
G_r = Z E_r Z' for a random-effects entry and G = I for the residual (in the
weighted space, i.e. W^-1 in the original one). pbkrtest forms these n x n matrices;
here every trace and product is reduced to q x q algebra with
sigma^2 Sigma^-1 = M = I - Z K Z', K = Lambda (Lambda'Z'Z Lambda + I)^-1 Lambda', so the
cost is O(q^3) and nothing of size n x n is formed. Dense q x q matrices are still
needed, so models with more than MAX_RANDOM_EFFECTS random effects are refused.

pbkrtest ignores prior weights in Sigma (it uses the identity for the residual); we use
the weighted model, so for weighted fits the results differ from pbkrtest's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg, stats

from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import ModelError
from mixed_models.inference.satterthwaite import FTest, TTest
from mixed_models.inference.varpar import cached

MAX_RANDOM_EFFECTS = 2000


@dataclass(frozen=True, eq=False)
class KenwardRoger:
    """The adjusted covariance of beta and what the degrees of freedom need.

    Attributes
    ----------
    vcov
        Unadjusted vcov(beta) (Phi).
    vcov_adjusted
        Kenward-Roger's adjusted covariance (PhiA).
    p_matrices
        P_r = -X' Sigma^-1 G_r Sigma^-1 X for each variance parameter.
    w
        Twice the inverse expected information of the variance parameters.
    """

    vcov: np.ndarray
    vcov_adjusted: np.ndarray
    p_matrices: list[np.ndarray]
    w: np.ndarray


def kenward_roger(model: FittedModel) -> KenwardRoger:
    """The Kenward-Roger adjustment of a REML fit (cached on the model)."""
    model = as_record(model)
    if not model.reml:
        raise ModelError("Kenward-Roger's method is defined for REML fits and this model was "
                         "fitted by ML; refit with reml=True or use ddf='satterthwaite'")
    if model.problem.sigma is not None:
        raise ModelError("Kenward-Roger's method estimates the residual variance; this model "
                         "holds sigma fixed: use ddf='satterthwaite'")
    if not model.problem.has_terms:
        raise ModelError("Kenward-Roger's method is not available for a model built from "
                         "raw matrices (not yet); use ddf='satterthwaite'")
    q = len(model.ran_ef_names)
    if q > MAX_RANDOM_EFFECTS:
        raise ModelError(
            f"Kenward-Roger needs dense q x q matrices and this model has q = {q} random "
            f"effects, above the limit of {MAX_RANDOM_EFFECTS}; use ddf='satterthwaite'")
    return cached(model, "kenward_roger", _compute)


@dataclass(frozen=True, eq=False)
class _Moments:
    """Cross-products of Z and X under powers of M (all divided by nothing: sigma-free)."""

    f: np.ndarray    # Z'MZ
    f2: np.ndarray   # Z'M^2Z
    h: np.ndarray    # Z'MX
    h2: np.ndarray   # Z'M^2X
    j2: np.ndarray   # X'M^2X
    j3: np.ndarray   # X'M^3X
    tr_m2: float     # tr(M^2)


def _moments(model: FittedModel) -> _Moments:
    data = results.model_data(model)
    sqrt_w = None if data.weights is None else np.sqrt(data.weights)
    zt = data.zt if sqrt_w is None else data.zt @ sp.diags(sqrt_w)
    x = data.x if sqrt_w is None else data.x * sqrt_w[:, None]
    a = (zt @ zt.T).toarray()
    b = np.asarray(zt @ x)
    lam = data.lambdat.T.toarray()
    omega = lam.T @ a @ lam + np.eye(len(a))
    k = lam @ linalg.cho_solve(linalg.cho_factor(omega, lower=True), lam.T)
    ka = k @ a
    f = a - a @ ka
    h = b - a @ (k @ b)
    j = x.T @ x - b.T @ k @ b
    kb = k @ b
    h2 = h - f @ kb
    j2 = j - h.T @ kb
    return _Moments(f=f, f2=f - f @ ka, h=h, h2=h2, j2=j2, j3=j2 - h2.T @ kb,
                    tr_m2=float(len(x) - 2 * np.trace(ka) + np.sum(ka * ka.T)))


def _parameter_entries(model: FittedModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, cols) of the nonzero entries of each E_r, in the model's q order."""
    out = []
    start = 0
    for term in model.problem.terms:
        cov = term.covariance
        base = start + np.arange(term.n_levels) * term.size
        for r, c in zip(cov.rows, cov.cols):
            ir, ic = base + r, base + c
            out.append((ir, ic) if r == c else (np.concatenate([ir, ic]), np.concatenate([ic, ir])))
        start += term.q
    return out


def _derivative_terms(model: FittedModel, mo: _Moments) -> tuple[
        list[np.ndarray], dict[tuple[int, int], np.ndarray], np.ndarray]:
    """pbkrtest's P_r, Q_rs (r <= s) and tr(Sigma^-1 G_r Sigma^-1 G_s), the residual
    variance last."""
    s = model.sigma2
    entries = _parameter_entries(model)
    n_random = len(entries)
    # T_r = E_r H: the rows v_r of H placed at rows u_r
    t_rows = [mo.h[v] for _, v in entries]
    p_mats = [-(mo.h[u].T @ t) / s**2 for (u, _), t in zip(entries, t_rows)]
    p_mats.append(-mo.j2 / s**2)
    q_mats: dict[tuple[int, int], np.ndarray] = {}
    ktrace = np.zeros((n_random + 1, n_random + 1))
    for i, (ui, vi) in enumerate(entries):
        for jj in range(i, n_random):
            uj, vj = entries[jj]
            q_mats[i, jj] = t_rows[i].T @ mo.f[np.ix_(ui, uj)] @ t_rows[jj] / s**3
            ktrace[i, jj] = ktrace[jj, i] = np.sum(
                mo.f[np.ix_(vi, uj)] * mo.f[np.ix_(vj, ui)].T) / s**2
        q_mats[i, n_random] = t_rows[i].T @ mo.h2[ui] / s**3
        ktrace[i, n_random] = ktrace[n_random, i] = np.sum(mo.f2[vi, ui]) / s**2
    q_mats[n_random, n_random] = mo.j3 / s**3
    ktrace[n_random, n_random] = mo.tr_m2 / s**2
    return p_mats, q_mats, ktrace


def _compute(model: FittedModel) -> KenwardRoger:
    p_mats, q_mats, ktrace = _derivative_terms(model, _moments(model))
    phi = results.fix_ef_cov(model)
    n_par = len(p_mats)
    info = np.zeros((n_par, n_par))
    for i in range(n_par):
        phi_p = phi @ p_mats[i]
        for jj in range(i, n_par):
            info[i, jj] = info[jj, i] = (ktrace[i, jj] - 2 * np.sum(phi * q_mats[i, jj])
                                         + np.sum(phi_p * (p_mats[jj] @ phi)))
    w = 2 * (np.linalg.inv(info) if np.min(np.abs(np.linalg.eigvalsh(info))) > 1e-10
             else np.linalg.pinv(info))
    u = np.zeros_like(phi)
    for i in range(n_par):
        for jj in range(i + 1, n_par):
            u += w[i, jj] * (q_mats[i, jj] - p_mats[i] @ phi @ p_mats[jj])
    u = u + u.T
    for i in range(n_par):
        u += w[i, i] * (q_mats[i, i] - p_mats[i] @ phi @ p_mats[i])
    return KenwardRoger(phi, phi + 2 * phi @ u @ phi, p_mats, w)


@dataclass(frozen=True)
class _Adjust:
    ddf: float
    f_scaling: float


def _adjust(kr: KenwardRoger, contrasts: np.ndarray) -> _Adjust:
    """pbkrtest's degrees of freedom and F scaling for the hypothesis L beta = 0."""
    phi = kr.vcov
    theta = contrasts.T @ np.linalg.solve(contrasts @ phi @ contrasts.T, contrasts)
    u_list = [theta @ phi @ p @ phi for p in kr.p_matrices]
    a1 = a2 = 0.0
    n = len(u_list)
    for i in range(n):
        for j in range(i, n):
            e = 1.0 if i == j else 2.0
            a1 += e * kr.w[i, j] * np.trace(u_list[i]) * np.trace(u_list[j])
            a2 += e * kr.w[i, j] * np.sum(u_list[i] * u_list[j].T)
    q = np.linalg.matrix_rank(contrasts)
    b = (a1 + 6 * a2) / (2 * q)
    g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
    denom = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
    v0 = 1 + c1 * b
    v0 = 0.0 if abs(v0) < 1e-10 else v0
    v1, v2 = 1 - c2 * b, 1 - c3 * b
    ratio = 1.0 if abs(1 - a2 / q) < 1e-14 and abs(v1) < 1e-14 else (1 - a2 / q) / v1
    rho = ratio**2 * v0 / (q * v2)
    ddf = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(ddf - 2) < 1e-2 else ddf * (1 - a2 / q) / (ddf - 2)
    return _Adjust(float(ddf), float(scaling))


def kr_t_test(model: FittedModel, contrast: np.ndarray) -> TTest:
    """Kenward-Roger t test of ``contrast @ beta = 0`` (lmerTest's ``contest1D``)."""
    model = as_record(model)
    kr = kenward_roger(model)
    contrast = np.asarray(contrast, dtype=float)
    estimate = float(contrast @ model.estimates.beta)
    se = float(np.sqrt(contrast @ kr.vcov_adjusted @ contrast))
    df = _adjust(kr, contrast[None, :]).ddf
    t = estimate / se
    return TTest(estimate, se, df, t, float(2 * stats.t.sf(abs(t), df)))


def kr_f_test(model: FittedModel, contrasts: np.ndarray) -> FTest:
    """Kenward-Roger F test of ``contrasts @ beta = 0`` (pbkrtest's ``KRmodcomp``).

    The F value is pbkrtest's scaled statistic, the one its p-value is taken from.
    """
    model = as_record(model)
    kr = kenward_roger(model)
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    adj = _adjust(kr, contrasts)
    lb = contrasts @ model.estimates.beta
    q = int(np.linalg.matrix_rank(contrasts))
    wald = float(lb @ np.linalg.solve(contrasts @ kr.vcov_adjusted @ contrasts.T, lb))
    f_value = adj.f_scaling * wald / q
    return FTest(f_value, q, adj.ddf, float(stats.f.sf(f_value, q, adj.ddf)))
