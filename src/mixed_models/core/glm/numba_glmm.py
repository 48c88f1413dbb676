"""Compiled PIRLS, Laplace objective and its gradient for GLMMs of scalar terms.

The numbers are :mod:`pirls`, :mod:`laplace` and :mod:`gradient`'s for the case they
are written for: every random-effects term scalar (one column, its relative SD as its
only parameter), a canonical link (binomial-logit: ``family`` 0, Poisson-log: 1). The
lead term (the one with most levels) is eliminated level by level; the rest terms and X
form a dense (q_rest + p) block, as in :mod:`factor`. Loops replace the whole-array numpy
calls whose overhead dominates a small model's evaluation.

Arrays (design order: lead term first, then the rest terms):

* ``pos`` (terms x n): each row's index into u (lead levels first, then the rest
  terms' levels at their offsets); ``zl`` (terms x n): z times lambda (Lambda' z);
  ``z`` (terms x n) the term's column itself.
* ``lead_ptr``, ``lead_rows``: the rows of each lead level (CSR-like).
* ``x`` (n x p, C order), ``y``, ``wt`` (prior weights), ``off``.

Imported only through :mod:`mixed_models.core.glm.compiled` (numba is optional).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPS = np.finfo(np.float64).eps
LOGIT_THRESH = 30.0


@njit(cache=True)
def _means(family, eta, mu, me, var):
    """mu, dmu/deta and V(mu) at eta; False when a mean is outside the family's range."""
    for i in range(eta.shape[0]):
        e = eta[i]
        if not np.isfinite(e):
            return False
        if family == 0:
            if e < -LOGIT_THRESH:
                m = EPS / (1.0 + EPS)
            elif e > LOGIT_THRESH:
                m = 1.0 / (1.0 + EPS)
            else:
                m = 1.0 / (1.0 + np.exp(-e))
            if not (m > 0.0 and m < 1.0):
                return False
            mu[i] = m
            me[i] = EPS if abs(e) > LOGIT_THRESH else m * (1.0 - m)
            var[i] = m * (1.0 - m)
        else:
            m = max(np.exp(e), EPS)
            if not np.isfinite(m):
                return False
            mu[i] = m
            me[i] = m
            var[i] = m
    return True


@njit(cache=True)
def _deviance(family, mu, wy, wn, const):
    """The deviance up to the caller's constant: binomial wy = wt y, wn = wt (1 - y);
    Poisson wy = wt y, wn = wt."""
    total = 0.0
    for i in range(mu.shape[0]):
        if family == 0:
            total += wy[i] * np.log(mu[i]) + wn[i] * np.log1p(-mu[i])
        else:
            total += wy[i] * np.log(mu[i]) - wn[i] * mu[i]
    return const - 2.0 * total


@njit(cache=True)
def _linear_predictor(eta, off, x, beta, pos, zl, u):
    n, p = x.shape
    for i in range(n):
        v = off[i]
        for c in range(p):
            v += x[i, c] * beta[c]
        for t in range(pos.shape[0]):
            v += zl[t, i] * u[pos[t, i]]
        eta[i] = v


@njit(cache=True)
def scaled_columns(z, theta_lams):
    """Lambda' z per term and row (each term's column times its lambda)."""
    zl = np.empty_like(z)
    for t in range(z.shape[0]):
        for i in range(z.shape[1]):
            zl[t, i] = z[t, i] * theta_lams[t]
    return zl


@njit(cache=True)
def level_rest(lev, root, w, pos, zl, lead_ptr, lead_rows, n1, scratch, mark, touched):
    """Row ``lev`` of G = L11^-1 M21' over the rest random effects: its nonzero entries
    left in ``scratch`` at the positions listed in ``touched`` (their count returned;
    ``mark`` holds lev + 1 at them)."""
    count = 0
    for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
        i = lead_rows[r]
        a = w[i] * zl[0, i] / root
        for t in range(1, pos.shape[0]):
            k = pos[t, i] - n1
            if mark[k] != lev + 1:
                mark[k] = lev + 1
                scratch[k] = 0.0
                touched[count] = k
                count += 1
            scratch[k] += a * zl[t, i]
    return count


