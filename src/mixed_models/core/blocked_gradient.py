"""The analytic gradient of the profiled objective through the blocked factor.

For models whose random-effects terms all have one column and one theta entry (random
intercepts, crossed or nested: InstEval, ratings), lambda is diagonal with theta_k on
the levels J_k of term k. With Omega = L~' A L~ + diag(I_q, 0) over [Z X y],
r^2 = pwrss and u the spherical random effects at the conditional optimum,

    d log det Omega / d theta_k = (2 / theta_k) (|J_k| - sum_{j in J_k} (Omega^-1)_jj)
    d log r^2 / d theta_k       = -(2 / (r^2 theta_k)) sum_{j in J_k} u_j^2

(the ML deviance uses Omega's random-effects block instead of Omega). The diagonal of
Omega^-1 comes from the blocked factor: the rest block's entries from the inverse of the
Schur complement S (LAPACK ``dpotri`` on the rest factor), the lead term's as
sum(1 / omega) + tr(S^-1 K) with K = Lambda_v A_v1 diag(lambda_1^2 / omega^2) A_1v
Lambda_v, summed over the pattern of the factor's sparse rank update without forming K.
A gradient therefore costs about twice an objective evaluation and, like it, does not
depend on the number of rows.
At theta_k = 0 both derivatives are 0 (the objective depends on theta_k^2 there).

Unstable: used by the default fit of large all-scalar models (see :mod:`mixed_models.core.fit`).
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import numpy as np

from mixed_models.core.convergence import difference_steps
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.factor import BlockedCholesky, profiled_objective
from mixed_models.core.lazy import lazy_module
from mixed_models.core.threads import blas_threads_for

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")

# Where restarts off zero entries start (in units), and how far off zero the check looks.
KICK = 0.1
ZERO_PROBE = 1e-2
# L-BFGS-B's relative decrease at which it stops: the Newton check that follows squares
# the remaining error, so the optimizer need not creep on to rounding level.
FTOL = 1e-12
# The Newton check's step is kept unless it raises the objective by more than this
# (relative): a rounding error.
ROUNDING = 1e-15
# L-BFGS-B's unit of theta (see core.lbfgs.lbfgs_b), and its gradient tolerance
# relative to the objective: the Newton check that follows takes theta's last digits.
UNIT = 0.1
GTOL = 1e-9
# Per factor, the last (theta, reml, objective, gradient): the Newton check starts where
# L-BFGS-B ended, and a gradient costs several factorizations.
_last: WeakKeyDictionary = WeakKeyDictionary()
# Per factor, the rest-sized array a gradient fills (until release()): on the 1M
# ratings it is 110 MB, and a fresh one costs its page faults, 0.1-0.2 s a gradient.
_work: WeakKeyDictionary = WeakKeyDictionary()


def release(factor: BlockedCholesky) -> None:
    """Drop what this module keeps for ``factor`` (call when its fit is done)."""
    _last.pop(factor, None)
    _work.pop(factor, None)


def _array(factor: BlockedCholesky, key: str, size: int, order: str) -> np.ndarray:
    """The factor's reused ``size`` x ``size`` array ``key`` (contents left over)."""
    arrays = _work.setdefault(factor, {})
    array = arrays.get(key)
    if array is None or array.shape != (size, size):
        array = arrays[key] = np.zeros((size, size), order=order)
    return array


def eligible(factor: BlockedCholesky, sigma: float | None) -> bool:
    """True when every term is a scalar with one theta entry and sigma is profiled."""
    return sigma is None and all(
        t.size == 1 and isinstance(t.covariance, PatternCovariance)
        and t.covariance.n_theta == 1 for t in factor.cp.terms)


def objective_and_gradient(factor: BlockedCholesky, theta: np.ndarray,
                           reml: bool) -> tuple[float, np.ndarray]:
    """The profiled objective (REML criterion or ML deviance) and its gradient at theta.

    ``factor`` is left at theta. Returns (inf, nan) where Omega is not positive definite.
    """
    theta = np.asarray(theta, dtype=float)
    memo = _last.get(factor)
    if memo is not None and memo[1] == reml and np.array_equal(memo[0], theta) \
            and factor.update(theta):
        return memo[2], memo[3].copy()
    value, grad = _objective_and_gradient(factor, theta, reml)
    _last[factor] = (theta.copy(), reml, value, grad.copy())
    return value, grad


