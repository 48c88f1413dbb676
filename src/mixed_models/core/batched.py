"""Many responses of one single-term model fitted together (the parametric bootstrap).

A bootstrap refits the same model to a thousand simulated responses. For a model whose
only random-effects term has at most ``MAX_SIZE`` columns per level, one fit costs
microseconds of arithmetic and a millisecond of Python around it; fitted together, the
arithmetic of all the responses is a few whole-array operations over (response, level)
blocks, and the Python is paid once per Newton iteration, not once per response.

Per response r, at its own theta_r (lambda_r of the term), with the cross-products of
the original columns and y_r its least-squares residual on X (as the single fit's):

    M_rl = lambda_r' Z_l'Z_l lambda_r + I,     G_rl = chol(M_rl)^-1 lambda_r' Z_l'[X y_r]
    S_r = [X y_r]'[X y_r] - sum_l G_rl' G_rl  =  L_r L_r'

and the profiled objective is log det M_r + log r_r^2 terms, with r_r = L_r[p, p] (and
log det of L_r's X block for REML): the same numbers as the single fit's factor. Theta
is found by Newton's method from a common start (the fit's theta), the gradient and
Hessian from central differences of the batched objective; a response whose iterations
end off a confirmed interior optimum (a variance at zero, a Hessian that is not
positive definite, no convergence) is reported, and the caller fits it alone.

Unstable: a new module; only unweighted single-term models of ``PatternCovariance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))
MAX_SIZE = 4
# Newton iterations at most; the decrement (predicted decrease) that ends them; the
# relative difference step of the derivatives; halvings of a step that raises the
# objective.
MAX_ITERATIONS = 30
LAST_STEP = 1e-9
STEP = 2e-4
HALVINGS = 12
# A diagonal entry of lambda below this is a variance at (or heading for) zero: that
# response is fitted again with the column held at zero.
INTERIOR = 1e-3
# The step off a zero column, and the relative eigenvalue taken as zero curvature there.
ZERO_STEP, ZERO_CURVATURE = 1e-3, 1e-6


@dataclass(frozen=True)
class BatchedModel:
    """The parts of a single-term model that every response shares.

    Attributes
    ----------
    a11
        Z_l'Z_l per level, (L, S, S).
    xz
        Z_l'X per level, (L, S, p).
    xtx
        X'X, (p, p).
    rows, cols
        The positions in lambda (S x S) of theta's entries.
    n, reml
        Number of observations; REML criterion or ML deviance.
    """

    a11: np.ndarray
    xz: np.ndarray
    xtx: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    n: int
    reml: bool

    @property
    def p(self) -> int:
        return self.xtx.shape[0]

    @property
    def diagonal(self) -> np.ndarray:
        """Which theta entries are on lambda's diagonal."""
        return self.rows == self.cols

    def lambdas(self, theta: np.ndarray) -> np.ndarray:
        """lambda of every response, (R, S, S), from theta (R, k)."""
        size = self.a11.shape[1]
        lam = np.zeros((theta.shape[0], size, size))
        lam[:, self.rows, self.cols] = theta
        return lam


@dataclass(frozen=True)
class Responses:
    """What each response brings: Z_l'y_r (R, L, S), X'y_r (R, p), y_r'y_r (R,)."""

    zy: np.ndarray
    xy: np.ndarray
    yy: np.ndarray


@dataclass(frozen=True)
class BatchedFit:
    """Theta, the objective, the fixed effects (of the residual responses) and the
    residual variance of every response; ``done`` marks the confirmed ones."""

    theta: np.ndarray
    objective: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    done: np.ndarray


