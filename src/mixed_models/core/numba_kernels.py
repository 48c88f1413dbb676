"""The compiled kernels (numba), imported only by :mod:`mixed_models.core.kernels` once
numba is known to be installed.

The functions live at module level so that numba's on-disk cache finds them again in
the next process (functions made inside another function are compiled anew each time).

* :func:`downdate_lower`: the sparse rank update of the blocked factor's rest block.
* :func:`block_objective`: the profiled objective of a small model and its exact
  gradient over theta, on a system whose lead term is block diagonal (one S x S block
  per level) and whose tail (the other terms, X and y) is dense. The arithmetic is the
  dense evaluator's (:mod:`mixed_models.core.dense_newton`), with the inverse of the
  system taken block by block:

      Omega = [[D, C'], [C, T]],  D = diag(M_l),  M_l = lam' A_l lam + I,
      C_l = lam_t' A_tl lam,     S = T - sum_l C_l M_l^-1 C_l' = R R',

  log |Omega| = sum_l log |M_l| + log |S|, and the diagonal blocks of Omega^-1 B
  (B = lam~' A) that the gradient's traces read follow from M_l^-1, H_l = M_l^-1 C_l'
  and S^-1. The ML objective differentiates log |Omega_zz| instead: the same formulas
  with S's leading block (the rest terms' rows) in place of S.

The small dense helpers (products, Cholesky factor, solves:
:mod:`mixed_models.core.numba_linalg`) are inlined into their callers (numba's
``inline="always"``): a call's transpose flags are then constants and its loops are
compiled for that call alone, which matters on blocks of one or two columns, where a
loop's bookkeeping costs more than its arithmetic. A lead term of one column, and a
model of one term of two columns, are evaluated by :mod:`mixed_models.core.numba_one`
and :mod:`mixed_models.core.numba_two`, written out.

numba's disk cache of :mod:`mixed_models.core.numba_newton` holds these functions
compiled into its own (and this module's cache holds numba_two's and numba_linalg's),
but is keyed by that file's time stamp alone (numba does not see changes in the other
files a function calls): when this file (or those it calls) changes in a checkout (an
edit, a pull) and numba_newton.py does not, delete ``core/__pycache__/numba_*.nb[ic]``
and run ``mixed_models.compile_kernels()`` again, else the cached kernels keep the old
code. A non-editable install writes both files anew, so their caches start over
together.
"""

from __future__ import annotations

import numba
import numpy as np

from mixed_models.core.numba_linalg import (
    _cholesky, _gemm, _gemv, _lead_lambda, _profiled_tail, _solve, _tail_gradient,
    _tail_system, _tail_weights)
from mixed_models.core.numba_one import objective_one
from mixed_models.core.numba_two import objective_two


