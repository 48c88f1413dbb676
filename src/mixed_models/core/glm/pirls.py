"""Penalized iteratively reweighted least squares for the conditional modes.

For given theta (and beta, or with beta updated jointly) PIRLS minimizes the penalized
deviance ``sum of deviance residuals + ||u||^2`` over the spherical random effects u by
Fisher scoring: each step solves ``(Lambda' Z' W Z Lambda + I) delta = Lambda' Z' W r - u``
with the IRLS weights W and working residuals r, halving the step while the penalized
deviance does not fall. Iterations stop when the Newton decrement (the predicted fall of
the penalized deviance) is below ``tol``, far tighter than lme4's default, because the
Laplace objective of the oracle is evaluated at the exact mode.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from mixed_models.core.crossprod import TermData
from mixed_models.core.glm.factor import GlmFactor
from mixed_models.core.glm.family import Family
from mixed_models.core.glm.system import WeightedDesign
from mixed_models.core.threads import blas_threads_for
from mixed_models.errors import MixedModelsError


class PirlsError(MixedModelsError, FloatingPointError):
    """PIRLS found no conditional mode (the linear predictor left the family's range,
    or the penalized deviance stopped falling far from a mode)."""


class GlmmProblem:
    """Arrays of a GLMM: terms, X, response, family, prior weights and offset.

    Parameters
    ----------
    terms
        Random-effects terms (caller's order; theta follows it, term after term).
    x
        Fixed-effects model matrix (n x p, full column rank).
    y
        Response; for the binomial the proportion of successes.
    family
        The response distribution and link.
    weights
        Prior weights (the number of trials of a binomial proportion); None for ones.
    offset
        Added to the linear predictor; None for zeros.

    Attributes
    ----------
    analytic_gradient
        The Laplace objective's gradient is available (given a family that has one).
    """

    analytic_gradient = True

    def __init__(self, terms: list[TermData], x: np.ndarray, y: np.ndarray, family: Family,
                 weights: np.ndarray | None = None, offset: np.ndarray | None = None):
        self.design = WeightedDesign(terms, x)
        self.terms = terms
        counts = [t.covariance.n_theta for t in terms]
        self.theta_slices = [slice(a, a + c) for a, c in zip(np.cumsum([0] + counts), counts)]
        self.n_theta = int(sum(counts))
        self._set_response(y, family, weights, offset)

    def _set_response(self, y: np.ndarray, family: Family, weights: np.ndarray | None,
                      offset: np.ndarray | None) -> None:
        """Check and keep the response, family, weights and offset (one per row of X)."""
        n = self.design.n
        self.y = np.asarray(y, dtype=float)
        self.family = family
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        self.offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
        if self.y.shape != (n,) or self.weights.shape != (n,) or self.offset.shape != (n,):
            raise ValueError(f"y, weights and offset must have one value per row of X ({n})")
        family.check_response(self.y, self.weights)
        self.saturated = saturated_m2_log_density(family, self.y, self.weights)
        self._deviance = family.deviance_function(self.y, self.weights)

    def with_family(self, family: Family) -> GlmmProblem:
        """The same arrays with another family (the design is shared, not copied)."""
        other = copy.copy(self)
        other.family = family
        other.saturated = saturated_m2_log_density(family, self.y, self.weights)
        other._deviance = family.deviance_function(self.y, self.weights)
        return other

    def with_response(self, y: np.ndarray) -> GlmmProblem:
        """The same design, family, weights and offset with another response (checked)."""
        y = np.asarray(y, dtype=float)
        if y.shape != self.y.shape:
            raise ValueError(f"the new response must have {self.y.size} values, got {y.size}")
        self.family.check_response(y, self.weights)
        other = copy.copy(self)
        other.y = y
        other.saturated = saturated_m2_log_density(self.family, y, self.weights)
        other._deviance = self.family.deviance_function(y, self.weights)
        return other

    @property
    def n_fixed(self) -> int:
        return self.design.p

    def make_factor(self, theta: np.ndarray) -> GlmFactor:
        """The (unfactored) PIRLS system's factor for ``theta``."""
        return GlmFactor(self.design, self.lams(theta))

    def lams(self, theta: np.ndarray) -> list[np.ndarray]:
        """Each term's relative covariance factor for ``theta``."""
        return [t.covariance.lam(np.asarray(theta)[s]) for t, s in zip(self.terms,
                                                                         self.theta_slices)]

    def theta_lower(self) -> np.ndarray:
        return np.concatenate([t.covariance.lower_bounds() for t in self.terms])

    def theta_lower_unsigned(self) -> np.ndarray:
        """Lower bounds with the SD entries of plainly bounded terms left free: their sign
        does not change Lambda Lambda', so a search may cross zero (a bound at 0 would be
        a false stationary point, the objective being even in each such entry)."""
        parts = []
        for term in self.terms:
            cov = term.covariance
            lower = cov.lower_bounds()
            if not cov.has_bounded_parameters():
                lower = np.where(cov.diagonal_mask(), -np.inf, lower)
            parts.append(lower)
        return np.concatenate(parts)

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """The representative of theta with non-negative SD entries (same model)."""
        return np.concatenate([t.covariance.rectify(np.asarray(theta, dtype=float)[s])
                               for t, s in zip(self.terms, self.theta_slices)])

    def theta_initial(self) -> np.ndarray:
        return np.concatenate([t.covariance.initial() for t in self.terms])

    def penalized_deviance(self, eta: np.ndarray, u_sq: float) -> tuple[float, np.ndarray]:
        """Sum of deviance residuals plus ||u||^2 at a linear predictor, and the mean."""
        fam = self.family
        if not fam.link.valid_eta(eta):
            return np.inf, eta
        mu = fam.link.inverse(eta)
        if not fam.valid_mu(mu):
            return np.inf, mu
        return self._deviance(mu) + u_sq, mu

    def m2_log_density(self, mu: np.ndarray, deviance: float) -> float:
        """-2 log f(y | mu), from the deviance where the saturated density is known."""
        if self.saturated is not None:
            return deviance + self.saturated
        return self.family.m2_log_density(self.y, mu, self.weights)


def saturated_m2_log_density(family: Family, y: np.ndarray, weights: np.ndarray
                             ) -> float | None:
    """-2 log-density of the saturated model, None where the family has none in closed
    form (its density term is then not the deviance plus a constant)."""
    try:
        return family.saturated_m2_log_density(y, weights)
    except ValueError:
        return None


@dataclass
class PirlsState:
    """The conditional modes and everything at them.

    ``u_lead`` (levels x S) and ``u_rest`` are on the spherical scale; ``factor`` is
    factored with the IRLS weights at the modes.
    """

    u_lead: np.ndarray
    u_rest: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    u_sq: float
    factor: GlmFactor
    iterations: int

    @property
    def penalized_deviance(self) -> float:
        return self.deviance + self.u_sq

    def u(self) -> np.ndarray:
        """u in the factorization's term order (lead first)."""
        return np.concatenate([self.u_lead.ravel(), self.u_rest])


def linear_predictor(problem: GlmmProblem, factor: GlmFactor, beta: np.ndarray,
                     u_lead: np.ndarray, u_rest: np.ndarray) -> np.ndarray:
    """offset + X beta + Z Lambda u."""
    b_lead = factor.lead_lam(u_lead)
    b_rest = factor.rest_lam(u_rest)
    return problem.offset + problem.design.x @ beta + problem.design.z_times(b_lead, b_rest)


def pirls(problem: GlmmProblem, theta: np.ndarray, beta: np.ndarray,
          u_lead: np.ndarray | None = None, u_rest: np.ndarray | None = None,
          joint: bool = False, tol: float = 1e-24, max_iter: int = 100,
          max_halvings: int = 40, chord: GlmFactor | None = None,
          chord_steps: int = 2) -> PirlsState:
    """The conditional modes for ``theta`` (with ``beta`` fixed, or updated when ``joint``).

    Parameters
    ----------
    problem
        The GLMM arrays.
    theta, beta
        Covariance parameters; fixed effects (the start when ``joint``).
    u_lead, u_rest
        Starting spherical random effects (None: zeros).
    joint
        Update beta together with u (lme4's nAGQ = 0 step).
    chord, chord_steps
        A factor from nearby parameters (the previous evaluation's): up to
        ``chord_steps`` steps with it, before any new factorization, bring a warm start
        closer to the mode at the cost of a solve each.
    tol
        Stop when the Newton decrement falls below ``tol * max(1, penalized deviance)``
        or stops falling at the rounding floor. The deviance moves with the square root
        of the decrement along the mode (it trades against ||u||^2), and the Gamma and
        inverse Gaussian densities amplify it by n / deviance: hence the tiny default.

    Raises
    ------
    PirlsError
        When no step lowers the penalized deviance and the decrement is still large, or
        after ``max_iter`` iterations.
    """
    with blas_threads_for(problem.design.m):
        return _pirls(problem, theta, beta, u_lead, u_rest, joint, tol, max_iter, max_halvings,
                      chord, chord_steps)


def _newton_rhs(problem: GlmmProblem, factor: GlmFactor, eta, mu, u_lead, u_rest):
    """IRLS weights and the right side Lambda' Z' W r - u (and X' W r) at a point."""
    fam = problem.family
    mu_eta = fam.link.mu_eta_at(eta, mu)
    w = problem.weights * mu_eta * mu_eta / fam.variance(mu)
    r_lead, r_rest = problem.design.zt_times(w * (problem.y - mu) / mu_eta)
    r_lead = r_lead @ factor.lam_lead - u_lead
    r_rest = factor.rest_lam_t(r_rest)
    r_rest[:len(u_rest)] -= u_rest
    return w, r_lead, r_rest


def _pirls(problem, theta, beta, u_lead, u_rest, joint, tol, max_iter, max_halvings, chord,
           chord_steps):
    d = problem.design
    fam = problem.family
    factor = problem.make_factor(theta)
    u_lead = np.zeros((d.lead.n_levels, d.lead.size)) if u_lead is None else u_lead.copy()
    u_rest = np.zeros(d.q_rest) if u_rest is None else u_rest.copy()
    beta = np.asarray(beta, dtype=float).copy()
    eta = linear_predictor(problem, factor, beta, u_lead, u_rest)
    u_sq = float(np.sum(u_lead ** 2) + u_rest @ u_rest)
    pdev, mu = problem.penalized_deviance(eta, u_sq)
    if not np.isfinite(pdev):
        u_lead[:] = 0.0
        u_rest[:] = 0.0
        eta = linear_predictor(problem, factor, beta, u_lead, u_rest)
        u_sq = 0.0
        pdev, mu = problem.penalized_deviance(eta, u_sq)
        if not np.isfinite(pdev):
            raise PirlsError(f"the linear predictor at beta = {beta} gives means outside "
                             f"the {fam.name} family's range")
    for _ in range(0 if chord is None else chord_steps):
        _, r_lead, r_rest = _newton_rhs(problem, factor, eta, mu, u_lead, u_rest)
        dl, dr = chord.solve(r_lead, r_rest, joint)
        nl, nr = u_lead + dl, u_rest + dr[:d.q_rest]
        nb = beta + dr[d.q_rest:] if joint else beta
        new_eta = linear_predictor(problem, factor, nb, nl, nr)
        new_sq = float(np.sum(nl ** 2) + nr @ nr)
        new_pdev, new_mu = problem.penalized_deviance(new_eta, new_sq)
        if not new_pdev < pdev:
            break
        u_lead, u_rest, beta, eta, mu, pdev, u_sq = nl, nr, nb, new_eta, new_mu, new_pdev, new_sq
    previous = np.inf
    for iteration in range(1, max_iter + 1):
        w, r_lead, r_rest = _newton_rhs(problem, factor, eta, mu, u_lead, u_rest)
        factor.update(*d.blocks(w))
        dl, dr = factor.solve(r_lead, r_rest, joint)
        k = len(dr)
        decrement = float(np.sum(r_lead * dl) + r_rest[:k] @ dr)
        scale = max(1.0, pdev)
        if decrement < tol * scale or (decrement < 1e-14 * scale and decrement > 0.25 * previous):
            return PirlsState(u_lead, u_rest, beta, eta, mu, pdev - u_sq, u_sq, factor,
                              iteration)
        previous = decrement
        step = 1.0
        for _ in range(max_halvings):
            nl = u_lead + step * dl
            nr = u_rest + step * dr[:d.q_rest]
            nb = beta + step * dr[d.q_rest:] if joint else beta
            new_eta = linear_predictor(problem, factor, nb, nl, nr)
            new_sq = float(np.sum(nl ** 2) + nr @ nr)
            new_pdev, new_mu = problem.penalized_deviance(new_eta, new_sq)
            if new_pdev <= pdev + 1e-12 * abs(pdev) or decrement < 1e-12 * max(1.0, pdev):
                # near the mode rounding hides the fall; the full step is still right
                break
            step *= 0.5
        else:
            raise PirlsError(
                f"PIRLS could not lower the penalized deviance {pdev!r} (Newton decrement "
                f"{decrement:.3g}) at theta = {np.asarray(theta)}")
        u_lead, u_rest, beta = nl, nr, nb
        eta, mu, pdev, u_sq = new_eta, new_mu, new_pdev, new_sq
    raise PirlsError(f"PIRLS did not converge in {max_iter} iterations at theta = "
                     f"{np.asarray(theta)}")
