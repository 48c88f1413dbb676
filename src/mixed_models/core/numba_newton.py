"""Newton's method of :func:`mixed_models.core.dense_newton.newton_fit`, compiled (numba)
around the compiled block objective, for small models.

A sleepstudy fit is about 25 evaluations of a few microseconds each; in Python, the
iteration around them (steps, line search, Hessian updates: a hundred small numpy calls)
cost ten times the evaluations. The steps here are the Python version's, decision for
decision: the same start, stopping rules, projected Newton step (the Hessian shifted to
positive definite by its eigenvalues when its Cholesky factor fails), Armijo
backtracking, BFGS update over full steps and the confirming last step; the tests
compare both. Imported only once numba is known to be installed.
"""

from __future__ import annotations

import numba
import numpy as np

from mixed_models.core.numba_kernels import block_objective
from mixed_models.core.numba_linalg import _cholesky, _solve


@numba.njit(cache=True, nogil=True)
def _jacobi_eigen(h):  # pragma: no cover
    """Eigenvalues and eigenvectors (columns) of the small symmetric h by cyclic Jacobi
    rotations (numba compiles numpy's eigh far more slowly than it runs)."""
    n = h.shape[0]
    a = h.copy()
    v = np.zeros((n, n))
    for i in range(n):
        v[i, i] = 1.0
    for _ in range(100):
        off = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                off += a[i, j] * a[i, j]
        if off <= 1e-30 * max(1e-300, np.sum(a * a)):
            break
        for p in range(n):
            for q in range(p + 1, n):
                if a[p, q] == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                t = np.sign(theta) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta == 0.0:
                    t = 1.0
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):  # rotate columns p, q, then rows p, q
                    akp, akq = a[k, p], a[k, q]
                    a[k, p], a[k, q] = c * akp - s * akq, s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p, k], a[q, k]
                    a[p, k], a[q, k] = c * apk - s * aqk, s * apk + c * aqk
                for k in range(n):
                    vkp, vkq = v[k, p], v[k, q]
                    v[k, p], v[k, q] = c * vkp - s * vkq, s * vkp + c * vkq
    values = np.empty(n)
    for i in range(n):
        values[i] = a[i, i]
    return values, v


@numba.njit(cache=True, nogil=True)
def _newton_step(hess, g, free):  # pragma: no cover
    """(step, decrement, ok) over the free entries (ok False: no step)."""
    k = g.shape[0]
    step = np.zeros(k)
    n_free = 0
    for i in range(k):
        if free[i]:
            n_free += 1
    if n_free == 0:
        return step, 0.0, False
    for i in range(k):
        for j in range(k):
            if not np.isfinite(hess[i, j]):
                return step, np.inf, False
    index = np.empty(n_free, dtype=np.intp)
    j = 0
    for i in range(k):
        if free[i]:
            index[j] = i
            j += 1
    h = np.empty((n_free, n_free))
    gf = np.empty((n_free, 1))
    for a in range(n_free):
        gf[a, 0] = g[index[a]]
        for b in range(n_free):
            h[a, b] = hess[index[a], index[b]]
    chol = np.zeros((n_free, n_free))
    if _cholesky(h, chol, n_free):
        solved = gf.copy()
        _solve(chol, solved, n_free, 1)
        finite = True
        for a in range(n_free):
            finite = finite and np.isfinite(solved[a, 0])
        if finite:
            decrement = 0.0
            for a in range(n_free):
                step[index[a]] = -solved[a, 0]
                decrement += gf[a, 0] * solved[a, 0]
            return step, 0.5 * decrement, True
    # not positive definite: flip negative curvature and bound small curvature
    values, vectors = _jacobi_eigen(h)
    top = 1e-12
    for a in range(n_free):
        top = max(top, abs(values[a]))
    decrement = 0.0
    for b in range(n_free):
        coef = 0.0
        for a in range(n_free):
            coef += vectors[a, b] * gf[a, 0]
        coef /= max(abs(values[b]), 1e-8 * top)
        for a in range(n_free):
            step[index[a]] -= vectors[a, b] * coef
    for a in range(n_free):
        decrement -= gf[a, 0] * step[index[a]]
    return step, 0.5 * decrement, True


@numba.njit(cache=True, nogil=True)
def _project(theta, diagonal):  # pragma: no cover
    out = theta.copy()
    for i in range(theta.shape[0]):
        if diagonal[i] and out[i] < 0.0:
            out[i] = 0.0
    return out


@numba.njit(cache=True, nogil=True)
def _dot(a, b):  # pragma: no cover
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@numba.njit(cache=True, nogil=True)
def _bfgs(hess, s, y):  # pragma: no cover
    """BFGS's update of the Hessian approximation (skipped without positive curvature)."""
    k = s.shape[0]
    hs = np.zeros(k)
    for i in range(k):
        for j in range(k):
            hs[i] += hess[i, j] * s[j]
    sy, shs = _dot(s, y), _dot(s, hs)
    if not (sy > 1e-12 * np.sqrt(_dot(s, s) * _dot(y, y)) and shs > 0.0):
        return hess
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            out[i, j] = hess[i, j] - hs[i] * hs[j] / shs + y[i] * y[j] / sy
    return out