@numba.njit(cache=True, nogil=True)
def _downdate_row(i, out, base, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
    acc = np.zeros(i + 1)
    for a in range(rp[i], rp[i + 1]):
        j = rj[a]
        g = rv[a]
        for b in range(cp[j], cp[j + 1]):
            k = ci[b]
            if k > i:
                break
            acc[k] += g * cv[b]
    si = scale[i]
    for k in range(i + 1):
        out[i, k] = si * scale[k] * (base[i, k] - acc[k])
    out[i, i] += 1.0


@numba.njit(parallel=True, cache=True, nogil=True)
def downdate_lower(out, base, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
    """out[i, k] = scale_i scale_k (base[i, k] - sum_j G[i, j] G[k, j]) + (i == k) for
    k <= i; G given both as CSR (rp, rj, rv) and CSC (cp, ci, cv), row indices sorted
    within each column. Row i costs about i / m of the last row, so rows are dealt in
    pairs (t, m - 1 - t) to balance the threads."""
    m = scale.shape[0]  # the rows of G; rows of out beyond them are not touched
    for t in numba.prange((m + 1) // 2):
        _downdate_row(t, out, base, scale, rp, rj, rv, cp, ci, cv)
        if m - 1 - t != t:
            _downdate_row(m - 1 - t, out, base, scale, rp, rj, rv, cp, ci, cv)


@numba.njit(cache=True, nogil=True)
def _trace_row(i, inv, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
    acc = 0.0
    for a in range(rp[i], rp[i + 1]):
        j = rj[a]
        part = 0.0
        for b in range(cp[j], cp[j + 1]):
            k = ci[b]
            if k >= i:
                if k == i:  # the diagonal counts once, the entries left of it twice
                    part += 0.5 * cv[b] * scale[k] * inv[i, k]
                break
            part += cv[b] * scale[k] * inv[i, k]
        acc += rv[a] * part
    return 2.0 * scale[i] * acc


@numba.njit(parallel=True, cache=True, nogil=True)
def trace_lower(inv, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
    """sum over i, k of s_i s_k (G G')[i, k] inv[i, k] for a symmetric ``inv`` of which
    only the lower triangle is read; G as for :func:`downdate_lower`. Row i reads only
    row i of ``inv``, so the sum never forms G G'."""
    m = scale.shape[0]
    total = 0.0
    for t in numba.prange((m + 1) // 2):
        total += _trace_row(t, inv, scale, rp, rj, rv, cp, ci, cv)
        if m - 1 - t != t:
            total += _trace_row(m - 1 - t, inv, scale, rp, rj, rv, cp, ci, cv)
    return total


@numba.njit(cache=True, nogil=True)
def _factor_levels(lam1, lamt, a1, at1, chol, h, b1, bt, schur, m, p):  # pragma: no cover
    """Per level: chol_l of M_l, H_l = M_l^-1 C_l', B1_l = lam' A_l, Bt_l = lam_t' A_tl;
    subtracts sum_l C_l H_l from ``schur``; returns sum_l log |M_l| (NaN when an M_l is
    not positive definite)."""
    n_levels, size = a1.shape[0], a1.shape[1]
    t = lamt.shape[0]
    logdet = 0.0
    for lv in range(n_levels):
        _gemm(lam1, True, a1[lv], False, b1[lv], size, size, size, 1.0, 0.0)
        _gemm(b1[lv], False, lam1, False, m, size, size, size, 1.0, 0.0)
        for i in range(size):
            m[i, i] += 1.0
        if not _cholesky(m, chol[lv], size):
            return np.nan
        for i in range(size):
            logdet += 2.0 * np.log(chol[lv, i, i])
        _gemm(lamt, True, at1[lv], False, bt[lv], t, t, size, 1.0, 0.0)
        _gemm(bt[lv], False, lam1, False, p, t, size, size, 1.0, 0.0)  # C_l
        for i in range(size):
            for j in range(t):
                h[lv, i, j] = p[j, i]
        _solve(chol[lv], h[lv], size, t)
        _gemm(p, False, h[lv], False, schur, t, size, t, -1.0, 1.0)
    return logdet


@numba.njit(cache=True, nogil=True)
def block_objective(theta, a1, at1, att, lead_r, lead_c, lead_g, tail_r, tail_c, tail_g,
                    q_rest, reml, weight, constant):  # pragma: no cover
    """(objective, gradient) of the dense evaluator at theta; (inf, NaN) where the
    system is not positive definite.

    a1 (levels, S, S): the lead term's blocks; at1 (levels, t, S): the tail's rows
    against each level's columns; att (t, t): the tail block (rest terms, X, y).
    lead_*: per theta entry of the lead term, its (row, col) in lam and its theta
    index; tail_*: per entry of the rest terms' lambda in the tail, the same.
    """
    n_levels, size = a1.shape[0], a1.shape[1]
    if size == 1 and lead_g.shape[0] == 1:  # a random intercept leads
        return objective_one(theta, a1, at1, att, lead_g, tail_r, tail_c, tail_g, q_rest,
                             reml, weight, constant)
    if size == 2 and q_rest == 0 and tail_r.shape[0] == 0:  # one term of two columns
        return objective_two(theta, a1, at1, att, lead_r, lead_c, lead_g, reml, weight,
                             constant)
    t = att.shape[0]
    grad = np.zeros(theta.shape[0])
    lam1 = _lead_lambda(theta, size, lead_r, lead_c, lead_g)
    lamt, btt, s = _tail_system(theta, att, tail_r, tail_c, tail_g, q_rest)
    chol = np.zeros((n_levels, size, size))
    h = np.empty((n_levels, size, t))
    b1 = np.empty((n_levels, size, size))
    bt = np.empty((n_levels, t, size))
    logdet = _factor_levels(lam1, lamt, a1, at1, chol, h, b1, bt, s,
                            np.empty((size, size)), np.empty((t, size)))
    r = np.zeros((t, t))
    if np.isnan(logdet) or not _cholesky(s, r, t):
        for i in range(grad.shape[0]):
            grad[i] = np.nan
        return np.inf, grad
    k = t if reml else q_rest
    # Q = S_k^-1 (the leading k x k block's inverse), v = Omega^-1 e_y r^2
    value, r2, q, vt = _profiled_tail(s, r, logdet, k, weight, constant)
    v_t, wt, vb_tail = _tail_weights(vt, lamt, att)
    coef = weight / r2
    kmat = np.zeros((max(k, 1), t))  # sum_l H_l[:, :k]' lam' A_lt
    g_l = np.empty((size, max(k, 1)))
    v_l, w_l, vb_l = np.empty(size), np.empty(size), np.empty(size)
    trace = np.empty((size, size))
    inner = np.empty((max(k, 1), size))
    e_l = np.empty((size, t))
    for lv in range(n_levels):
        _gemv(h[lv], False, v_t, v_l, size, t, -1.0, 0.0)
        _gemv(lam1, False, v_l, w_l, size, size, 1.0, 0.0)
        _gemv(a1[lv], False, w_l, vb_l, size, size, 1.0, 0.0)
        _gemv(at1[lv], True, wt, vb_l, size, t, 1.0, 1.0)
        _gemv(at1[lv], False, w_l, vb_tail, t, size, 1.0, 1.0)
        # diagonal block of Omega^-1 B: M_l^-1 B1_l + G_l (H_l' B1_l - Bt_l)
        trace[:, :] = b1[lv]
        _solve(chol[lv], trace, size, size)
        if k > 0:
            _gemm(h[lv], False, q, False, g_l, size, k, k, 1.0, 0.0)
            inner[:k, :] = bt[lv][:k, :]
            _gemm(h[lv], True, b1[lv], False, inner, k, size, size, 1.0, -1.0)
            _gemm(g_l, False, inner, False, trace, size, k, size, 1.0, 1.0)
            if q_rest > 0:
                _gemm(lam1, True, at1[lv], True, e_l, size, size, t, 1.0, 0.0)
                _gemm(h[lv], True, e_l, False, kmat, k, size, t, 1.0, 1.0)
        for e in range(lead_r.shape[0]):
            rr, cc = lead_r[e], lead_c[e]
            grad[lead_g[e]] += 2.0 * (trace[cc, rr] + coef * vb_l[rr] * v_l[cc])
    _tail_gradient(grad, kmat, btt, q, k, tail_r, tail_c, tail_g, coef, vb_tail, v_t)
    return value, grad


@numba.njit(cache=True, nogil=True)
def block_solution(theta, a1, at1, att, lead_r, lead_c, lead_g, tail_r, tail_c, tail_g,
                   q_rest):  # pragma: no cover
    """The estimates at theta on :func:`block_objective`'s system: (ok, u of the lead
    term (levels, S), w = [u of the rest terms, beta] (t - 1), pwrss, R_X^-1), where
    R_X is the fixed effects' block of the tail's factor S = R R' (lower).

    The tail's last row is y's: R's leading block solves for w (R_11' w = r_y), each
    level's u_l = M_l^-1 (c_ly - C_l1' w) = H_l[:, y] - H_l[:, :-1] w, and pwrss is
    R's last diagonal entry squared. ok is False where the system is not positive
    definite.
    """
    n_levels, size = a1.shape[0], a1.shape[1]
    t = att.shape[0]
    p = t - 1 - q_rest
    lam1 = _lead_lambda(theta, size, lead_r, lead_c, lead_g)
    lamt, _, s = _tail_system(theta, att, tail_r, tail_c, tail_g, q_rest)
    chol = np.zeros((n_levels, size, size))
    h = np.empty((n_levels, size, t))
    logdet = _factor_levels(lam1, lamt, a1, at1, chol, h, np.empty((n_levels, size, size)),
                            np.empty((n_levels, t, size)), s, np.empty((size, size)),
                            np.empty((t, size)))
    r = np.zeros((t, t))
    u = np.zeros((n_levels, size))
    w = np.zeros(t - 1)
    rx_inv = np.zeros((p, p))
    if np.isnan(logdet) or not _cholesky(s, r, t):
        return False, u, w, np.nan, rx_inv
    for i in range(t - 2, -1, -1):
        acc = r[t - 1, i]
        for k in range(i + 1, t - 1):
            acc -= r[k, i] * w[k]
        w[i] = acc / r[i, i]
    for lv in range(n_levels):
        for i in range(size):
            acc = h[lv, i, t - 1]
            for j in range(t - 1):
                acc -= h[lv, i, j] * w[j]
            u[lv, i] = acc
    for j in range(p):  # the inverse of R_X, column by column
        rx_inv[j, j] = 1.0 / r[q_rest + j, q_rest + j]
        for i in range(j + 1, p):
            acc = 0.0
            for k in range(j, i):
                acc += r[q_rest + i, q_rest + k] * rx_inv[k, j]
            rx_inv[i, j] = -acc / r[q_rest + i, q_rest + i]
    return True, u, w, r[t - 1, t - 1] ** 2, rx_inv
