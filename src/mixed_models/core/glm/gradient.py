"""The analytic gradient of lme4's Laplace objective at a converged PIRLS state.

The objective is F = log det M(W) + ||u||^2 + D(mu) + const, with M = Lambda' Z' W Z Lambda
+ I, W the Fisher weights at the mode, and the mode u (with beta when ``joint``, the
nAGQ = 0 objective) the minimizer of the penalized deviance g = 0,
g = u - Lambda' Z' s, s_i = wt_i (y_i - mu_i) mu'_i / V(mu_i). Differentiating:

* log det M moves with Lambda directly (2 sum_i w_i (dLambda' z_i)' M^-1 Lambda' z_i) and
  with the weights through eta: sum_i h_i w'_i d eta_i, h_i = z_i' Lambda M^-1 Lambda' z_i;
* D + ||u||^2 has zero derivative in the modes (they minimize it) and -2 s' d eta in the
  parameters;
* the modes move as du = -H^-1 dg, H = I + Lambda' Z' W_o Z Lambda with the observed
  weights W_o = -ds/deta (W_o = W for a canonical link); one solve with H (the adjoint
  lambda = H^-1 r, r the objective's derivative in the modes) accounts for all parameters.

With e = h * w' - 2 s, zeta = Z Lambda lambda (+ X lambda_beta when joint), and for theta_k
a_k = Z dLambda_k u, b_k = Z dLambda_k lambda:

    dF/dtheta_k = 2 sum w (z dLambda_k) . c + (e - W_o zeta)' a_k + s' b_k
    dF/dbeta    = X' (e - W_o zeta)                       (zero at the joint mode)

Only families whose density term is the deviance plus a constant (binomial, Poisson,
negative binomial with a given shape) are covered; :class:`GradientUnavailable` is raised
for the others (Gamma, inverse Gaussian), whose callers fall back to differences.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixed_models.core.glm.factor import GlmFactor
from mixed_models.core.glm.pirls import GlmmProblem, PirlsState

class GradientUnavailable(ValueError):
    """The analytic gradient does not cover this model (or H is not positive definite)."""


def lam_derivatives(problem: GlmmProblem, theta: np.ndarray) -> list[list[np.ndarray]]:
    """dLambda_j / dtheta_k per term j, for the term's own theta entries (central
    differences: exact up to rounding for the linear patterns, accurate for the others)."""
    out = []
    for term, sl in zip(problem.terms, problem.theta_slices):
        th = np.asarray(theta, dtype=float)[sl]
        derivs = []
        for k in range(len(th)):
            h = 1e-6 * max(1.0, abs(th[k]))
            up, down = th.copy(), th.copy()
            up[k] += h
            down[k] -= h
            derivs.append((term.covariance.lam(up) - term.covariance.lam(down)) / (2.0 * h))
        out.append(derivs)
    return out


def _rest_positions(problem: GlmmProblem, factor: GlmFactor) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the positions of its rest-term effects in u_rest and the entries of
    Lambda_rest' z_i there: two (n x K) arrays, K the sum of the rest terms' sizes."""
    d = problem.design
    pos, val = [], []
    for term, off, lam in zip(d.rest, d.rest_offsets, factor.lam_rest):
        vals = term.z @ lam
        for s in range(term.size):
            pos.append(off + term.codes * term.size + s)
            val.append(vals[:, s])
    return np.column_stack(pos).astype(np.intp), np.column_stack(val)


