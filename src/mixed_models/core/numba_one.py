""":func:`mixed_models.core.numba_kernels.block_objective` for a lead term of one column
(a random intercept: the lead term of most crossed and nested designs), written out.

With one column per level, each level's M_l, its factor and its solves are scalars, and
its blocks against the tail are vectors; the general kernel's loops over 1 x 1 blocks
cost more than their arithmetic (penicillin: about a third of the general kernel's time
here). The formulas are the general kernel's (see its module docstring); the tests
compare the two.
"""

from __future__ import annotations

import numba
import numpy as np

from mixed_models.core.numba_linalg import (
    _cholesky, _profiled_tail, _tail_gradient, _tail_system, _tail_weights)


@numba.njit(cache=True, nogil=True)
def objective_one(theta, a1, at1, att, lead_g, tail_r, tail_c, tail_g, q_rest, reml,
                  weight, constant):  # pragma: no cover
    """(objective, gradient) at theta; (inf, NaN) where the system is not positive
    definite. ``lead_g``: the lead term's one theta entry; the rest as the general
    kernel's."""
    n_levels, t = a1.shape[0], att.shape[0]
    grad = np.zeros(theta.shape[0])
    lam = theta[lead_g[0]]
    lamt, btt, s = _tail_system(theta, att, tail_r, tail_c, tail_g, q_rest)
    chol = np.empty(n_levels)
    b1 = np.empty(n_levels)
    bt = np.empty((n_levels, t))  # lam_t' A_tl
    h = np.empty((n_levels, t))  # M_l^-1 C_l'
    p = np.empty(t)
    logdet = 0.0
    for lv in range(n_levels):
        b1[lv] = lam * a1[lv, 0, 0]
        m = b1[lv] * lam + 1.0
        if not m > 0.0:
            grad[:] = np.nan
            return np.inf, grad
        c = np.sqrt(m)
        chol[lv] = c
        logdet += 2.0 * np.log(c)
        for j in range(t):
            acc = 0.0
            for k in range(t):
                acc += lamt[k, j] * at1[lv, k, 0]
            bt[lv, j] = acc
            p[j] = acc * lam
            h[lv, j] = p[j] / c / c
        for i in range(t):
            for j in range(t):
                s[i, j] -= p[i] * h[lv, j]
    r = np.zeros((t, t))
    if not _cholesky(s, r, t):
        grad[:] = np.nan
        return np.inf, grad
    k = t if reml else q_rest
    value, r2, q, vt = _profiled_tail(s, r, logdet, k, weight, constant)
    v_t, wt, vb_tail = _tail_weights(vt, lamt, att)
    coef = weight / r2
    kmat = np.zeros((max(k, 1), t))  # sum_l H_l[:k]' lam A_lt
    g_l = np.empty(max(k, 1))
    lead = lead_g[0]
    for lv in range(n_levels):
        v_l = 0.0
        for j in range(t):
            v_l -= h[lv, j] * v_t[j]
        w_l = lam * v_l
        vb_l = a1[lv, 0, 0] * w_l
        for j in range(t):
            vb_l += at1[lv, j, 0] * wt[j]
            vb_tail[j] += at1[lv, j, 0] * w_l
        c = chol[lv]
        trace = b1[lv] / c / c
        if k > 0:
            for j in range(k):
                acc = 0.0
                for m in range(k):
                    acc += h[lv, m] * q[m, j]
                g_l[j] = acc
            for j in range(k):
                trace += g_l[j] * (h[lv, j] * b1[lv] - bt[lv, j])
            if q_rest > 0:
                for i in range(k):
                    for j in range(t):
                        kmat[i, j] += h[lv, i] * (lam * at1[lv, j, 0])
        grad[lead] += 2.0 * (trace + coef * vb_l * v_l)
    _tail_gradient(grad, kmat, btt, q, k, tail_r, tail_c, tail_g, coef, vb_tail, v_t)
    return value, grad
