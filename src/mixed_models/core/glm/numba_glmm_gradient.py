"""Compiled gradient of the Laplace objective of a GLMM of scalar terms.

:mod:`gradient`'s formulas for the case :mod:`numba_glmm` covers (scalar terms, canonical
link): h_i = a_i' M^-1 a_i and c_i = M^-1 a_i from the blocks of M^-1 rows touch (the
rest block's inverse, the lead-rest entries of each level's rows, the lead diagonal),
one adjoint solve, then sums over the rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mixed_models.core.glm.numba_glmm import (
    EPS, LOGIT_THRESH, level_rest, rhs, scaled_columns, solve_system,
)


@njit(cache=True)
def _triangular_inverse(l22, qr):
    """L^-1 for L the random-effects part of the rest factor (lower triangular), row by
    row: row i is (e_i - sum_k L[i, k] row k) / L[i, i], contiguous updates."""
    inv = np.zeros((qr, qr))
    for i in range(qr):
        row = inv[i]
        for k in range(i):
            a = l22[i, k]
            if a != 0.0:
                above = inv[k]
                for j in range(k + 1):
                    row[j] -= a * above[j]
        row[i] = 1.0
        d = l22[i, i]
        for j in range(i + 1):
            row[j] /= d
    return inv


@njit(cache=True)
def _fill(inv, rinv, known, a, b):
    """(L L')^-1 [a, b] = L^-1[:, a] . L^-1[:, b], computed when a row first needs it:
    rows touch few pairs of the rest effects, so the whole inverse is seldom needed."""
    acc = 0.0
    for k in range(max(a, b), inv.shape[0]):
        acc += inv[k, a] * inv[k, b]
    rinv[a, b] = acc
    rinv[b, a] = acc
    known[a, b] = True
    known[b, a] = True


@njit(cache=True)
def gradient(theta_lams, u, joint, family, y, wt, x, pos, z, lead_ptr, lead_rows, n1, qr,
             eta, mu, w, l11, l22):
    """Gradient of the Laplace objective over (lambda per term, beta) at the modes
    (``joint``: the nAGQ = 0 objective, beta at its joint mode)."""
    n, p = x.shape
    nt = pos.shape[0]
    m = qr + p
    zl = scaled_columns(z, theta_lams)
    s_, dw, obs = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        mi = mu[i]
        if family == 0:
            big = abs(eta[i]) > LOGIT_THRESH
            d1 = EPS if big else mi * (1.0 - mi)
            d2 = 0.0 if big else mi * (1.0 - mi) * (1.0 - 2.0 * mi)
            vr = mi * (1.0 - mi)
            dv = 1.0 - 2.0 * mi
        else:
            d1 = mi
            d2 = mi if mi > EPS else 0.0
            vr = mi
            dv = 1.0
        s_[i] = wt[i] * (y[i] - mi) * d1 / vr
        dw[i] = wt[i] * (2.0 * d1 * d2 / vr - d1 ** 3 * dv / (vr * vr))
        obs[i] = w[i] - wt[i] * (y[i] - mi) * (d2 / vr - d1 * d1 * dv / (vr * vr))
    inv = _triangular_inverse(l22, qr)
    rinv = np.empty((qr, qr))
    known = np.zeros((qr, qr), np.bool_)
    # per row: h_i = a_i' M^-1 a_i and c_i = M^-1 a_i at the row's own levels
    h = np.empty(n)
    c = np.empty((nt, n))
    scratch = np.zeros(max(qr, 1))
    bl = np.zeros(max(qr, 1))
    mark = np.zeros(max(qr, 1), np.int64)
    touched = np.zeros(max(qr, 1), np.int64)
    for lev in range(n1):
        root = l11[lev]
        count = level_rest(lev, root, w, pos, zl, lead_ptr, lead_rows, n1, scratch, mark,
                           touched)
        gpg = 0.0
        for j1 in range(count):
            k1 = touched[j1]
            acc = 0.0
            for j2 in range(count):
                k2 = touched[j2]
                if not known[k2, k1]:
                    _fill(inv, rinv, known, k2, k1)
                acc += scratch[k2] * rinv[k2, k1]
            bl[k1] = -acc / root
            gpg += scratch[k1] * acc
        a_ll = (1.0 + gpg) / (root * root)
        for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
            i = lead_rows[r]
            a0 = zl[0, i]
            c0 = a_ll * a0
            for t in range(1, nt):
                c0 += bl[pos[t, i] - n1] * zl[t, i]
            c[0, i] = c0
            hi = a0 * c0
            for t in range(1, nt):
                kt = pos[t, i] - n1
                ct = bl[kt] * a0
                for t2 in range(1, nt):
                    k2 = pos[t2, i] - n1
                    if not known[kt, k2]:
                        _fill(inv, rinv, known, kt, k2)
                    ct += rinv[kt, k2] * zl[t2, i]
                c[t, i] = ct
                hi += zl[t, i] * ct
            h[i] = hi
    e = np.empty(n)
    for i in range(n):
        e[i] = h[i] * dw[i] - 2.0 * s_[i]
    # the adjoint lambda = M^-1 (Lambda' Z' e + 2u (, X' e))
    r1, r2 = rhs(e, -2.0 * u, pos, zl, x, n1, qr, joint)
    k = m if joint else qr
    lam1, lam2 = solve_system(r1, r2, k, w, pos, zl, x, lead_ptr, lead_rows, n1, qr, l11, l22)
    lam = np.empty(n1 + qr)
    lam[:n1] = lam1
    lam[n1:] = lam2[:qr]
    resid = np.empty(n)
    for i in range(n):
        zeta = 0.0
        for t in range(nt):
            zeta += zl[t, i] * lam[pos[t, i]]
        if joint:
            for cc in range(p):
                zeta += x[i, cc] * lam2[qr + cc]
        resid[i] = e[i] - obs[i] * zeta
    grad = np.zeros(nt + p)
    for i in range(n):
        for t in range(nt):
            zd = z[t, i]
            grad[t] += 2.0 * w[i] * zd * c[t, i] + resid[i] * zd * u[pos[t, i]] \
                + s_[i] * zd * lam[pos[t, i]]
        for cc in range(p):
            grad[nt + cc] += x[i, cc] * resid[i]
    return grad
