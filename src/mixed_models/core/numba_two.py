""":func:`mixed_models.core.numba_kernels.block_objective` for the commonest small model,
written out: one random-effects term of two columns (an intercept and a slope) and no
other term, so that lambda~ of the tail (X and y) is the identity.

The general kernel's loops over blocks of one to three rows cost more than their
arithmetic; here each level's 2 x 2 products, Cholesky factor and solves are scalar
expressions (an evaluation of sleepstudy about a quarter of the general kernel's). The
formulas are the general kernel's (see its module docstring), with C_l = A_tl lam and
S = A_tt - sum_l C_l M_l^-1 C_l'; the tests compare the two.
"""

from __future__ import annotations

import numba
import numpy as np

from mixed_models.core.numba_linalg import _cholesky, _lead_lambda, _profiled_tail


@numba.njit(cache=True, nogil=True)
def objective_two(theta, a1, at1, att, lead_r, lead_c, lead_g, reml, weight,
                  constant):  # pragma: no cover
    """(objective, gradient) at theta; (inf, NaN) where the system is not positive
    definite. The arrays are the general kernel's (no tail entries of lambda)."""
    n_levels, t = a1.shape[0], att.shape[0]
    grad = np.zeros(theta.shape[0])
    lam = _lead_lambda(theta, 2, lead_r, lead_c, lead_g)
    l00, l01, l10, l11 = lam[0, 0], lam[0, 1], lam[1, 0], lam[1, 1]
    chol = np.empty((n_levels, 3))  # c00, c10, c11 of each level's M_l
    b1 = np.empty((n_levels, 4))  # lam' A_l: b00, b01, b10, b11
    h = np.empty((n_levels, 2, t))  # M_l^-1 C_l'
    s = att.copy()
    logdet = 0.0
    for lv in range(n_levels):
        a00, a01, a10, a11 = a1[lv, 0, 0], a1[lv, 0, 1], a1[lv, 1, 0], a1[lv, 1, 1]
        b00 = l00 * a00 + l10 * a10
        b01 = l00 * a01 + l10 * a11
        b10 = l01 * a00 + l11 * a10
        b11 = l01 * a01 + l11 * a11
        m00 = b00 * l00 + b01 * l10 + 1.0
        m10 = b10 * l00 + b11 * l10
        m11 = b10 * l01 + b11 * l11 + 1.0
        if not m00 > 0.0:
            grad[:] = np.nan
            return np.inf, grad
        c00 = np.sqrt(m00)
        c10 = m10 / c00
        pivot = m11 - c10 * c10
        if not pivot > 0.0:
            grad[:] = np.nan
            return np.inf, grad
        c11 = np.sqrt(pivot)
        logdet += 2.0 * np.log(c00)
        logdet += 2.0 * np.log(c11)
        chol[lv, 0], chol[lv, 1], chol[lv, 2] = c00, c10, c11
        b1[lv, 0], b1[lv, 1], b1[lv, 2], b1[lv, 3] = b00, b01, b10, b11
        for j in range(t):  # C_l's row j, then M_l^-1 of it
            x0 = at1[lv, j, 0] * l00 + at1[lv, j, 1] * l10
            x1 = at1[lv, j, 0] * l01 + at1[lv, j, 1] * l11
            y0 = x0 / c00
            y1 = (x1 - c10 * y0) / c11
            h[lv, 1, j] = y1 / c11
            h[lv, 0, j] = (y0 - c10 * h[lv, 1, j]) / c00
        for i in range(t):
            x0 = at1[lv, i, 0] * l00 + at1[lv, i, 1] * l10
            x1 = at1[lv, i, 0] * l01 + at1[lv, i, 1] * l11
            for j in range(t):
                s[i, j] -= x0 * h[lv, 0, j] + x1 * h[lv, 1, j]
    r = np.zeros((t, t))
    if not _cholesky(s, r, t):
        grad[:] = np.nan
        return np.inf, grad
    k = t if reml else 0
    value, r2, q, vt = _profiled_tail(s, r, logdet, k, weight, constant)  # q: S^-1 (REML)
    coef = weight / r2
    g_l = np.empty((2, max(k, 1)))
    for lv in range(n_levels):
        c00, c10, c11 = chol[lv, 0], chol[lv, 1], chol[lv, 2]
        b00, b01, b10, b11 = b1[lv, 0], b1[lv, 1], b1[lv, 2], b1[lv, 3]
        v0, v1 = 0.0, 0.0
        for j in range(t):
            v0 -= h[lv, 0, j] * vt[j, 0]
            v1 -= h[lv, 1, j] * vt[j, 0]
        w0 = l00 * v0 + l01 * v1
        w1 = l10 * v0 + l11 * v1
        vb0 = a1[lv, 0, 0] * w0 + a1[lv, 0, 1] * w1
        vb1 = a1[lv, 1, 0] * w0 + a1[lv, 1, 1] * w1
        for j in range(t):
            vb0 += at1[lv, j, 0] * vt[j, 0]
            vb1 += at1[lv, j, 1] * vt[j, 0]
        # M_l^-1 B1_l, column by column
        y0 = b00 / c00
        y1 = (b10 - c10 * y0) / c11
        t10 = y1 / c11
        t00 = (y0 - c10 * t10) / c00
        y0 = b01 / c00
        y1 = (b11 - c10 * y0) / c11
        t11 = y1 / c11
        t01 = (y0 - c10 * t11) / c00
        if k > 0:  # + G_l (H_l' B1_l - A_tl), G_l = H_l S^-1
            for i in range(2):
                for j in range(k):
                    acc = 0.0
                    for m in range(k):
                        acc += h[lv, i, m] * q[m, j]
                    g_l[i, j] = acc
            for j in range(k):
                inner0 = h[lv, 0, j] * b00 + h[lv, 1, j] * b10 - at1[lv, j, 0]
                inner1 = h[lv, 0, j] * b01 + h[lv, 1, j] * b11 - at1[lv, j, 1]
                t00 += g_l[0, j] * inner0
                t01 += g_l[0, j] * inner1
                t10 += g_l[1, j] * inner0
                t11 += g_l[1, j] * inner1
        for e in range(lead_r.shape[0]):
            rr, cc = lead_r[e], lead_c[e]
            trace = (t00 if rr == 0 else t01) if cc == 0 else (t10 if rr == 0 else t11)
            vb = vb0 if rr == 0 else vb1
            v = v0 if cc == 0 else v1
            grad[lead_g[e]] += 2.0 * (trace + coef * vb * v)
    return value, grad
