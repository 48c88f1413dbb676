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
from scipy.linalg import solve_triangular

from mixed_models.core.glm.factor import GlmFactor
from mixed_models.core.glm.pirls import GlmmProblem, PirlsState

_ROW_CHUNK = 4096


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


def _rest_columns(problem: GlmmProblem, factor: GlmFactor, rows: np.ndarray) -> np.ndarray:
    """Lambda_rest' z_i for the given rows as a dense (rows x q_rest) block."""
    d = problem.design
    out = np.zeros((len(rows), d.q_rest))
    at = np.arange(len(rows))
    for term, off, lam in zip(d.rest, d.rest_offsets, factor.lam_rest):
        vals = term.z[rows] @ lam
        for s in range(term.size):
            out[at, off + term.codes[rows] * term.size + s] = vals[:, s]
    return out


def row_solves(problem: GlmmProblem, factor: GlmFactor):
    """h_i = a_i' M^-1 a_i and c_i = M^-1 a_i at row i's own levels, a_i = Lambda' z_i.

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
    n = d.n
    a_lead = lead.z @ factor.lam_lead
    l11 = factor.l11[lead.codes]
    if size == 1:
        v_lead = a_lead / l11[:, 0, :]
    else:
        v_lead = np.linalg.solve(l11, a_lead[:, :, None])[:, :, 0]
    h = np.sum(v_lead * v_lead, axis=1)
    c_rest = [np.empty((n, t.size)) for t in d.rest]
    qr = d.q_rest
    if qr == 0:
        t_lead = v_lead
    else:
        t_lead = np.empty_like(v_lead)
        gr = factor.g_rest()
        l22 = factor.l22[:qr, :qr]
        for start in range(0, n, _ROW_CHUNK):
            rows = np.arange(start, min(n, start + _ROW_CHUNK))
            cols = [gr[:, lead.codes[rows] * size + s].T for s in range(size)]
            b = _rest_columns(problem, factor, rows)
            for s in range(size):
                b -= cols[s] * v_lead[rows, s:s + 1]
            x = solve_triangular(l22, b.T, lower=True, check_finite=False)
            h[rows] += np.sum(x * x, axis=0)
            c = solve_triangular(l22, x, lower=True, trans="T", check_finite=False)
            for s in range(size):
                t_lead[rows, s] = v_lead[rows, s] - np.einsum("ij,ji->i", cols[s], c)
            at = np.arange(len(rows))
            for term, off, out in zip(d.rest, d.rest_offsets, c_rest):
                for s in range(term.size):
                    out[rows, s] = c[off + term.codes[rows] * term.size + s, at]
    if size == 1:
        c_lead = t_lead / l11[:, 0, :]
    else:
        c_lead = np.linalg.solve(np.swapaxes(l11, 1, 2), t_lead[:, :, None])[:, :, 0]
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
        factor = GlmFactor(d, problem.lams(theta))
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