def objective(model: BatchedModel, data: Responses, theta: np.ndarray,
              with_estimates: bool = False):
    """The objective of every response at its theta (R,), inf where a matrix is not
    positive definite; with ``with_estimates``, also beta (R, p) and sigma^2 (R,)."""
    lam = model.lambdas(theta)
    count, (levels, size) = len(theta), model.a11.shape[:2]
    p = model.p
    # every level's lambda' A_l lambda at once: vec(lambda' A lambda) = vec(A) (lambda kron
    # lambda), one small matrix product per response
    kron = (lam[:, :, None, :, None] * lam[:, None, :, None, :]).reshape(count, size * size,
                                                                         size * size)
    m = (model.a11.reshape(levels, size * size)[None] @ kron).reshape(count, levels, size, size)
    m[..., np.arange(size), np.arange(size)] += 1.0
    chol = cholesky(m)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=2, axis2=3)).sum(axis=(1, 2))
    # lambda' Z_l'[X y]: (R, L, S, p + 1); then C^-1 of it
    lam_t = np.swapaxes(lam, 1, 2)
    right_x = (lam_t @ model.xz.transpose(1, 0, 2).reshape(size, levels * p))
    right = np.concatenate([right_x.reshape(count, size, levels, p).transpose(0, 2, 1, 3),
                            (data.zy @ lam)[..., None]], axis=3)
    g = forward_solve(chol, right).reshape(count, levels * size, p + 1)
    schur = -(np.swapaxes(g, 1, 2) @ g)
    schur[:, :p, :p] += model.xtx
    schur[:, :p, p] += data.xy
    schur[:, p, :p] += data.xy
    schur[:, p, p] += data.yy
    rest = cholesky(schur)
    diag = np.diagonal(rest, axis1=1, axis2=2)
    r2 = diag[:, p] ** 2
    n = model.n
    with np.errstate(invalid="ignore", divide="ignore"):
        if model.reml:
            nu = n - p
            value = logdet + 2.0 * np.log(diag[:, :p]).sum(axis=1) \
                + nu * (1.0 + LOG_2PI + np.log(r2 / nu))
        else:
            nu = n
            value = logdet + n * (1.0 + LOG_2PI + np.log(r2 / n))
    value = np.where(np.isfinite(value), value, np.inf)
    if not with_estimates:
        return value
    # S_xy = L_xx l_yx: beta = L_xx^-T l_yx
    beta = np.linalg.solve(np.swapaxes(rest[:, :p, :p], 1, 2), rest[:, p, :p, None])[..., 0] \
        if p else np.zeros((len(value), 0))
    return value, beta, r2 / nu


