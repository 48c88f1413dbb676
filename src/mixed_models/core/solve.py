"""Estimates recovered from the factor at the optimum: beta, u, b and their covariances.

These are done once per fit, so clarity wins over speed here, but nothing forms an
n x q matrix and the per-level work is vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixed_models.core import memory
from mixed_models.core.crossprod import CrossProducts
from mixed_models.core.factor import BlockedCholesky
from mixed_models.core.lazy import lazy_module

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")
lapack = lazy_module("scipy.linalg.lapack")

_LEVEL_CHUNK = 2048


@dataclass(frozen=True, eq=False)
class Estimates:
    """Point estimates at one theta.

    Attributes
    ----------
    beta
        Fixed effects (for the full-rank columns of X).
    u, b
        Per term (the terms' own order), arrays of shape (levels, S): spherical random
        effects and conditional modes b = lambda u.
    pwrss
        Penalized weighted residual sum of squares.
    beta_cov_unscaled
        (X' V^{-1} X)^{-1} without the sigma^2 factor.
    """

    beta: np.ndarray
    u: list[np.ndarray]
    b: list[np.ndarray]
    pwrss: float
    beta_cov_unscaled: np.ndarray


def _blocks(factor: BlockedCholesky):
    cp = factor.cp
    qr, p = cp.q_rest, cp.n_fixed
    lower = factor.rest_factor
    return lower[:qr, :qr], lower[qr:qr + p, :qr], lower[qr:qr + p, qr:qr + p], lower[-1]


def estimates(factor: BlockedCholesky, theta: np.ndarray) -> Estimates:
    """beta, u and b at the factor's current theta (``update`` must have run)."""
    cp = factor.cp
    qr, p = cp.q_rest, cp.n_fixed
    lrr, lxr, lxx, last = _blocks(factor)
    beta = _solve_lower(lxx, last[qr:qr + p], transposed=True) if p else np.zeros(0)
    u_rest = _solve_lower(lrr, last[:qr] - lxr.T @ beta, transposed=True) \
        if qr else np.zeros(0)
    lams = factor.lambdas(theta)
    u_by_term, b_rest = _rest_modes(cp, lams, u_rest)
    lead_i = cp.order[0]
    u_by_term[lead_i] = _lead_modes(factor, lams[lead_i], beta, b_rest)
    lxx_inv = _solve_lower(lxx, np.eye(p)) if p else np.zeros((0, 0))
    return _collected(cp, lams, u_by_term, beta, factor.pwrss(), lxx_inv)


def solved_estimates(cp: CrossProducts, lams: list[np.ndarray], u_lead: np.ndarray,
                     solution: np.ndarray, pwrss: float, rx_inv: np.ndarray) -> Estimates:
    """The estimates from a solution of the same system found another way (the compiled
    small-model kernel): u of the lead term, ``solution`` = [u of the rest terms in the
    factor's order, beta], pwrss and the inverse of the fixed effects' lower factor."""
    u_by_term = _rest_modes(cp, lams, solution[:cp.q_rest])[0]
    u_by_term[cp.order[0]] = u_lead
    return _collected(cp, lams, u_by_term, solution[cp.q_rest:], pwrss, rx_inv)


def _rest_modes(cp: CrossProducts, lams: list[np.ndarray], u_rest: np.ndarray
                ) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """u of each rest term (levels, S) by term index, and b of all of them in the
    factor's order."""
    u_by_term: dict[int, np.ndarray] = {}
    b_rest = np.zeros(cp.q_rest)
    for i, off in zip(cp.order[1:], cp.rest_offsets):
        term = cp.terms[i]
        u_i = u_rest[off:off + term.q].reshape(term.n_levels, term.size)
        u_by_term[i] = u_i
        b_rest[off:off + term.q] = (u_i @ lams[i].T).ravel()
    return u_by_term, b_rest


def _collected(cp: CrossProducts, lams: list[np.ndarray], u_by_term: dict[int, np.ndarray],
               beta: np.ndarray, pwrss: float, lxx_inv: np.ndarray) -> Estimates:
    order = range(len(cp.terms))
    u = [u_by_term[i] for i in order]
    b = [u[i] @ lams[i].T for i in order]
    return Estimates(beta, u, b, pwrss, lxx_inv.T @ lxx_inv)


def _solve_lower(lower: np.ndarray, rhs: np.ndarray, transposed: bool = False) -> np.ndarray:
    """L^-1 rhs (L'^-1 rhs when ``transposed``) for the lower-triangular factor L, by
    LAPACK directly: scipy's checking wrapper costs ten times a small solve."""
    solved, info = lapack.dtrtrs(lower, rhs, lower=1, trans=1 if transposed else 0)
    if info != 0:
        raise np.linalg.LinAlgError(f"the factor is singular (LAPACK dtrtrs info {info})")
    return solved


def _lead_modes(factor: BlockedCholesky, lam1: np.ndarray, beta: np.ndarray,
                b_rest: np.ndarray) -> np.ndarray:
    """u of the lead term: Omega_11^{-1} Lambda_1' (A_1y - A_1X beta - A_1r b_rest)."""
    cp = factor.cp
    p = cp.n_fixed
    nlev, size = cp.a11.shape[0], cp.a11.shape[1]
    resid = cp.ax1[p] - beta @ cp.ax1[:p]
    if cp.q_rest:
        resid = resid - cp.ar1.T @ b_rest
    rhs = resid.reshape(nlev, size) @ lam1
    if size == 1:
        return rhs / factor.lead_omega[:, None]
    return np.linalg.solve(factor.lead_omega, rhs[:, :, None])[:, :, 0]


def conditional_covariances(factor: BlockedCholesky, theta: np.ndarray) -> list[np.ndarray]:
    """Per term, the (levels, S, S) blocks of Lambda Omega_zz^{-1} Lambda' (no sigma^2).

    Multiplied by sigma^2 these are lme4's ``condVar``: the covariance of the random
    effects of one level given the data, at the estimated theta and beta.
    """
    cp = factor.cp
    lams = factor.lambdas(theta)
    lrr = _blocks(factor)[0]
    out: dict[int, np.ndarray] = {}
    lead_i = cp.order[0]
    out[lead_i] = _sandwich(lams[lead_i], _lead_inverse_blocks(factor, lams, lrr))
    if cp.q_rest:
        linv = linalg.solve_triangular(lrr, np.eye(cp.q_rest), lower=True)
        for i, off in zip(cp.order[1:], cp.rest_offsets):
            term = cp.terms[i]
            cols = linv[:, off:off + term.q].reshape(-1, term.n_levels, term.size)
            blocks = np.einsum("kls,klt->lst", cols, cols)
            out[i] = _sandwich(lams[i], blocks)
    return [out[i] for i in range(len(cp.terms))]


def _sandwich(lam: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    return lam @ blocks @ lam.T


def _lead_inverse_blocks(factor: BlockedCholesky, lams: list[np.ndarray],
                         lrr: np.ndarray) -> np.ndarray:
    """Diagonal blocks of (Omega_zz^{-1}) for the lead term's levels."""
    cp = factor.cp
    nlev, size = cp.a11.shape[0], cp.a11.shape[1]
    omega_inv = 1.0 / factor.lead_omega[:, None, None] if size == 1 \
        else np.linalg.inv(factor.lead_omega)
    if not cp.q_rest:
        return omega_inv
    lam1 = lams[cp.order[0]]
    row_scale = rest_lambda_operator(cp, lams)
    blocks = omega_inv.copy()
    for start in range(0, nlev, _LEVEL_CHUNK):
        levels = slice(start, min(start + _LEVEL_CHUNK, nlev))
        cols = slice(levels.start * size, levels.stop * size)
        ar1 = cp.ar1[:, cols]
        ar1 = ar1.toarray() if sp.issparse(ar1) else ar1
        k = levels.stop - levels.start
        # Omega_r1 Omega_11^{-1} for these levels, then L_rr^{-1} of it
        om = np.einsum("rls,lst->rlt", row_scale(ar1).reshape(-1, k, size) @ lam1,
                       omega_inv[levels])
        w = linalg.solve_triangular(lrr, om.reshape(-1, k * size), lower=True).reshape(-1, k, size)
        blocks[levels] += np.einsum("rls,rlt->lst", w, w)
    return blocks


def rest_lambda_operator(cp, lams: list[np.ndarray]):
    """A function applying Lambda_rest' to the rows of a (q_rest x k) array."""
    def apply(mat: np.ndarray) -> np.ndarray:
        out = np.empty_like(mat)
        for i, off in zip(cp.order[1:], cp.rest_offsets):
            term = cp.terms[i]
            rows = mat[off:off + term.q].reshape(term.n_levels, term.size, -1)
            out[off:off + term.q] = (lams[i].T @ rows).reshape(term.q, -1)
        return out
    return apply


def random_effects_precision(factor: BlockedCholesky,
                             theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Omega_zz = Lambda' Z'WZ Lambda + I and Lambda, dense, in the terms' own order.

    Only for models whose q is small enough for dense q x q matrices.
    """
    cp = factor.cp
    lams = factor.lambdas(theta)
    offsets = np.cumsum([0] + [t.q for t in cp.terms])
    q = int(offsets[-1])
    lead_i = cp.order[0]
    lead = cp.terms[lead_i]
    memory.require(memory.dense_bytes(q, copies=5),
                   f"the dense {q} x {q} precision matrix of all random effects",
                   "The per-level conditional covariances (ran_ef_table's cond_sd) need "
                   "no such matrix; ask for this one only for models with fewer random "
                   "effects.")
    internal = np.zeros((q, q))
    # internal order: lead term first, then the rest block
    a11 = sp.block_diag(list(cp.a11)).toarray() if lead.q else np.zeros((0, 0))
    internal[:lead.q, :lead.q] = a11
    if cp.q_rest:
        ar1 = cp.ar1.toarray() if sp.issparse(cp.ar1) else cp.ar1
        internal[lead.q:, :lead.q] = ar1
        internal[:lead.q, lead.q:] = ar1.T
        internal[lead.q:, lead.q:] = cp.avv[:cp.q_rest, :cp.q_rest]
    perm = np.concatenate([np.arange(offsets[i], offsets[i] + cp.terms[i].q) for i in cp.order])
    public = np.empty_like(internal)
    public[np.ix_(perm, perm)] = internal
    lam_full = sp.block_diag([sp.kron(sp.identity(t.n_levels), lams[i])
                              for i, t in enumerate(cp.terms)]).toarray()
    return lam_full.T @ public @ lam_full + np.eye(q), lam_full
