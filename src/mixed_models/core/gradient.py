"""The analytic gradient of the profiled objective, from dense matrices (small models).

With M = L~' A L~ + diag(I_q, 0) over [Z X y] (L~ = blockdiag(Lambda, I)), the REML
criterion is log det M + (n - p - 1) log r^2 and the ML deviance is log det M_zz +
n log r^2 (plus constants), where r^2 = 1 / (M^-1)_yy. Every derivative is a trace
against M^-1: d log det M = 2 tr(M^-1 L~' A dL~), and d log r^2 = 2 r^2 v' L~' A dL~ v
with v = M^-1 e_y. This costs O((q + p)^3), so it is for models with a few thousand
random effects at most; the large models keep the derivative-free optimizer.

Unstable: the opt-in optimizer 'lbfgs' and the default fit's polish of small models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mixed_models.core.block_gradient import block_objective_and_gradient, split_system
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import CrossProducts, term_lambdas
from mixed_models.core.lazy import lazy_module
from mixed_models.core.lbfgs import FTOL, lbfgs_b
from mixed_models.errors import InvalidArgumentError

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")

MAX_DENSE = 3000
# Lead-term random effects from which the gradient is evaluated block by block.
MIN_BLOCKWISE = 100
# The polish after BOBYQA: dense rows up to which a gradient costs milliseconds.
MAX_POLISHED = 600
# ... and up to how many theta entries a zero variance triggers a second fit from the start
# (a maximal model with 20 entries and several zero variances would double its time).
MAX_RESTARTED_THETA = 8
KICKS, KICK = 3, 0.1  # restarts off a zero diagonal entry, and where to
# The test for a descent off zero diagonal entries: the gradient's difference step, the
# relative eigenvalue taken as zero curvature, and the smallest decrease that counts.
ZERO_STEP, ZERO_CURVATURE, ZERO_DECREMENT = 1e-4, 1e-9, 1e-7


def dense_system(cp: CrossProducts) -> np.ndarray:
    """A = [Z X y]' W [Z X y] as one dense matrix, lead term first (the factor's order)."""
    lead = cp.lead
    q1, m = lead.q, cp.avv.shape[0]
    a = np.zeros((q1 + m, q1 + m))
    if q1:  # the lead term's per-level S x S blocks on the diagonal
        size = lead.size
        first = np.arange(lead.n_levels)[:, None, None] * size
        rows = first + np.arange(size)[None, :, None]
        cols = first + np.arange(size)[None, None, :]
        a[rows, cols] = cp.a11
    qr = cp.q_rest
    if qr:
        ar1 = cp.ar1.toarray() if sp.issparse(cp.ar1) else cp.ar1
        a[q1:q1 + qr, :q1] = ar1
    a[q1 + qr:, :q1] = cp.ax1
    a[q1:, q1:] = cp.avv
    lower = np.tril(a)
    return lower + np.tril(lower, -1).T


def layout(cp: CrossProducts, theta_slices: list[slice]):
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
    offsets, positions = layout(cp, theta_slices)
    if _by_blocks(cp):
        return _blockwise(cp, theta_slices, theta, reml, a, offsets)
    size = a.shape[0]
    q = size - cp.avv.shape[0] + cp.q_rest
    lams = term_lambdas(cp.terms, theta_slices, theta)
    b = _scale_rows(cp, offsets, lams, a)  # L~' A, block by block
    bt = np.ascontiguousarray(b.T)  # transposed once: the traces read it too
    m = _scale_rows(cp, offsets, lams, bt).T  # L~' A L~
    m[np.arange(q), np.arange(q)] += 1.0
    chol, info = linalg.lapack.dpotrf(m, lower=1, clean=1)
    if info != 0:
        return np.inf, np.full(len(theta), np.nan)
    diag = np.log(np.diag(chol))
    r2 = np.exp(2 * diag[-1])
    unit_y = np.zeros(size)
    unit_y[-1] = 1.0 / chol[-1, -1]
    v = r2 * linalg.solve_triangular(chol, unit_y, lower=True, trans="T")  # r^2 M^-1 e_y: v_y = 1
    # REML differentiates log det M, ML log det M_zz, whose factor is chol's leading block
    k = size if reml else q
    inverse = _symmetric_inverse(chol[:k, :k])
    weight, constant = profiled_constants(cp, reml)
    value = 2 * (diag.sum() if reml else diag[:q].sum()) + weight * np.log(r2)
    traces = _level_traces(cp, offsets, inverse, bt[:, :k])
    rows = np.concatenate([r for r, _ in positions])
    cols = np.concatenate([c for _, c in positions])
    group = np.repeat(np.arange(len(positions)), [len(r) for r, _ in positions])
    vb = v @ b
    grad = 2 * traces + 2 * weight / r2 * np.bincount(group, vb[rows] * v[cols],
                                                      len(positions))
    value += constant
    return float(value), grad


def profiled_constants(cp: CrossProducts, reml: bool) -> tuple[float, float]:
    """The weight of log r^2 in the profiled objective (n - p - 1 for REML, n for ML)
    and its constant term nu (1 + log(2 pi / nu)) - sum(log weights), nu = n - p or n."""
    nu = cp.n_obs - cp.n_fixed if reml else cp.n_obs
    return float(nu - 1 if reml else nu), nu * (1 + np.log(2 * np.pi / nu)) - cp.sum_log_weights


def _by_blocks(cp: CrossProducts) -> bool:
    """Whether the block-by-block evaluation is the faster (measured, one BLAS thread):
    the lead term holds at least as many random effects as the rest of the system and
    at least MIN_BLOCKWISE (kb07's maximal model: 3.5 instead of 5.5 ms); on smaller
    systems the batched calls' overhead outweighs the saving."""
    return cp.lead.n_levels > 1 and cp.lead.q >= max(cp.avv.shape[0], MIN_BLOCKWISE)


def _blockwise(cp: CrossProducts, theta_slices: list[slice], theta: np.ndarray, reml: bool,
               a: np.ndarray, offsets: dict) -> tuple[float, np.ndarray]:
    """:func:`objective_and_gradient` by :mod:`mixed_models.core.block_gradient`."""
    lead_i, q1 = cp.order[0], cp.lead.q
    t = a.shape[0] - q1
    lamt = np.eye(t)
    lamt[:cp.q_rest, :cp.q_rest] = 0.0
    lead_entries, tail = None, []
    for i, (term, s) in enumerate(zip(cp.terms, theta_slices)):
        cov, index = term.covariance, np.arange(s.start, s.stop)
        if i == lead_i:
            lead_entries = (cov.rows, cov.cols, index)
            continue
        lam = cov.lam(theta[s])
        first = offsets[i] - q1 + np.arange(term.n_levels)[:, None] * term.size
        for start in first[:, 0]:
            lamt[start:start + term.size, start:start + term.size] = lam
        tail.append(((first + cov.rows).ravel(), (first + cov.cols).ravel(),
                     np.tile(index, term.n_levels)))
    tail_entries = tuple(np.concatenate(parts) for parts in zip(*tail)) if tail \
        else (np.zeros(0, dtype=np.intp),) * 3
    weight, constant = profiled_constants(cp, reml)
    blocks = split_system(a, q1, cp.lead.size)
    lam1 = cp.lead.covariance.lam(theta[theta_slices[lead_i]])
    return block_objective_and_gradient(blocks, lam1, lamt, cp.q_rest, reml, weight, constant,
                                        lead_entries, tail_entries, len(theta))


def _symmetric_inverse(chol: np.ndarray) -> np.ndarray:
    """M^-1 from the lower Cholesky factor of M, both triangles filled."""
    lower, _ = linalg.lapack.dpotri(chol, lower=1)
    # dpotri leaves the (zero) upper triangle of the clean factor as it was
    full = lower + lower.T
    full.flat[::full.shape[0] + 1] *= 0.5
    return full


def _level_traces(cp: CrossProducts, offsets: dict, inverse: np.ndarray,
                  bt: np.ndarray) -> np.ndarray:
    """tr(M^-1 B dL~) for every theta entry, B = L~' A (``bt`` its transpose).

    dL~ has ones at the entry's (row, col) of every level's block, so the trace sums
    (M^-1 B)[col, row] over the levels: only the diagonal blocks of M^-1 B are needed,
    one batched product of each term's rows of M^-1 and of B'.
    """
    out = []
    for i, term in enumerate(cp.terms):
        o, size, levels = offsets[i], term.size, term.n_levels
        rows_inverse = inverse[o:o + term.q].reshape(levels, size, -1)
        rows_bt = bt[o:o + term.q].reshape(levels, size, -1)
        blocks = np.matmul(rows_inverse, rows_bt.transpose(0, 2, 1)).sum(axis=0)
        out.append(blocks[term.covariance.cols, term.covariance.rows])
    return np.concatenate(out)


def quasi_newton(problem, start: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """Minimize ``problem``'s objective by L-BFGS-B on the analytic gradient.

    Within the problem's bounds; returns (rectified theta, objective, evaluations). Only
    for models with up to ``MAX_DENSE`` random effects.
    """
    why = ineligible(problem, MAX_DENSE)
    if why:
        raise InvalidArgumentError(f"optimizer 'lbfgs' {why}; use 'bobyqa' or 'newuoa'")
    fun, calls = objective_with_gradient(problem)
    theta = problem.start() if start is None else np.asarray(start, dtype=float)
    with _threads(problem):
        best, _ = lbfgs_off_zeros(problem, fun, theta,
                                  lambda x, at_zero: _kick(problem, fun, x, at_zero))
    theta = problem.rectify(best)
    return theta, problem.objective(theta), calls[0] + 1


def lbfgs_off_zeros(problem, fun, start: np.ndarray,
                    kick: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    ftol: float = FTOL, unit: float = 1.0, gtol: float | None = None
                    ) -> tuple[np.ndarray, float]:
    """:func:`lbfgs_b` from ``start``, restarted (at most KICKS times) from
    ``kick(theta, at_zero)`` while the end point has zero diagonal entries off which
    the objective descends (:func:`descends_off_zeros`) and the restart lowers it.

    A zero column of lambda is a stationary point (the objective depends on its square
    there), so L-BFGS-B can stop there at a saddle; stepping back inside shows it.
    ``ftol``, ``unit`` and ``gtol`` go to every :func:`lbfgs_b` run.
    """
    theta, value = lbfgs_b(problem, fun, start, ftol, unit, gtol)
    diagonal = problem.diagonal_mask()
    for _ in range(KICKS):
        at_zero = diagonal & (theta == 0.0)
        if not (np.any(at_zero) and descends_off_zeros(problem, fun, theta, at_zero)):
            break
        kicked, kicked_value = lbfgs_b(problem, fun, kick(theta, at_zero), ftol, unit, gtol)
        if not kicked_value < value - 1e-10 * max(1.0, abs(value)):
            break
        theta, value = kicked, kicked_value
    return theta, value


def descends_off_zeros(problem, fun, theta: np.ndarray, at_zero: np.ndarray) -> bool:
    """Whether the objective falls when the columns of lambda whose diagonal entries
    ``at_zero`` are zero move, the diagonal either way: a column's sign is arbitrary,
    so a negative diagonal entry is the positive one with the rest of its column
    flipped. A second-order model over those entries from central differences of the
    gradient (two gradients per entry) descends when its Hessian is not positive
    semi-definite or its Newton decrement exceeds ``ZERO_DECREMENT``."""
    entries = np.flatnonzero(_zero_columns(problem, at_zero))
    g = fun(theta)[1][entries]
    hess = np.empty((len(entries), len(entries)))
    for j, i in enumerate(entries):
        e = np.zeros_like(theta)
        e[i] = ZERO_STEP
        hess[:, j] = (fun(theta + e)[1][entries] - fun(theta - e)[1][entries]) / (2 * ZERO_STEP)
    hess = (hess + hess.T) / 2
    if not (np.all(np.isfinite(hess)) and np.all(np.isfinite(g))):
        return True  # cannot tell: let the restart decide
    values, vectors = np.linalg.eigh(hess)
    scale = max(1.0, float(np.max(np.abs(values))))
    if values[0] < -ZERO_CURVATURE * scale:
        return True
    positive = values > ZERO_CURVATURE * scale
    z = (vectors.T @ g)[positive]
    return bool(0.5 * np.sum(z * z / values[positive]) > ZERO_DECREMENT
                or np.any(np.abs(vectors.T @ g)[~positive] > ZERO_DECREMENT))


def _zero_columns(problem, at_zero: np.ndarray) -> np.ndarray:
    """Every theta entry in a lambda column whose diagonal entry is in ``at_zero``."""
    out = np.zeros(len(at_zero), dtype=bool)
    for term, s in zip(problem.cp.terms, problem.factor.theta_slices):
        rows, cols = term.covariance.rows, term.covariance.cols
        zero_cols = cols[at_zero[s] & (rows == cols)]
        out[s] = np.isin(cols, zero_cols)
    return out


def _kick(problem, fun, theta: np.ndarray, at_zero: np.ndarray) -> np.ndarray:
    """The better of two restarts off zero diagonal entries of lambda: the entries set to
    KICK, with or without the sign of the rest of their column flipped. With a zero
    diagonal entry the column's sign is arbitrary, and only one sign leads downhill."""
    plain = np.where(at_zero, KICK, theta)
    flipped = plain.copy()
    for term, s in zip(problem.cp.terms, problem.factor.theta_slices):
        rows, cols = term.covariance.rows, term.covariance.cols
        local = at_zero[s] & (rows == cols)
        below = np.isin(cols, cols[local]) & (rows > cols)
        flipped[s] = np.where(below, -flipped[s], flipped[s])
    return min((plain, flipped), key=lambda t: fun(t)[0])


def gradient_polish(problem, theta: np.ndarray) -> tuple[np.ndarray, float, int] | None:
    """L-BFGS-B from a derivative-free optimizer's end point, for small models.

    BOBYQA stops where function values stop telling points apart; in a curved, flat
    valley (an SD near zero, a correlation near +-1) that can be 1e-5 above the optimum,
    or at a point of negative curvature. The gradient resolves both in a few dozen
    evaluations. An end point with a zero variance is compared with a quasi-Newton fit
    from the start (for up to ``MAX_RESTARTED_THETA`` entries; beyond, with restarts
    stepping off the zeros). Returns (rectified
    theta, objective, evaluations), or None when the model is too large (more than
    ``MAX_POLISHED`` dense rows), has a structured covariance or a fixed sigma.
    """
    if ineligible(problem, MAX_POLISHED):
        return None
    fun, calls = objective_with_gradient(problem)
    theta = np.asarray(theta, dtype=float)
    with _threads(problem):
        if len(theta) <= MAX_RESTARTED_THETA:
            x, f = lbfgs_b(problem, fun, theta)
        else:  # too many entries for a second fit: step off its zeros where it ends
            x, f = lbfgs_off_zeros(problem, fun, theta,
                                   lambda t, at_zero: _kick(problem, fun, t, at_zero))
    evaluations = calls[0]
    if len(x) <= MAX_RESTARTED_THETA and np.any(problem.diagonal_mask() & (x == 0.0)):
        # A zero variance can be a local optimum of its own (lme4's BOBYQA stops there
        # too): a quasi-Newton run from the start, which steps off zeros in both signs,
        # sees whether another optimum is lower.
        y, g, more = quasi_newton(problem)
        evaluations += more
        if g < f:
            x, f = y, g
    x = problem.rectify(x)
    return x, problem.objective(x), evaluations + 1


def ineligible(problem, max_dense: int) -> str:
    """Why the analytic gradient cannot serve ``problem`` ('' when it can)."""
    cp = problem.cp
    if cp.lead.q + cp.avv.shape[0] > max_dense:
        return (f"works on dense matrices: this model has {cp.lead.q + cp.q_rest} random "
                f"effects, at most {max_dense - cp.n_fixed - 1} are allowed")
    if not all(isinstance(t.covariance, PatternCovariance) for t in cp.terms):
        return ("needs unstructured or diagonal covariances (theta entries of lambda); this "
                "model has a cs, ar1 or block structure")
    if problem.sigma is not None:
        return "does not take a fixed residual SD"
    return ""


def objective_with_gradient(problem) -> tuple[Callable[[np.ndarray], tuple[float, np.ndarray]],
                                              list[int]]:
    """theta -> (objective, gradient) of ``problem`` on its dense system, and a
    one-element list counting the calls. Outside the positive definite region the
    value is 1e300 with a zero gradient (a wall for L-BFGS-B)."""
    cp = problem.cp
    a = dense_system(cp)
    calls = [0]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        calls[0] += 1
        value, grad = objective_and_gradient(cp, problem.factor.theta_slices, theta,
                                             problem.reml, a)
        if not np.isfinite(value):  # outside the positive definite region: a wall
            return 1e300, np.zeros_like(theta)
        return value, grad

    return fun, calls


def _threads(problem):
    from mixed_models.core.threads import blas_threads_for

    cp = problem.cp
    return blas_threads_for(cp.lead.q + cp.avv.shape[0])


def quasi_newton_result(problem, start: np.ndarray):
    """:func:`quasi_newton` as an OptimizationResult (the factor left at the optimum)."""
    from mixed_models.core.optimize import OptimizationResult

    theta, value, evaluations = quasi_newton(problem, start)
    # not confirmed until the fitting methods check the end point
    return OptimizationResult("lbfgs", np.asarray(start, dtype=float), theta, value,
                              evaluations, "SUCCESS", 0, [], confirmed=False)