def _objective_and_gradient(factor: BlockedCholesky, theta: np.ndarray,
                            reml: bool) -> tuple[float, np.ndarray]:
    if not factor.update(theta):
        return np.inf, np.full(len(theta), np.nan)
    value = profiled_objective(factor, reml)
    cp = factor.cp
    rest = factor.rest_factor
    r2 = float(rest[-1, -1] ** 2)
    if not r2 > 0.0:
        return value, np.full(len(theta), np.nan)
    with blas_threads_for(rest.shape[0]):
        size = rest.shape[0] if reml else cp.q_rest
        s_inv = _inverse(rest[:size, :size], _array(factor, "inverse", size, "F"))
        scale = _rest_scale(factor, theta, size)
        traces = _traces(factor, theta, s_inv, scale)
        squares = _u_squares(factor, theta, r2)
    nu = cp.n_obs - cp.n_fixed - 1 if reml else cp.n_obs
    grad = np.zeros(len(theta))
    for k, term in enumerate(cp.terms):
        if theta[k] != 0.0:
            grad[k] = 2.0 / theta[k] * (term.q - traces[k]) \
                - 2.0 * nu / (r2 * theta[k]) * squares[k]
    return value, grad


def _inverse(lower: np.ndarray, out: np.ndarray) -> np.ndarray:
    """S^-1 from S's lower Cholesky factor L, written into the Fortran-ordered ``out``:
    its upper triangle holds S^-1 (LAPACK reads L' as the upper factor), its strict
    lower one whatever L' had there. Stored so, the upper triangle lies in memory where
    a C-ordered lower triangle would: ``out.T`` and a C-ordered lower triangle line up
    element by element."""
    if lower.shape[0] == 0:
        return out
    np.copyto(out.T, lower)
    inv, info = linalg.lapack.dpotri(out, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotri failed with info {info}")
    return inv


def _rest_scale(factor: BlockedCholesky, theta: np.ndarray, size: int) -> np.ndarray:
    """Lambda_v's diagonal over the first ``size`` rest rows (1 for X and y)."""
    cp = factor.cp
    scale = np.ones(cp.avv.shape[0])
    for i, off in zip(cp.order[1:], cp.rest_offsets):
        scale[off:off + cp.terms[i].q] = theta[i]
    return scale[:size]


def _traces(factor: BlockedCholesky, theta: np.ndarray, s_inv: np.ndarray,
            scale: np.ndarray) -> np.ndarray:
    """Per term, the sum of the diagonal of (the relevant block of) Omega^-1 over its
    levels."""
    cp = factor.cp
    traces = np.zeros(len(cp.terms))
    lead = cp.order[0]
    omega = factor.lead_omega
    diag = np.diagonal(s_inv)
    for i, off in zip(cp.order[1:], cp.rest_offsets):
        traces[i] = diag[off:off + cp.terms[i].q].sum()
    weight = theta[lead] / omega  # lambda_1 / omega per lead level
    traces[lead] = float(np.sum(1.0 / omega)) + _lead_trace(factor, weight, scale, s_inv.T)
    return traces


def _lead_trace(factor: BlockedCholesky, weight: np.ndarray, scale: np.ndarray,
                lower: np.ndarray) -> float:
    """tr(S^-1 K), K = Lambda_v A_v1 diag(weight^2) A_1v Lambda_v over the first
    ``len(scale)`` rest rows (``scale``: Lambda_v's diagonal there), from the lower
    triangle of the C-ordered ``lower`` (S^-1's there; the upper one is not read). The
    random-effects block is summed by the compiled kernel without forming K when the
    factor uses it."""
    cp = factor.cp
    qr = cp.q_rest
    size = len(scale)
    total = 0.0
    hr = factor.weighted_lead_rest(weight) if qr else None
    if qr:
        total = factor.lead_rest_trace(hr, scale[:qr], lower)
        if total is None:
            total = _rest_trace(hr, scale[:qr], lower)
    if size > qr:  # the X and y rows (REML)
        hx = cp.ax1 * weight[None, :]
        if qr:
            kxr = np.asarray((hr @ hx.T).T) if sp.issparse(hr) else hx @ hr.T
            total += 2.0 * float(np.vdot(lower[qr:size, :qr], kxr * scale[None, :qr]))
        block = lower[qr:size, qr:size]
        total += float(np.vdot(np.tril(block) + np.tril(block, -1).T, hx @ hx.T))
    return total


def _rest_trace(h: sp.csr_matrix | np.ndarray, scale: np.ndarray,
                lower: np.ndarray) -> float:
    """:meth:`BlockedCholesky.lead_rest_trace` through H H', formed by scipy's sparse
    product (without the compiled kernels)."""
    gram = h @ h.T
    gram = gram.toarray() if sp.issparse(gram) else gram
    gram = np.tril(gram * np.outer(scale, scale))
    block = lower[:len(scale), :len(scale)]
    # over K's lower triangle (its strict upper one is zero): off-diagonal entries count
    # twice
    return 2.0 * float(np.vdot(block, gram)) - float(np.dot(np.diagonal(block),
                                                            np.diagonal(gram)))


def _u_squares(factor: BlockedCholesky, theta: np.ndarray, r2: float) -> np.ndarray:
    """Per term, the sum of u_j^2 over its levels, from v = r^2 Omega^-1 e_y = -[u; beta; -1]."""
    cp = factor.cp
    rest = factor.rest_factor
    m = rest.shape[0]
    w = np.zeros(m)
    w[-1] = 1.0 / rest[-1, -1]
    v_rest = r2 * linalg.solve_triangular(rest, w, lower=True, trans="T")
    squares = np.zeros(len(cp.terms))
    for i, off in zip(cp.order[1:], cp.rest_offsets):
        squares[i] = float(np.sum(v_rest[off:off + cp.terms[i].q] ** 2))
    full_scale = _rest_scale(factor, theta, m)
    z = v_rest * full_scale
    qr = cp.q_rest
    a1v_z = cp.ax1.T @ z[qr:]
    if qr:
        a1v_z = a1v_z + cp.ar1.T @ z[:qr]
    lead = cp.order[0]
    u_lead = theta[lead] / factor.lead_omega * np.asarray(a1v_z).ravel()
    squares[lead] = float(np.sum(u_lead ** 2))
    return squares


def quasi_newton(problem, start: np.ndarray) -> tuple[np.ndarray, float, int]:
    """L-BFGS-B on this gradient from ``start`` (``problem`` an eligible LmmProblem).

    Returns (rectified theta, objective, evaluations); the problem's factor is left at
    the returned theta.
    """
    from mixed_models.core.gradient import lbfgs_off_zeros

    calls = [0]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        calls[0] += 1
        value, grad = objective_and_gradient(problem.factor, theta, problem.reml)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros_like(theta)  # outside the positive definite region
        return value, grad

    # theta_k = 0 is a stationary point of every scalar term (the objective depends on
    # theta_k^2), so L-BFGS-B can stop there at a maximum along theta_k
    theta, _ = lbfgs_off_zeros(problem, fun, np.asarray(start, dtype=float),
                               lambda x, at_zero: np.where(at_zero, KICK, x), ftol=FTOL,
                               unit=UNIT, gtol=GTOL)
    theta = problem.rectify(theta)
    return theta, problem.objective(theta), calls[0] + 1


def newton_check(problem, theta: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    """A Newton step with the Hessian from forward differences of this gradient.

    Returns (theta, objective, decrement, evaluations): the step's end point when it
    lowers the objective (else ``theta``), and the Newton decrement g' H^-1 g / 2 over
    the entries away from zero (inf when the Hessian is not positive definite there).
    """
    theta = np.asarray(theta, dtype=float)
    reml = problem.reml
    value, grad = objective_and_gradient(problem.factor, theta, reml)
    step = difference_steps(theta)
    free = theta > step  # all entries are SDs; those at zero stay there
    for probes, i in enumerate(np.flatnonzero(~free), start=1):
        # a zero SD is a minimum only if the objective rises off it (curvature >= 0)
        off = theta.copy()
        off[i] = ZERO_PROBE
        if objective_and_gradient(problem.factor, off, reml)[1][i] < 0.0:
            problem.objective(theta)  # leave the factor at the returned theta
            return theta, value, np.inf, 2 + probes
    k = len(theta)
    hess = np.zeros((k, k))
    for i in np.flatnonzero(free):
        shifted = theta.copy()
        shifted[i] += step[i]
        hess[:, i] = (objective_and_gradient(problem.factor, shifted, reml)[1] - grad) / step[i]
    evaluations = 1 + int(free.sum())
    if not np.any(free):
        return theta, value, 0.0, evaluations
    h = 0.5 * (hess + hess.T)[np.ix_(free, free)]
    try:
        chol = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return theta, value, np.inf, evaluations
    z = linalg.solve_triangular(chol, grad[free], lower=True)
    decrement = 0.5 * float(z @ z)
    trial = theta.copy()
    trial[free] = np.maximum(theta[free] - np.linalg.solve(h, grad[free]), 0.0)
    f_trial = problem.objective(trial)
    # near the optimum the two values differ by rounding, and the step squares theta's
    # error: it is kept unless the objective rises beyond rounding (going back costs
    # a factorization)
    if f_trial <= value + ROUNDING * abs(value):
        return trial, f_trial, decrement, evaluations + 1
    problem.objective(theta)  # leave the factor at the returned theta
    return theta, value, decrement, evaluations + 2