@njit(cache=True)
def _factor(w, pos, zl, x, lead_ptr, lead_rows, n1, qr, prefix, l11, s, scratch, mark,
            touched):
    """Factor M for weights w: l11 (lead diagonal) and the Cholesky factor of the rest
    block's Schur complement, returned (lower, (qr + p) square). None when not positive
    definite. The first ``prefix`` rows of that block are diagonal (see
    :func:`_prefix_cholesky`)."""
    n, p = x.shape
    nt = pos.shape[0]
    m = qr + p
    s[:, :] = 0.0
    for i in range(n):
        wi = w[i]
        for a in range(1, nt):
            ka = pos[a, i] - n1
            va = wi * zl[a, i]
            for b in range(1, nt):
                s[ka, pos[b, i] - n1] += va * zl[b, i]
            for c in range(p):
                s[qr + c, ka] += va * x[i, c]
    xw = np.empty((p, n))
    for i in range(n):
        for c in range(p):
            xw[c, i] = w[i] * x[i, c]
    s[qr:, qr:] = np.dot(xw, x)
    for k in range(qr):
        s[k, k] += 1.0
    for k in range(m):
        for j in range(k):
            s[j, k] = s[k, j]
    gx = np.zeros(p)
    for lev in range(n1):
        d = 1.0
        for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
            i = lead_rows[r]
            d += w[i] * zl[0, i] * zl[0, i]
        root = np.sqrt(d)
        l11[lev] = root
        gx[:] = 0.0
        for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
            i = lead_rows[r]
            a = w[i] * zl[0, i] / root
            for c in range(p):
                gx[c] += a * x[i, c]
        count = level_rest(lev, root, w, pos, zl, lead_ptr, lead_rows, n1, scratch, mark,
                           touched)
        for j1 in range(count):
            k1 = touched[j1]
            g1 = scratch[k1]
            for j2 in range(count):
                s[k1, touched[j2]] -= g1 * scratch[touched[j2]]
            for c in range(p):
                s[k1, qr + c] -= g1 * gx[c]
                s[qr + c, k1] -= g1 * gx[c]
        for c in range(p):
            for e in range(p):
                s[qr + c, qr + e] -= gx[c] * gx[e]
    for k in range(m):
        mark[k] = 0
    if not np.all(np.isfinite(s)):
        return None
    try:
        return _prefix_cholesky(s, prefix) if prefix else np.linalg.cholesky(s)
    except Exception:
        return None


@njit(cache=True)
def _prefix_cholesky(s, d):
    """Cholesky factor of ``s`` (overwritten) whose leading d x d block is diagonal:
    those columns by sparse rank-one updates (each touches the few rows where it is
    nonzero), the trailing block by LAPACK. A second term nested in the lead one
    (grouseticks' broods, after the observation-level effects) makes such a block."""
    m = s.shape[0]
    out = np.zeros((m, m))
    rows = np.empty(m, np.int64)
    for j in range(d):
        pivot = s[j, j]
        if not pivot > 0.0:
            raise ValueError("not positive definite")
        root = np.sqrt(pivot)
        out[j, j] = root
        count = 0
        for i in range(d, m):
            if s[i, j] != 0.0:
                out[i, j] = s[i, j] / root
                rows[count] = i
                count += 1
        for a in range(count):
            ra = rows[a]
            va = out[ra, j]
            for b in range(count):
                s[ra, rows[b]] -= va * out[rows[b], j]
    out[d:, d:] = np.linalg.cholesky(np.ascontiguousarray(s[d:, d:]))
    return out


@njit(cache=True)
def solve_system(r1, r2, k, w, pos, zl, x, lead_ptr, lead_rows, n1, qr, l11, l22):
    """Solve M (x1, x2) = (r1, r2) over u (k = qr) or (u, beta) (k = qr + p)."""
    n, p = x.shape
    nt = pos.shape[0]
    y1 = r1 / l11
    b = r2[:k].copy()
    for lev in range(n1):
        for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
            i = lead_rows[r]
            coef = y1[lev] * w[i] * zl[0, i] / l11[lev]
            for t in range(1, nt):
                b[pos[t, i] - n1] -= coef * zl[t, i]
            if k > qr:
                for c in range(p):
                    b[qr + c] -= coef * x[i, c]
    for j in range(k):                      # L22 y = b
        v = b[j]
        for e in range(j):
            v -= l22[j, e] * b[e]
        b[j] = v / l22[j, j]
    for j in range(k - 1, -1, -1):          # L22' x2 = y
        v = b[j]
        for e in range(j + 1, k):
            v -= l22[e, j] * b[e]
        b[j] = v / l22[j, j]
    x1 = y1.copy()
    for lev in range(n1):
        acc = 0.0
        for r in range(lead_ptr[lev], lead_ptr[lev + 1]):
            i = lead_rows[r]
            a = w[i] * zl[0, i] / l11[lev]
            v = 0.0
            for t in range(1, nt):
                v += zl[t, i] * b[pos[t, i] - n1]
            if k > qr:
                for c in range(p):
                    v += x[i, c] * b[qr + c]
            acc += a * v
        x1[lev] = (y1[lev] - acc) / l11[lev]
    return x1, b


