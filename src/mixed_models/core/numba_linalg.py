"""The small dense helpers of the compiled kernels: products, a Cholesky factor and its
solves on blocks of a few rows (BLAS's per-call cost dwarfs them there), and the pieces
the small-model objectives share (the lead term's lambda, the tail's system before and
its profiled objective after the levels are eliminated).

They are inlined into their callers (numba's ``inline="always"``): a call's transpose
flags are then constants and its loops are compiled for that call alone.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _cholesky(a, out, n):  # pragma: no cover
    """Lower Cholesky factor of a's leading n x n block into out; False when it is not
    positive definite."""
    for j in range(n):
        pivot = a[j, j]
        for k in range(j):
            pivot -= out[j, k] * out[j, k]
        if not pivot > 0.0:
            return False
        d = np.sqrt(pivot)
        out[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= out[i, k] * out[j, k]
            out[i, j] = s / d
        for i in range(j):
            out[i, j] = 0.0
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _solve(chol, b, n, m):  # pragma: no cover
    """b[:n, :m] <- (L L')^-1 b[:n, :m] in place, L the leading n x n block of chol."""
    for c in range(m):
        for i in range(n):
            s = b[i, c]
            for k in range(i):
                s -= chol[i, k] * b[k, c]
            b[i, c] = s / chol[i, i]
        for i in range(n - 1, -1, -1):
            s = b[i, c]
            for k in range(i + 1, n):
                s -= chol[k, i] * b[k, c]
            b[i, c] = s / chol[i, i]


@numba.njit(cache=True, nogil=True, inline="always")
def _gemm(a, ta, b, tb, out, n, m, p, alpha, beta):  # pragma: no cover
    """out[:n, :p] <- beta out + alpha op(a) op(b), op(a) the n x m block of a (of a'
    when ``ta``), op(b) the m x p block of b (b' when ``tb``). Loops: BLAS's per-call
    cost dwarfs products of a few rows; the transposes are flags so that every array
    stays C-ordered (one compiled version)."""
    for i in range(n):
        for j in range(p):
            out[i, j] = 0.0 if beta == 0.0 else beta * out[i, j]  # garbage * 0 is NaN
        for k in range(m):
            x = alpha * (a[k, i] if ta else a[i, k])
            if x != 0.0:
                for j in range(p):
                    out[i, j] += x * (b[j, k] if tb else b[k, j])


@numba.njit(cache=True, nogil=True, inline="always")
def _gemv(a, ta, x, out, n, m, alpha, beta):  # pragma: no cover
    """out[:n] <- beta out + alpha op(a) x, op(a) the n x m block of a (a' when ``ta``)."""
    for i in range(n):
        s = 0.0
        for k in range(m):
            s += (a[k, i] if ta else a[i, k]) * x[k]
        out[i] = alpha * s if beta == 0.0 else beta * out[i] + alpha * s


@numba.njit(cache=True, nogil=True, inline="always")
def _tail_system(theta, att, tail_r, tail_c, tail_g, q_rest):  # pragma: no cover
    """lambda~ of the tail (the rest terms' entries of theta, 1 on X's and y's
    diagonal), B_tt = lambda~' A_tt and S = B_tt lambda~ + I on the rest terms'
    diagonal: the tail's system before the lead term's levels are eliminated from it."""
    t = att.shape[0]
    lamt = np.zeros((t, t))
    for i in range(q_rest, t):
        lamt[i, i] = 1.0
    for e in range(tail_r.shape[0]):
        lamt[tail_r[e], tail_c[e]] = theta[tail_g[e]]
    btt = np.empty((t, t))
    _gemm(lamt, True, att, False, btt, t, t, t, 1.0, 0.0)
    s = np.empty((t, t))
    _gemm(btt, False, lamt, False, s, t, t, t, 1.0, 0.0)
    for i in range(q_rest):
        s[i, i] += 1.0
    return lamt, btt, s


@numba.njit(cache=True, nogil=True, inline="always")
def _profiled_tail(s, r, logdet, k, weight, constant):  # pragma: no cover
    """With ``r`` the Cholesky factor of the tail's Schur complement S (t x t, y last):
    the profiled objective (``logdet`` the levels' log |M_l|, k the rows whose log
    determinant it counts: all for REML), Q = S_k^-1 and v = S^-1 e_y r^2."""
    t = s.shape[0]
    for i in range(k):
        logdet += 2.0 * np.log(r[i, i])
    r2 = r[t - 1, t - 1] ** 2
    value = logdet + weight * np.log(r2) + constant
    q = np.zeros((max(k, 1), max(k, 1)))
    for i in range(k):
        q[i, i] = 1.0
    _solve(r, q, k, k)
    vt = np.zeros((t, 1))
    vt[t - 1, 0] = r2
    _solve(r, vt, t, 1)
    return value, r2, q, vt


@numba.njit(cache=True, nogil=True, inline="always")
def _lead_lambda(theta, size, lead_r, lead_c, lead_g):  # pragma: no cover
    """The lead term's S x S lambda: theta's entries ``lead_g`` at (``lead_r``,
    ``lead_c``)."""
    lam = np.zeros((size, size))
    for e in range(lead_r.shape[0]):
        lam[lead_r[e], lead_c[e]] = theta[lead_g[e]]
    return lam


@numba.njit(cache=True, nogil=True, inline="always")
def _tail_weights(vt, lamt, att):  # pragma: no cover
    """From v = S^-1 e_y r^2 of :func:`_profiled_tail`: its tail v_t, lambda~ v_t and
    A_tt lambda~ v_t, the vectors the compiled objectives' gradients weigh with."""
    t = att.shape[0]
    v_t = vt[:, 0].copy()
    wt = np.empty(t)
    _gemv(lamt, False, v_t, wt, t, t, 1.0, 0.0)
    vb_tail = np.empty(t)
    _gemv(att, False, wt, vb_tail, t, t, 1.0, 0.0)
    return v_t, wt, vb_tail


@numba.njit(cache=True, nogil=True, inline="always")
def _tail_gradient(grad, kmat, btt, q, k, tail_r, tail_c, tail_g, coef, vb_tail,
                   v_t):  # pragma: no cover
    """Add the rest terms' entries of the gradient to ``grad``: ``kmat`` (overwritten)
    holds sum_l H_l' lam' A_lt over the levels, Q = S_k^-1."""
    if tail_r.shape[0] == 0:
        return
    t = btt.shape[1]
    for i in range(k):
        for j in range(t):
            kmat[i, j] = btt[i, j] - kmat[i, j]
    tail_trace = np.empty((max(k, 1), t))
    _gemm(q, False, kmat, False, tail_trace, k, k, t, 1.0, 0.0)
    for e in range(tail_r.shape[0]):
        rr, cc = tail_r[e], tail_c[e]
        grad[tail_g[e]] += 2.0 * (tail_trace[cc, rr] + coef * vb_tail[rr] * v_t[cc])
