"""The profiled objective and its exact gradient over theta, block by block, in numpy:
the dense gradient of :mod:`mixed_models.core.gradient` without the inverse of the whole
system.

The system is Omega = L~' A L~ + diag(I_q, 0) with the lead term's levels first. Its
lead block D is block diagonal (one S x S block M_l per level), so with
C_l = lam_t' A_tl lam (the tail's rows against level l: the other terms, X and y),
H_l = M_l^-1 C_l' and the Schur complement S = T - sum_l C_l H_l = R R',

    log |Omega| = sum_l log |M_l| + log |S|,

and the diagonal blocks of Omega^-1 B (B = L~' A) that the gradient's traces read are

    lead level l:  M_l^-1 B1_l + H_l Q (H_l' B1_l - Bt_l),   tail:  Q (Btt - sum_l H_l' E_l),

Q = S^-1 (ML: the inverse of S's leading block, the rest terms' rows, whose Cholesky
factor is R's leading block), B1_l = lam' A_l, Bt_l = lam_t' A_tl, E_l = lam' A_lt. Every
step is a batched product over the levels or one product of a tail-sized matrix: for
kb07's maximal model (56 x 4 lead effects, a tail of 133 rows) that is about half the
time of inverting the 357-row system. The same formulas, compiled for small systems,
are :func:`mixed_models.core.numba_kernels.block_objective`.

Unstable: a new module, used for the dense-gradient fits of models with many theta
entries (:func:`mixed_models.core.gradient.objective_and_gradient`).
"""

from __future__ import annotations

import numpy as np

from mixed_models.core.crossprod import CrossProducts
from mixed_models.core.lazy import lazy_module

linalg = lazy_module("scipy.linalg")


def split_system(a: np.ndarray, q1: int, size: int) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """(A_l per level (L, S, S), A_tl per level (L, t, S), A_tt (t, t)) of the dense
    system ``a`` whose first ``q1`` rows are the lead term's levels of ``size`` columns."""
    levels, t = q1 // size, a.shape[0] - q1
    lead = a[:q1, :q1].reshape(levels, size, levels, size)
    a1 = lead[np.arange(levels), :, np.arange(levels), :]
    at1 = np.ascontiguousarray(a[q1:, :q1].reshape(t, levels, size).transpose(1, 0, 2))
    return a1, at1, a[q1:, q1:]


def lead_blocks(cp: CrossProducts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`split_system`'s blocks read from the cross-products ``cp`` without
    forming the dense system: the lead term's level blocks, its cross-products with the
    tail (the other terms, X and y) by level, and the tail's block."""
    lead = cp.lead
    levels, size = lead.n_levels, lead.size
    ar1 = cp.ar1.toarray() if hasattr(cp.ar1, "toarray") else cp.ar1
    tail_lead = np.concatenate([ar1, cp.ax1]) if cp.q_rest else cp.ax1
    t = tail_lead.shape[0]
    at1 = np.ascontiguousarray(tail_lead.reshape(t, levels, size).transpose(1, 0, 2))
    return cp.a11, at1, cp.avv


def block_objective_and_gradient(blocks: tuple[np.ndarray, np.ndarray, np.ndarray],
                                 lam1: np.ndarray, lamt: np.ndarray, q_rest: int, reml: bool,
                                 weight: float, constant: float, lead_entries: tuple,
                                 tail_entries: tuple, n_theta: int
                                 ) -> tuple[float, np.ndarray]:
    """(objective, gradient); (inf, NaN) where the system is not positive definite.

    ``lam1`` is the lead term's S x S factor, ``lamt`` the tail's (the rest terms'
    block-diagonal factors, then the identity for X and y). ``lead_entries`` are the
    theta entries of the lead term as arrays (rows, cols, theta index) within lam1;
    ``tail_entries`` those of the rest terms within lamt, one per level.
    """
    a1, at1, att = blocks
    size, t = lam1.shape[0], lamt.shape[0]
    b1 = lam1.T @ a1  # (L, S, S)
    m = b1 @ lam1
    m[:, np.arange(size), np.arange(size)] += 1.0
    try:
        chol = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return np.inf, np.full(n_theta, np.nan)
    logdet = 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
    if not np.isfinite(logdet):  # an undefined lambda (NaN) factors without complaint
        return np.inf, np.full(n_theta, np.nan)
    bt = lamt.T @ at1  # (L, t, S)
    c = bt @ lam1  # C_l, (L, t, S)
    h = np.linalg.solve(m, c.transpose(0, 2, 1))  # H_l, (L, S, t)
    btt = lamt.T @ att
    schur = btt @ lamt
    schur[np.arange(q_rest), np.arange(q_rest)] += 1.0
    schur -= c.transpose(1, 0, 2).reshape(t, -1) @ h.reshape(-1, t)
    r, info = linalg.lapack.dpotrf(schur, lower=1, clean=1)
    diag = np.log(np.diag(r))
    if info != 0 or not np.all(np.isfinite(diag)):
        return np.inf, np.full(n_theta, np.nan)
    k = t if reml else q_rest
    r2 = float(np.exp(2.0 * diag[-1]))
    value = logdet + 2.0 * float(diag[:k].sum()) + weight * np.log(r2) + constant
    unit = np.zeros(t)
    unit[-1] = r2
    v_t = linalg.cho_solve((r, True), unit, check_finite=False)  # Omega^-1 e_y r^2, tail part
    w_t = lamt @ v_t
    coef = weight / r2
    v_l = -(h @ v_t)  # (L, S)
    w_l = v_l @ lam1.T
    vb_l = np.einsum("lij,li->lj", a1, w_l) + np.einsum("ltj,t->lj", at1, w_t)
    trace = np.linalg.solve(m, b1)  # M_l^-1 B1_l
    grad = np.zeros(n_theta)
    tail_trace = vb_tail = None
    if k:
        q = linalg.cho_solve((r[:k, :k], True), np.eye(k), check_finite=False)
        hk = h[:, :, :k]
        inner = hk.transpose(0, 2, 1) @ b1 - bt[:, :k, :]
        trace += (hk @ q) @ inner
        if tail_entries[0].size:
            e = lam1.T @ at1.transpose(0, 2, 1)  # E_l = lam' A_lt, (L, S, t)
            kmat = hk.reshape(-1, k).T @ e.reshape(-1, t)
            tail_trace = q @ (btt[:k] - kmat)
    rows, cols, index = lead_entries
    per_level = trace[:, cols, rows] + coef * vb_l[:, rows] * v_l[:, cols]
    np.add.at(grad, index, 2.0 * per_level.sum(axis=0))
    rows, cols, index = tail_entries
    if rows.size:
        vb_tail = att @ w_t + np.einsum("lts,ls->t", at1, w_l)
        np.add.at(grad, index, 2.0 * (tail_trace[cols, rows] + coef * vb_tail[rows] * v_t[cols]))
    return float(value), grad