@njit(cache=True)
def rhs(v, u, pos, zl, x, n1, qr, joint):
    """(Lambda' Z' v - u over the lead levels, the same over the rest and X' v)."""
    n, p = x.shape
    q = u.shape[0]
    full = np.zeros(q + p)
    for i in range(n):
        for t in range(pos.shape[0]):
            full[pos[t, i]] += zl[t, i] * v[i]
        if joint:
            for c in range(p):
                full[q + c] += x[i, c] * v[i]
    full[:q] -= u
    return full[:n1].copy(), full[n1:].copy()


@njit(cache=True)
def pirls(theta_lams, beta, u, joint, family, y, wt, off, x, pos, z, lead_ptr, lead_rows,
          n1, qr, prefix, wy, wn, const, tol, max_iter, max_halvings):
    """The conditional modes (with beta when ``joint``) from the start (beta, u).

    Returns (status, u, beta, eta, mu, w, deviance, u_sq, l11, l22, iterations); status
    0 converged, 1 no valid start, 2 no fall, 3 out of iterations, 4 not positive
    definite.
    """
    n, p = x.shape
    m = qr + p
    zl = scaled_columns(z, theta_lams)
    u = u.copy()
    beta = beta.copy()
    eta, mu, me, var = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    w, v = np.empty(n), np.empty(n)
    l11 = np.ones(n1)
    l22 = np.eye(m)
    s = np.empty((m, m))
    scratch, mark, touched = np.zeros(max(qr, 1)), np.zeros(m + 1, np.int64), \
        np.zeros(max(qr, 1), np.int64)
    _linear_predictor(eta, off, x, beta, pos, zl, u)
    u_sq = np.sum(u * u)
    ok = _means(family, eta, mu, me, var)
    if not ok:
        u[:] = 0.0
        u_sq = 0.0
        _linear_predictor(eta, off, x, beta, pos, zl, u)
        ok = _means(family, eta, mu, me, var)
        if not ok:
            return 1, u, beta, eta, mu, w, np.inf, u_sq, l11, l22, 0
    pdev = _deviance(family, mu, wy, wn, const) + u_sq
    k = m if joint else qr
    previous = np.inf
    new_u, new_beta = np.empty_like(u), np.empty_like(beta)
    new_eta, new_mu, new_me, new_var = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for iteration in range(1, max_iter + 1):
        for i in range(n):
            w[i] = wt[i] * me[i] * me[i] / var[i]
            v[i] = wt[i] * (y[i] - mu[i]) * me[i] / var[i]
        r1, r2 = rhs(v, u, pos, zl, x, n1, qr, joint)
        factor = _factor(w, pos, zl, x, lead_ptr, lead_rows, n1, qr, prefix, l11, s, scratch,
                         mark, touched)
        if factor is None:
            return 4, u, beta, eta, mu, w, np.inf, u_sq, l11, l22, iteration
        l22 = factor
        d1, d2 = solve_system(r1, r2, k, w, pos, zl, x, lead_ptr, lead_rows, n1, qr, l11, l22)
        decrement = np.sum(r1 * d1) + np.sum(r2[:k] * d2)
        scale = max(1.0, pdev)
        if decrement < tol * scale or (decrement < 1e-14 * scale and decrement > 0.25 * previous):
            return 0, u, beta, eta, mu, w, pdev - u_sq, u_sq, l11, l22, iteration
        previous = decrement
        step = 1.0
        accepted = False
        for _ in range(max_halvings):
            new_u[:n1] = u[:n1] + step * d1
            new_u[n1:] = u[n1:] + step * d2[:qr]
            new_beta[:] = beta
            if joint:
                new_beta += step * d2[qr:]
            _linear_predictor(new_eta, off, x, new_beta, pos, zl, new_u)
            new_sq = np.sum(new_u * new_u)
            new_pdev = np.inf
            if _means(family, new_eta, new_mu, new_me, new_var):
                new_pdev = _deviance(family, new_mu, wy, wn, const) + new_sq
            if new_pdev <= pdev + 1e-12 * abs(pdev) or decrement < 1e-12 * scale:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            return 2, u, beta, eta, mu, w, np.inf, u_sq, l11, l22, iteration
        u[:] = new_u
        beta[:] = new_beta
        eta[:] = new_eta
        mu[:] = new_mu
        me[:] = new_me
        var[:] = new_var
        pdev, u_sq = new_pdev, new_sq
    return 3, u, beta, eta, mu, w, np.inf, u_sq, l11, l22, max_iter


@njit(cache=True)
def log_determinant(l11, l22, qr):
    """log det(Lambda' Z' W Z Lambda + I) from the factor (the X part left out)."""
    total = 0.0
    for d in l11:
        total += np.log(d)
    for j in range(qr):
        total += np.log(l22[j, j])
    return 2.0 * total