@numba.njit(cache=True, nogil=True)
def block_newton(start, diagonal, hess0, has_hess, confirm, max_evaluations, max_steps,
                 tol, noise, hessian_step, halvings, a1, at1, att, lead_r, lead_c, lead_g,
                 tail_r, tail_c, tail_g, q_rest, reml, weight, constant):  # pragma: no cover
    """Newton's method from ``start``; returns (theta, objective, gradient, decrement,
    evaluations, converged, hessian, fresh)."""
    k = start.shape[0]
    calls = 0

    theta = _project(start, diagonal)
    f, g = block_objective(theta, a1, at1, att, lead_r, lead_c, lead_g, tail_r, tail_c,
                           tail_g, q_rest, reml, weight, constant)
    calls += 1
    hess = hess0.copy()
    if not np.isfinite(f):
        return theta, f, g, np.inf, calls, False, hess, False
    decrement, fresh, converged = np.inf, False, False
    previous, has_previous = 0.0, False
    for _ in range(max_steps):
        if calls >= max_evaluations:
            converged = False
            break
        if not has_hess:
            for i in range(k):  # forward differences of the exact gradient
                h = hessian_step * max(1.0, abs(theta[i]))
                shifted = theta.copy()
                shifted[i] += h
                _, g_i = block_objective(shifted, a1, at1, att, lead_r, lead_c, lead_g,
                                         tail_r, tail_c, tail_g, q_rest, reml, weight,
                                         constant)
                calls += 1
                hess[i] = (g_i - g) / h
            for i in range(k):
                for j in range(i):
                    hess[i, j] = hess[j, i] = 0.5 * (hess[i, j] + hess[j, i])
            has_hess, fresh = True, True
        free = np.empty(k, dtype=np.bool_)
        for i in range(k):
            free[i] = not (diagonal[i] and theta[i] <= 0.0 and g[i] >= 0.0)
        step, decrement, ok = _newton_step(hess, g, free)
        scale = max(1.0, abs(f))
        if not ok or decrement <= tol * scale:
            converged = ok or decrement == 0.0
            if fresh or (converged and not confirm):
                if ok and decrement > 0.0:  # the confirming last step
                    trial = _project(theta + step, diagonal)
                    f_t, g_t = block_objective(trial, a1, at1, att, lead_r, lead_c, lead_g,
                                               tail_r, tail_c, tail_g, q_rest, reml,
                                               weight, constant)
                    calls += 1
                    after = _newton_step(hess, g_t, free)[1]
                    before = _newton_step(hess, g, free)[1]
                    if np.isfinite(f_t) and f_t <= f + 1e-15 * abs(f) and after < before:
                        theta, f, g = trial, f_t, g_t
                break
            has_hess = False
            continue
        accepted, full = False, False
        t = 1.0
        trial, f_t, g_t = theta, f, g
        for _ in range(halvings):  # Armijo backtracking along the projected step
            trial = _project(theta + t * step, diagonal)
            moved = trial - theta
            f_t, g_t = block_objective(trial, a1, at1, att, lead_r, lead_c, lead_g, tail_r,
                                       tail_c, tail_g, q_rest, reml, weight, constant)
            calls += 1
            if np.isfinite(f_t) and f_t <= f + 1e-4 * _dot(g, moved):
                accepted, full = True, t == 1.0
                break
            t *= 0.5
        if not accepted:
            converged = fresh and decrement <= noise * scale
            if fresh:
                break
            has_hess = False
            continue
        if f - f_t <= tol * scale and decrement <= noise * scale and fresh:
            theta, f, g, converged = trial, f_t, g_t, True
            break
        slow = has_previous and decrement > 0.25 * previous
        if full and not slow:
            hess = _bfgs(hess, trial - theta, g_t - g)
        else:
            has_hess = False
        theta, f, g, fresh = trial, f_t, g_t, False
        previous, has_previous = decrement, True
    return theta, f, g, decrement, calls, converged, hess, fresh


@numba.njit(cache=True, nogil=True)
def moment_theta(a1, cross, yy, n_obs, n_fixed, rows, cols, linked, floor,
                 singular):  # pragma: no cover
    """:func:`mixed_models.core.start.moment_start`'s guess, compiled: (ok, theta)."""
    levels, size = a1.shape[0], a1.shape[1]
    inverse_sum = np.zeros((size, size))
    moment = np.zeros((size, size))
    chol = np.zeros((size, size))
    fitted, m = 0.0, 0
    for lv in range(levels):
        scale = 1.0
        for i in range(size):
            scale *= a1[lv, i, i]
        if not scale > 0.0 or not _cholesky(a1[lv], chol, size):
            continue
        det = 1.0
        for i in range(size):
            det *= chol[i, i] * chol[i, i]
        if not det > singular * scale:
            continue
        inverse = np.zeros((size, size))
        for i in range(size):
            inverse[i, i] = 1.0
        _solve(chol, inverse, size, size)
        coef = np.zeros(size)
        for i in range(size):
            for j in range(size):
                coef[i] += inverse[i, j] * cross[lv, j]
        for i in range(size):
            fitted += coef[i] * cross[lv, i]
            for j in range(size):
                moment[i, j] += coef[i] * coef[j]
                inverse_sum[i, j] += inverse[i, j]
        m += 1
    theta = np.zeros(rows.shape[0])
    df = n_obs - n_fixed - size * m
    if m < size + 1 or df <= 0:
        return False, theta
    sigma2 = (yy - fitted) / df
    if not (np.isfinite(sigma2) and sigma2 > 0.0):
        return False, theta
    relative = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            if linked[i, j]:
                relative[i, j] = (moment[i, j] / m - sigma2 * inverse_sum[i, j] / m) / sigma2
    sym = 0.5 * (relative + relative.T)
    values, vectors = _jacobi_eigen(sym)
    top = values.max()
    if not (np.isfinite(top) and top > 0.0):
        return False, theta
    raised = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            if linked[i, j]:
                for k in range(size):
                    raised[i, j] += vectors[i, k] * max(values[k], floor * top) * vectors[j, k]
    lower = np.zeros((size, size))
    if not _cholesky(raised, lower, size):
        return False, theta
    for e in range(rows.shape[0]):
        theta[e] = lower[rows[e], cols[e]]
    return True, theta
