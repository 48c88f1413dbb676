"""The analytic gradient of the profiled objective, from dense matrices (small models).

With M = L~' A L~ + diag(I_q, 0) over [Z X y] (L~ = blockdiag(Lambda, I)), the REML
criterion is log det M + (n - p - 1) log r^2 and the ML deviance is log det M_zz +
n log r^2 (plus constants), where r^2 = 1 / (M^-1)_yy. Every derivative is a trace
against M^-1: d log det M = 2 tr(M^-1 L~' A dL~), and d log r^2 = 2 r^2 v' L~' A dL~ v
with v = M^-1 e_y. This costs O((q + p)^3), so it is for models with a few thousand
random effects at most; the large models keep the derivative-free optimizer.

Unstable: an experiment for issue 7 (quasi-Newton fits); not used by the default fit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf, dpotri

from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import CrossProducts
from mixed_models.errors import InvalidArgumentError

MAX_DENSE = 3000
KICKS, KICK = 3, 0.1  # restarts off a zero diagonal entry, and where to


def dense_system(cp: CrossProducts) -> np.ndarray:
    """A = [Z X y]' W [Z X y] as one dense matrix, lead term first (the factor's order)."""
    lead = cp.lead
    q1, m = lead.q, cp.avv.shape[0]
    a = np.zeros((q1 + m, q1 + m))
    a[:q1, :q1] = sp.block_diag(list(cp.a11)).toarray() if q1 else 0.0
    qr = cp.q_rest
    if qr:
        ar1 = cp.ar1.toarray() if sp.issparse(cp.ar1) else cp.ar1
        a[q1:q1 + qr, :q1] = ar1
    a[q1 + qr:, :q1] = cp.ax1
    a[q1:, q1:] = cp.avv
    lower = np.tril(a)
    return lower + np.tril(lower, -1).T


def _layout(cp: CrossProducts, theta_slices: list[slice]):
    """Offset of each term in the dense order, and per theta entry its (rows, cols)."""
    offsets = {}
    start = 0
    for i in cp.order:
        offsets[i] = start
        start += cp.terms[i].q
    positions = []
    for i, term in enumerate(cp.terms):
        levels = np.arange(term.n_levels) * term.size + offsets[i]
        for r, c in zip(term.covariance.rows, term.covariance.cols):
            positions.append((levels + r, levels + c))
    return offsets, positions


def _scale_rows(cp: CrossProducts, offsets: dict, lams: list[np.ndarray],
                a: np.ndarray) -> np.ndarray:
    """L~' a: each term's rows multiplied, level by level, by its lambda'."""
    out = np.array(a, order="C")
    for i, term in enumerate(cp.terms):
        o = offsets[i]
        block = out[o:o + term.q].reshape(term.n_levels, term.size, -1)
        out[o:o + term.q] = (lams[i].T @ block).reshape(term.q, -1)
    return out