def cholesky(m: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of small matrices (..., s, s), entry by entry
    over whole arrays (LAPACK's per-matrix overhead would dominate); NaN where a matrix
    is not positive definite."""
    s = m.shape[-1]
    lower = np.zeros_like(m)
    for j in range(s):
        pivot = m[..., j, j].copy()
        for t in range(j):
            pivot -= lower[..., j, t] ** 2
        with np.errstate(invalid="ignore"):
            diagonal = np.sqrt(np.where(pivot > 0, pivot, np.nan))
        lower[..., j, j] = diagonal
        for i in range(j + 1, s):
            below = m[..., i, j].copy()
            for t in range(j):
                below -= lower[..., i, t] * lower[..., j, t]
            lower[..., i, j] = below / diagonal
    return lower


def forward_solve(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L^-1 B for stacks of lower-triangular L (..., s, s) and B (..., s, c)."""
    out = np.empty_like(b)
    for i in range(lower.shape[-1]):
        row = b[..., i, :].copy()
        for t in range(i):
            row -= lower[..., i, t, None] * out[..., t, :]
        out[..., i, :] = row / lower[..., i, i, None]
    return out


def newton(model: BatchedModel, data: Responses, start: np.ndarray) -> BatchedFit:
    """Newton's method for every response from ``start`` (k,), on central differences.

    A response whose iterations head for a zero variance is fitted again with that
    column of lambda held at zero, and done when the objective rises off the column
    both ways (:func:`_rises_off`): an optimum on the boundary.
    """
    count, k = data.yy.shape[0], len(start)
    theta = np.tile(np.asarray(start, dtype=float), (count, 1))
    theta, value, done = _iterate(model, data, theta, np.ones(k, dtype=bool))
    theta = _positive_columns(model, theta)
    small = theta[:, model.diagonal] <= INTERIOR
    done &= ~small.any(axis=1)
    for pattern in np.unique(small[small.any(axis=1)], axis=0):
        rows = np.flatnonzero(np.all(small == pattern, axis=1) & np.isfinite(value))
        zeroed = np.isin(model.cols, model.cols[model.diagonal][pattern])
        held = theta[rows].copy()
        held[:, zeroed] = 0.0
        sub = _subset(data, rows)
        held, held_value, converged = _iterate(model, sub, held, ~zeroed)
        held = _positive_columns(model, held)
        ok = converged & np.isfinite(held_value) \
            & np.all(held[:, model.diagonal & ~zeroed] > INTERIOR, axis=1)
        ok[ok] = _rises_off(model, _subset(sub, np.flatnonzero(ok)), held[ok],
                            held_value[ok], zeroed)
        theta[rows[ok]], value[rows[ok]], done[rows[ok]] = held[ok], held_value[ok], True
    value, beta, sigma2 = objective(model, data, theta, with_estimates=True)
    return BatchedFit(theta, value, beta, sigma2, done)


def _iterate(model: BatchedModel, data: Responses, theta: np.ndarray, free: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modified Newton over the ``free`` entries of every response's theta (the others
    stay as they are); returns theta, the objective and which converged."""
    count = len(theta)
    theta = theta.copy()
    value = objective(model, data, theta)
    active = np.isfinite(value)
    done = np.zeros(count, dtype=bool)
    index = np.flatnonzero(free)
    if len(index) == 0:  # every column held at zero: nothing to move
        return theta, value, active
    for _ in range(MAX_ITERATIONS):
        if not np.any(active):
            break
        idx = np.flatnonzero(active)
        grad, hess = _derivatives(model, _subset(data, idx), theta[idx], value[idx], index)
        ok = np.isfinite(hess).all(axis=(1, 2)) & np.isfinite(grad).all(axis=1)
        active[idx[~ok]] = False  # left to the single fits
        idx, grad, hess = idx[ok], grad[ok], hess[ok]
        if len(idx) == 0:
            continue
        # eigenvalues by their size, so that every step descends where a Hessian is not
        # positive definite (far from the optimum, or near a saddle)
        values, vectors = np.linalg.eigh(hess)
        convex = values[:, 0] > 0
        floor = 1e-8 * np.maximum(np.abs(values).max(axis=1, keepdims=True), 1.0)
        along = np.einsum("rki,rk->ri", vectors, grad) / np.maximum(np.abs(values), floor)
        step = np.zeros((len(idx), theta.shape[1]))
        step[:, index] = -np.einsum("rki,ri->rk", vectors, along)
        decrement = -0.5 * np.einsum("rk,rk->r", grad, step[:, index])
        # a step predicting less than LAST_STEP is the last: Newton's next decrement would
        # be about its square
        finished = (decrement < LAST_STEP) & convex
        last = idx[finished]
        theta[last] += step[finished]
        value[last] = objective(model, _subset(data, last), theta[last])
        done[last] = True
        active[last] = False
        moving = idx[~finished]
        if len(moving) == 0:
            break
        theta[moving], value[moving], stuck = _line_search(
            model, data, theta[moving], value[moving], step[~finished], moving)
        active[moving[stuck]] = False  # no step lowers it: left to the single fits
    return theta, value, done & np.isfinite(value)


def _rises_off(model: BatchedModel, data: Responses, theta: np.ndarray, value: np.ndarray,
               zeroed: np.ndarray) -> np.ndarray:
    """Whether each response's objective rises when its zeroed lambda columns move. It
    is even in a zero column, f(c) = f(0) + c'Hc / 2 + ..., so H's second differences
    from one side decide: H positive semi-definite (to its rounding) is a minimum."""
    entries = np.flatnonzero(zeroed)
    h = ZERO_STEP
    single = np.empty((len(theta), len(entries)))
    hess = np.empty((len(theta), len(entries), len(entries)))
    for a, i in enumerate(entries):
        shifted = theta.copy()
        shifted[:, i] = h
        single[:, a] = objective(model, data, shifted)
        hess[:, a, a] = 2.0 * (single[:, a] - value) / h ** 2
    for a, i in enumerate(entries):
        for b in range(a):
            shifted = theta.copy()
            shifted[:, i], shifted[:, entries[b]] = h, h
            both = objective(model, data, shifted)
            hess[:, a, b] = hess[:, b, a] = (both - single[:, a] - single[:, b] + value) / h ** 2
    if not np.all(np.isfinite(hess)):
        return np.zeros(len(theta), dtype=bool)  # undecided: every one to the single fits
    lowest = np.linalg.eigvalsh(hess)[:, 0]
    return lowest > -ZERO_CURVATURE * np.maximum(np.abs(hess).max(axis=(1, 2)), 1.0)


def _positive_columns(model: BatchedModel, theta: np.ndarray) -> np.ndarray:
    """theta with every lambda column whose diagonal entry is negative negated: the same
    covariance (lambda D with D = diag(+-1)), and the objective is the same."""
    theta = theta.copy()
    for column in np.unique(model.cols):
        entries = model.cols == column
        diagonal = np.flatnonzero(entries & model.diagonal)[0]
        sign = np.where(theta[:, diagonal] < 0, -1.0, 1.0)
        theta[:, entries] *= sign[:, None]
    return theta


def _subset(data: Responses, idx: np.ndarray) -> Responses:
    return Responses(data.zy[idx], data.xy[idx], data.yy[idx])


def _derivatives(model: BatchedModel, data: Responses, theta: np.ndarray,
                 value: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (central differences) and Hessian of every response's objective over
    the entries ``index``: the diagonal from the same points, the off-diagonal entries
    from one more point each (forward, an O(h) error that only slows the last Newton
    steps a little): 1 + k(k+3)/2 batched evaluations for k entries."""
    count, k = len(theta), len(index)
    h = STEP * np.maximum(np.abs(theta[:, index]), 0.1)
    grad = np.empty((count, k))
    hess = np.empty((count, k, k))
    plus = np.empty((count, k))
    for a, i in enumerate(index):
        e = np.zeros_like(theta)
        e[:, i] = h[:, a]
        plus[:, a] = objective(model, data, theta + e)
        minus = objective(model, data, theta - e)
        grad[:, a] = (plus[:, a] - minus) / (2 * h[:, a])
        hess[:, a, a] = (plus[:, a] - 2 * value + minus) / h[:, a] ** 2
    for a, i in enumerate(index):
        for b in range(a):
            e = np.zeros_like(theta)
            e[:, i], e[:, index[b]] = h[:, a], h[:, b]
            both = objective(model, data, theta + e)
            hess[:, a, b] = hess[:, b, a] = \
                (both - plus[:, a] - plus[:, b] + value) / (h[:, a] * h[:, b])
    return grad, hess


def _line_search(model: BatchedModel, data: Responses, theta: np.ndarray, value: np.ndarray,
                 step: np.ndarray, idx: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Newton step, halved for each response until it does not raise the
    objective (beyond rounding); a response that finds no such step keeps its point
    and is marked in the third array returned."""
    sub = _subset(data, idx)
    theta, value = theta.copy(), value.copy()
    scale = np.ones(len(idx))
    pending = np.ones(len(idx), dtype=bool)
    for _ in range(HALVINGS):
        rows = np.flatnonzero(pending)
        trial = theta[rows] + scale[rows, None] * step[rows]
        trial_value = objective(model, _subset(sub, rows), trial)
        accept = trial_value <= value[rows] + 1e-12 * np.abs(value[rows])
        theta[rows[accept]] = trial[accept]
        value[rows[accept]] = trial_value[accept]
        pending[rows[accept]] = False
        scale[rows[~accept]] *= 0.5
        if not np.any(pending):
            break
    return theta, value, pending
