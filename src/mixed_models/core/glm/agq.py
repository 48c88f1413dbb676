"""Adaptive Gauss-Hermite quadrature for a GLMM with one scalar random-effects term.

With a single scalar term the likelihood factors over its levels g, each a
one-dimensional integral over u_g ~ N(0, 1). Centred at the conditional mode u_g and
scaled by the conditional SD s_g = 1 / L_gg, the K-point rule for the standard normal
(nodes z_k, weights w_k summing to 1) gives lme4's (1.1-31) objective

    sum_g [D_g(u_g) - 2 log sum_k w_k exp(-(D_g(u_g + z_k s_g) - D_g(u_g)) / 2 + z_k^2 / 2)]
        + log det(Lambda' Z' W Z Lambda + I)

with D_g(u) the deviance residuals of level g plus u^2. It leaves out the saturated
log-likelihood; :func:`agq_deviance` returns it both ways.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp

from mixed_models.core.glm.pirls import GlmmProblem, PirlsError, PirlsState
from mixed_models.core.glm.laplace import WarmStartObjective

MAX_NODES = 25


@lru_cache(maxsize=32)
def gauss_hermite(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``n_nodes``-point rule for the standard normal."""
    if not 1 <= n_nodes <= MAX_NODES:
        raise ValueError(f"the number of quadrature nodes must be 1 to {MAX_NODES}, "
                         f"got {n_nodes}")
    z, w = hermegauss(n_nodes)
    return z, w / np.sqrt(2.0 * np.pi)


def check_agq(problem: GlmmProblem) -> None:
    """Raise unless the model has one scalar term and a family without dispersion."""
    if len(problem.terms) != 1 or problem.terms[0].size != 1:
        raise ValueError("adaptive Gauss-Hermite quadrature needs a single scalar random-effects "
                         f"term; this model has {len(problem.terms)} term(s) of sizes "
                         f"{[t.size for t in problem.terms]}: use n_agq=1 (Laplace)")
    if problem.saturated is None:
        raise ValueError(f"adaptive Gauss-Hermite quadrature is not available for the "
                         f"{problem.family.name} family (its dispersion is estimated); use n_agq=1")


def agq_deviance(problem: GlmmProblem, state: PirlsState, n_nodes: int) -> tuple[float, float]:
    """lme4's nAGQ objective at a converged PIRLS state, and the full -2 log-likelihood.

    Returns
    -------
    (objective, objective_full)
        The objective without the saturated log-likelihood (what lme4 minimizes and
        reports) and with it (the proper -2 log-likelihood).
    """
    term = problem.terms[0]
    fam = problem.family
    z, w = gauss_hermite(n_nodes)
    lam = state.factor.lam_lead[0, 0]
    u = state.u_lead[:, 0]
    s = 1.0 / state.factor.lead_diagonal()[:, 0]
    codes = term.codes
    # the linear predictor at u_g + z_k s_g, for every node k and row
    shift = (z[:, None] * (s * lam)[codes][None, :]) * term.z[:, 0][None, :]
    eta = state.eta[None, :] + shift
    mu = fam.link.inverse(eta)
    dev = fam.deviance_residuals(problem.y[None, :], mu, problem.weights[None, :])
    levels = term.n_levels
    flat = (codes[None, :] + levels * np.arange(n_nodes)[:, None]).ravel()
    d_nodes = np.bincount(flat, dev.ravel(), levels * n_nodes).reshape(n_nodes, levels)
    d_nodes += (u[None, :] + z[:, None] * s[None, :]) ** 2
    d_mode = np.bincount(codes, fam.deviance_residuals(problem.y, state.mu, problem.weights),
                         levels) + u * u
    log_sum = logsumexp(-(d_nodes - d_mode[None, :]) / 2.0 + z[:, None] ** 2 / 2.0, axis=0,
                        b=w[:, None])
    objective = float(np.sum(d_mode - 2.0 * log_sum)) + state.factor.logdet()
    return objective, objective + problem.saturated


class AgqObjective(WarmStartObjective):
    """(theta, beta) -> lme4's nAGQ objective (full -2 log-likelihood when ``full``)."""

    def __init__(self, problem: GlmmProblem, n_nodes: int, full: bool = True):
        check_agq(problem)
        gauss_hermite(n_nodes)
        super().__init__(problem)
        self.n_nodes = n_nodes
        self.full = full

    def __call__(self, theta: np.ndarray, beta: np.ndarray) -> float:
        try:
            state = self._modes(theta, beta, joint=False)
        except (PirlsError, np.linalg.LinAlgError):
            return np.inf
        relative, full = agq_deviance(self.problem, state, self.n_nodes)
        return full if self.full else relative