def objective_and_gradient(cp: CrossProducts, theta_slices: list[slice], theta: np.ndarray,
                           reml: bool, a: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Profiled objective (REML criterion or ML deviance) and its gradient at theta.

    ``a`` is :func:`dense_system` of ``cp`` (pass it to avoid rebuilding it per call).
    Returns (inf, nan) where M is not positive definite.
    """
    a = dense_system(cp) if a is None else a
    offsets, positions = _layout(cp, theta_slices)
    size = a.shape[0]
    q = size - cp.avv.shape[0] + cp.q_rest
    lams = [t.covariance.lam(theta[s]) for t, s in zip(cp.terms, theta_slices)]
    b = _scale_rows(cp, offsets, lams, a)  # L~' A, block by block
    m = _scale_rows(cp, offsets, lams, b.T).T  # L~' A L~
    m[np.arange(q), np.arange(q)] += 1.0
    chol, info = dpotrf(m, lower=1, clean=1)
    if info != 0:
        return np.inf, np.full(len(theta), np.nan)
    n, p = cp.n_obs, cp.n_fixed
    diag = np.log(np.diag(chol))
    r2 = np.exp(2 * diag[-1])
    minv, _ = dpotri(chol, lower=1)
    minv = np.tril(minv) + np.tril(minv, -1).T
    v = minv[:, -1] * r2  # M^-1 e_y / (M^-1)_yy: v_y = 1
    rows = np.concatenate([r for r, _ in positions])
    cols = np.concatenate([c for _, c in positions])
    group = np.repeat(np.arange(len(positions)), [len(r) for r, _ in positions])
    if reml:
        nu = n - p
        value = 2 * diag.sum() + (nu - 1) * np.log(r2)
        weight = nu - 1
        inverse_rows = minv[cols]  # rows c of M^-1
    else:
        nu = n
        value = 2 * diag[:q].sum() + nu * np.log(r2)
        weight = nu
        # rows c of (M_zz)^-1 from M^-1 by the Schur complement of its [X y] block
        tail = minv[q:, q:]
        inverse_rows = np.zeros((len(cols), size))
        inverse_rows[:, :q] = minv[cols, :q] - minv[cols, q:] @ np.linalg.solve(tail, minv[q:, :q])
    # dL~ has ones at (rows, cols): tr(S B dL~) = sum (S B)[cols, rows]; v' B dL~ v likewise
    traces = np.einsum("kj,kj->k", inverse_rows, np.ascontiguousarray(b.T)[rows])
    vb = v @ b
    grad = 2 * np.bincount(group, traces, len(positions)) \
        + 2 * weight / r2 * np.bincount(group, vb[rows] * v[cols], len(positions))
    value += nu * (1 + np.log(2 * np.pi / nu)) - cp.sum_log_weights
    return float(value), grad


def quasi_newton(problem, start: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """Minimize ``problem``'s objective by L-BFGS-B on the analytic gradient.

    Within the problem's bounds; returns (rectified theta, objective, evaluations). Only
    for models with up to ``MAX_DENSE`` random effects.
    """
    from scipy.optimize import minimize

    from mixed_models.core.threads import blas_threads_for

    cp = problem.cp
    if cp.lead.q + cp.avv.shape[0] > MAX_DENSE:
        raise InvalidArgumentError(
            f"optimizer 'lbfgs' works on dense matrices: this model has "
            f"{cp.lead.q + cp.q_rest} random effects, at most {MAX_DENSE - cp.n_fixed - 1} "
            "are allowed; use 'bobyqa' or 'newuoa'")
    if not all(isinstance(t.covariance, PatternCovariance) for t in cp.terms):
        raise InvalidArgumentError(
            "optimizer 'lbfgs' needs unstructured or diagonal covariances (theta entries of "
            "lambda); this model has a cs, ar1 or block structure: use 'bobyqa'")
    a = dense_system(cp)
    calls = [0]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        calls[0] += 1
        value, grad = objective_and_gradient(cp, problem.factor.theta_slices, theta,
                                             problem.reml, a)
        if not np.isfinite(value):  # outside the positive definite region: a wall
            return 1e300, np.zeros_like(theta)
        return value, grad

    theta = problem.start() if start is None else np.asarray(start, dtype=float)
    diagonal = problem.diagonal_mask()
    bounds = [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
              for lo, hi in zip(problem.lower_bounds(), problem.upper_bounds())]
    best, value = theta, np.inf
    with blas_threads_for(a.shape[0]):
        for _ in range(KICKS + 1):
            result = minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000,
                                       "maxcor": 20})
            if result.fun >= value - 1e-10 * max(1.0, abs(value)):
                break
            best, value = result.x, result.fun
            # A zero column of lambda is a stationary point (the objective depends on
            # its square there): step back inside and see whether it was a saddle.
            at_zero = diagonal & (best == 0.0)
            if not np.any(at_zero):
                break
            theta = np.where(at_zero, KICK, best)
    theta = problem.rectify(best)
    return theta, problem.objective(theta), calls[0] + 1


def quasi_newton_result(problem, start: np.ndarray):
    """:func:`quasi_newton` as an OptimizationResult (the factor left at the optimum)."""
    from mixed_models.core.optimize import OptimizationResult

    theta, value, evaluations = quasi_newton(problem, start)
    return OptimizationResult("lbfgs", np.asarray(start, dtype=float), theta, value,
                              evaluations, "SUCCESS", 0, [])