def _inverse_blocks(factor: GlmFactor, levels: int, size: int):
    """Blocks of M^-1 from the factor: the rest block R, the lead-rest block per lead
    level (levels x S x q_rest) and the lead diagonal blocks (levels x S x S)."""
    qr = factor.design.q_rest
    if size == 1:
        d = 1.0 / factor.l11[:, 0, 0]
        if qr == 0:
            return None, None, (d * d).reshape(levels, 1, 1)
    else:
        l11_inv = np.linalg.inv(factor.l11)
        l11_inv_t = np.swapaxes(l11_inv, 1, 2)
        if qr == 0:
            return None, None, l11_inv_t @ l11_inv
    r, info = lapack.dpotri(factor.l22[:qr, :qr], lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("the random-effects factor is singular")
    lower = np.tril(r, -1)
    r = r - np.triu(r, 1) + lower.T
    g = factor.g_lead_rest()
    p = np.asarray(g @ r)
    if sp.issparse(g):
        gpg = np.asarray(g.multiply(p).sum(axis=1)).ravel()
    else:
        gpg = p.reshape(levels, size, qr) @ g.reshape(levels, size, qr).transpose(0, 2, 1)
    if size == 1:
        gpg = gpg.reshape(levels)
        return r, (-d[:, None] * p).reshape(levels, 1, qr), \
            (d * d * (1.0 + gpg)).reshape(levels, 1, 1)
    lead_rest = -(l11_inv_t @ p.reshape(levels, size, qr))
    lead_lead = l11_inv_t @ (np.eye(size) + gpg) @ l11_inv
    return r, lead_rest, lead_lead


def row_solves(problem: GlmmProblem, factor: GlmFactor):
    """h_i = a_i' M^-1 a_i and c_i = M^-1 a_i at row i's own levels, a_i = Lambda' z_i.

    Only the blocks of M^-1 that rows touch are formed: the rest block, the lead-rest
    block and the lead diagonal blocks (no n x q work).

    Returns
    -------
    h
        (n,) the diagonal of Z Lambda M^-1 Lambda' Z'.
    c_lead
        (n, S) the lead term's part of c_i.
    c_rest
        Per rest term, (n, S_t) its part of c_i at the row's level.
    """
    d = problem.design
    lead = d.lead
    size = lead.size
    codes = lead.codes
    a_lead = lead.z @ factor.lam_lead
    r, lead_rest, lead_lead = _inverse_blocks(factor, lead.n_levels, size)
    c_lead = np.einsum("nst,nt->ns", lead_lead[codes], a_lead)
    c_rest = []
    if r is None:
        return np.sum(a_lead * c_lead, axis=1), c_lead, c_rest
    pos, a_rest = _rest_positions(problem, factor)
    cross = np.stack([lead_rest[:, s, :][codes[:, None], pos] for s in range(size)], axis=1)
    c_lead += np.einsum("nsk,nk->ns", cross, a_rest)
    c_r = np.einsum("nsk,ns->nk", cross, a_lead)
    c_r += np.einsum("njk,nk->nj", r[pos[:, :, None], pos[:, None, :]], a_rest)
    h = np.sum(a_lead * c_lead, axis=1) + np.sum(a_rest * c_r, axis=1)
    at = 0
    for term in d.rest:
        c_rest.append(c_r[:, at:at + term.size])
        at += term.size
    return h, c_lead, c_rest


def _weights(problem: GlmmProblem, state: PirlsState):
    """Score s, Fisher weights w, their eta-derivative w' and the observed weights W_o."""
    fam = problem.family
    link = fam.link
    wt, y, mu, eta = problem.weights, problem.y, state.mu, state.eta
    d1 = link.mu_eta_at(eta, mu)
    d2 = link.mu_eta2(eta)
    var = fam.variance(mu)
    dvar = fam.variance_derivative(mu)
    s = wt * (y - mu) * d1 / var
    w = wt * d1 * d1 / var
    dw = wt * (2.0 * d1 * d2 / var - d1 ** 3 * dvar / (var * var))
    observed = w - wt * (y - mu) * (d2 / var - d1 * d1 * dvar / (var * var))
    return s, w, dw, observed


def _per_term(problem: GlmmProblem, lead: np.ndarray, rest: np.ndarray) -> list[np.ndarray]:
    """A q-vector split into (levels x S) blocks per term, in the caller's term order."""
    d = problem.design
    out: list = [None] * len(problem.terms)
    out[d.order[0]] = lead.reshape(d.lead.n_levels, d.lead.size)
    for i, term, off in zip(d.order[1:], d.rest, d.rest_offsets):
        out[i] = rest[off:off + term.q].reshape(term.n_levels, term.size)
    return out


def _adjoint(problem: GlmmProblem, theta: np.ndarray, state: PirlsState, e: np.ndarray,
             observed: np.ndarray, joint: bool):
    """lambda = H^-1 r with r = Lambda' Z' e + 2u (and X' e when joint)."""
    d = problem.design
    factor = state.factor
    r_lead, r_rest = d.zt_times(e)
    r_lead = r_lead @ factor.lam_lead + 2.0 * state.u_lead
    r_rest = factor.rest_lam_t(r_rest)
    r_rest[:d.q_rest] += 2.0 * state.u_rest
    if not problem.family.is_canonical:
        factor = problem.make_factor(theta)
        try:
            factor.update(*d.blocks(observed))
        except np.linalg.LinAlgError as exc:
            raise GradientUnavailable("the observed-information system is not positive "
                                      "definite") from exc
        if not np.all(np.isfinite(factor.l11)):
            raise GradientUnavailable("the observed-information system is not positive "
                                      "definite")
    return factor.solve(r_lead, r_rest, joint)


def laplace_gradient(problem: GlmmProblem, theta: np.ndarray, state: PirlsState,
                     joint: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the Laplace objective at the PIRLS state of (theta, beta).

    Parameters
    ----------
    problem, theta, state
        The arrays, the covariance parameters and the converged state at them.
    joint
        The state is the joint mode of (u, beta) (the nAGQ = 0 objective of theta alone).

    Returns
    -------
    (grad_theta, grad_beta)
        grad_beta is the derivative with beta held (zero up to rounding when ``joint``).
    """
    if not problem.analytic_gradient:
        raise GradientUnavailable("no analytic gradient for a model given as raw matrices")
    if problem.saturated is None:
        raise GradientUnavailable(f"no analytic gradient for the {problem.family.name} "
                                  "family (its density term is not the deviance)")
    d = problem.design
    factor = state.factor
    s, w, dw, observed = _weights(problem, state)
    h, c_lead, c_rest = row_solves(problem, factor)
    e = h * dw - 2.0 * s
    lam_lead, lam_rest = _adjoint(problem, theta, state, e, observed, joint)
    zeta = d.z_times(factor.lead_lam(lam_lead), factor.rest_lam(lam_rest[:d.q_rest]))
    if joint:
        zeta = zeta + d.x @ lam_rest[d.q_rest:]
    resid = e - observed * zeta
    grad_beta = d.x.T @ resid
    u_terms = _per_term(problem, state.u_lead, state.u_rest)
    l_terms = _per_term(problem, lam_lead, lam_rest[:d.q_rest])
    c_terms: list = [None] * len(problem.terms)
    c_terms[d.order[0]] = c_lead
    for i, c in zip(d.order[1:], c_rest):
        c_terms[i] = c
    grad_theta = np.empty(problem.n_theta)
    derivs = lam_derivatives(problem, theta)
    for j, term in enumerate(problem.terms):
        u_rows = u_terms[j][term.codes]
        l_rows = l_terms[j][term.codes]
        for k, dlam in enumerate(derivs[j]):
            zd = term.z @ dlam
            explicit = 2.0 * float(w @ np.sum(zd * c_terms[j], axis=1))
            a = np.sum(zd * u_rows, axis=1)
            b = np.sum(zd * l_rows, axis=1)
            grad_theta[problem.theta_slices[j].start + k] = explicit + resid @ a + s @ b
    return grad_theta, grad_beta
