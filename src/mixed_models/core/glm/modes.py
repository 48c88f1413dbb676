"""Conditional modes and conditional variances of the random effects at a PIRLS state.

On the b scale (b = Lambda u), per term in the caller's order. The conditional covariance
of u is the inverse of Lambda' Z' W Z Lambda + I (the IRLS weights at the mode), as lme4's
``ranef(condVar = TRUE)`` takes it for a GLMM; only its diagonal blocks per level are
formed, from the blocked factor.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from mixed_models.core.glm.pirls import GlmmProblem, PirlsState


def _per_term(problem: GlmmProblem, lead: np.ndarray, rest: list[np.ndarray]) -> list:
    d = problem.design
    out: list = [None] * len(problem.terms)
    out[d.order[0]] = lead
    for i, value in zip(d.order[1:], rest):
        out[i] = value
    return out


def random_effects(problem: GlmmProblem, state: PirlsState) -> list[np.ndarray]:
    """Conditional modes b, one (levels x S) array per term."""
    d = problem.design
    f = state.factor
    b_lead = f.lead_lam(state.u_lead)
    b_rest = f.rest_lam(state.u_rest)
    rest = [b_rest[off:off + t.q].reshape(t.n_levels, t.size)
            for t, off in zip(d.rest, d.rest_offsets)]
    return _per_term(problem, b_lead, rest)


def conditional_variances(problem: GlmmProblem, state: PirlsState) -> list[np.ndarray]:
    """Conditional covariance of each level's random effects, (levels x S x S) per term."""
    d = problem.design
    f = state.factor
    qr, size, levels = d.q_rest, d.lead.size, d.lead.n_levels
    l11_inv = np.linalg.inv(f.l11)                                 # (levels, S, S)
    v_lead = np.swapaxes(l11_inv, 1, 2) @ l11_inv
    rest = []
    if qr:
        l22 = f.l22[:qr, :qr]
        p = scipy.linalg.solve_triangular(l22, f.g_rest(), lower=True, check_finite=False)
        k = (p.reshape(qr, levels, size).transpose(1, 0, 2) @ l11_inv)   # (levels, qr, S)
        v_lead = v_lead + np.swapaxes(k, 1, 2) @ k
        l22_inv = scipy.linalg.solve_triangular(l22, np.eye(qr), lower=True, check_finite=False)
        for t, off in zip(d.rest, d.rest_offsets):
            cols = l22_inv[:, off:off + t.q].reshape(qr, t.n_levels, t.size).transpose(1, 0, 2)
            rest.append(np.swapaxes(cols, 1, 2) @ cols)
    lams = [f.lam_lead] + f.lam_rest
    blocks = [v_lead] + rest
    scaled = [lam @ v @ lam.T for lam, v in zip(lams, blocks)]
    return _per_term(problem, scaled[0], scaled[1:])


def lme4_sigma(problem: GlmmProblem, state: PirlsState) -> float:
    """lme4's ``sigma()`` of a GLMM with a scale (Gamma, inverse Gaussian):
    sqrt(pwrss / n), pwrss the IRLS-weighted working residuals' squares plus ||u||^2.
    lme4 multiplies its random-effect SDs and conditional SDs by it."""
    fam = problem.family
    mu_eta = fam.link.mu_eta_at(state.eta, state.mu)
    w = problem.weights * mu_eta * mu_eta / fam.variance(state.mu)
    wrss = float(np.sum(w * ((problem.y - state.mu) / mu_eta) ** 2))
    return float(np.sqrt((wrss + state.u_sq) / len(problem.y)))
