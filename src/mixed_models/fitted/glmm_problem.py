"""A fitted GLMM seen through the interface the shared results read (``MixedProblem``).

:class:`GlmmRecordProblem` wraps the core's :class:`~mixed_models.core.glm.GlmmProblem`
(with the family at its estimate: a negative binomial's shape as fitted) and the
:class:`~mixed_models.core.glm.GlmmFit`. It answers the questions the free functions of
:mod:`mixed_models.fitted.results` ask (X, y, weights, offset, Z b, Z', Lambda', the
conditional covariances of the random effects at the modes, sigma^2) so that ``fix_ef``,
``ran_ef``, ``ran_ef_table``, ``sigma_mat``, ``model_data`` and the Wald tables are the
same code for linear and generalized models.

A GLMM's objective is not a function of theta alone (beta is optimized with it), so the
LMM's profiled-objective methods (``objective``, ``optimize``...) raise a ModelError;
``deviance_function`` gives the objective of (theta, beta) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from mixed_models.core.lazy import lazy_module
from mixed_models.core.problem import terms_zt
from mixed_models.core.solve import Estimates
from mixed_models.errors import ModelError

if TYPE_CHECKING:
    from mixed_models.core.glm import Family, GlmmFit, GlmmProblem

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")


class _Lambdas:
    """theta -> each term's relative covariance factor (the ``factor`` results read)."""

    def __init__(self, problem: GlmmProblem):
        self.problem = problem

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        return self.problem.lams(np.asarray(theta, dtype=float))


class GlmmRecordProblem:
    """The numeric side of a fitted GLMM for the record.

    Attributes
    ----------
    core
        The core problem (terms, X, response as proportions for the binomial, family at
        its estimate, prior weights times trials).
    fit
        The core fit: theta, beta, objective, PIRLS state at the modes, the Newton check.
    n_agq
        0, 1 (Laplace) or the number of adaptive Gauss-Hermite nodes.
    beta_covariance
        Wald covariance of beta (lme4's ``vcov``: from the Hessian of the objective over
        (theta, beta); given theta for n_agq = 0).
    shape_estimated
        True for a negative binomial whose shape was estimated (lme4's ``glmer.nb``).
    evaluations
        Objective evaluations of the whole fit (for glmer.nb: the Poisson start, the
        shape search and the joint Newton steps included).
    x, y, weights, offset
        The arrays (``weights``/``offset`` None when not given, as for LMMs).
    sigma
        None when a dispersion parameter is estimated (Gamma, inverse Gaussian, negative
        binomial with estimated shape), so that it counts as a parameter; else 1.
    """

    reml = False
    has_terms = True

    def __init__(self, core: GlmmProblem, fit: GlmmFit, n_agq: int, beta_covariance: np.ndarray,
                 shape_estimated: bool = False, weights: np.ndarray | None = None,
                 offset: np.ndarray | None = None, evaluations: int | None = None):
        self.core = core
        self.fit = fit
        self.beta_covariance = np.asarray(beta_covariance, dtype=float)
        self.n_agq = int(n_agq)
        self.shape_estimated = bool(shape_estimated)
        self.evaluations = int(fit.evaluations if evaluations is None else evaluations)
        self.x = core.design.x
        self.y = core.y
        self.weights = weights
        self.offset = offset
        family = core.family
        scale_free = family.name in ("binomial", "poisson") or (
            family.name == "negative.binomial" and not shape_estimated)
        self.sigma: float | None = 1.0 if scale_free else None
        self.factor = _Lambdas(core)
        self.terms = core.terms
        self.theta_slices = core.theta_slices

    # --- sizes and bounds ----------------------------------------------------------------

    @property
    def family(self) -> Family:
        """The response distribution and link (a negative binomial at its estimated shape)."""
        return self.core.family

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def n_fixed(self) -> int:
        return self.core.n_fixed

    @property
    def n_theta(self) -> int:
        return self.core.n_theta

    @property
    def response_sd(self) -> float:
        return float(np.std(self.y))

    def diagonal_mask(self) -> np.ndarray:
        return np.concatenate([t.covariance.diagonal_mask() for t in self.terms])

    def lower_bounds(self) -> np.ndarray:
        return self.core.theta_lower()

    def upper_bounds(self) -> np.ndarray:
        return np.full(self.n_theta, np.inf)

    def start(self) -> np.ndarray:
        return self.core.theta_initial()

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        return self.core.rectify(theta)

    def singular(self, theta: np.ndarray, tol: float) -> bool:
        """lme4's rule: some term's lambda has a diagonal entry below ``tol``."""
        theta = np.asarray(theta, dtype=float)
        return any(t.covariance.is_singular(theta[s], tol)
                   for t, s in zip(self.terms, self.theta_slices))

    def bounded_mask(self, theta: np.ndarray) -> np.ndarray:
        """Entries of theta held at their lower bound in the fit."""
        return np.asarray(self.core.theta_lower() == np.asarray(theta), dtype=bool)

    # --- the objective ---------------------------------------------------------------------

    def deviance_function(self) -> Callable[[np.ndarray], float]:
        """(theta, beta) concatenated -> the fit's objective (-2 log-likelihood under the
        Laplace or AGQ approximation, saturated part included), as lme4's second-stage
        ``devfun`` takes them."""
        from mixed_models.core.glm.agq import AgqObjective
        from mixed_models.core.glm.laplace import LaplaceObjective

        n_theta = self.n_theta
        objective: Any = (AgqObjective(self.core, self.n_agq) if self.n_agq > 1
                          else LaplaceObjective(self.core))

        def deviance(x: np.ndarray) -> float:
            x = np.asarray(x, dtype=float)
            return float(objective(x[:n_theta], x[n_theta:]))

        return deviance

    def _theta_only(self, what: str) -> ModelError:
        return ModelError(f"{what} is a function of theta alone for a linear mixed model; a "
                          "generalized model's objective depends on (theta, beta): use "
                          "deviance_function()")

    def objective(self, theta: np.ndarray) -> float:
        raise self._theta_only("objective(theta)")

    def detached_objective(self) -> Callable[[np.ndarray], float]:
        raise self._theta_only("the profiled objective")

    def optimize(self, settings: object = None, start: object = None) -> Any:
        raise self._theta_only("optimize()")

    @property
    def internal(self) -> GlmmRecordProblem:
        return self

    def theta_to_internal(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=float)

    def result_to_original(self, result: Any) -> Any:
        return result

    # --- estimates -------------------------------------------------------------------------

    def _check_theta(self, theta: np.ndarray) -> None:
        if not np.allclose(np.asarray(theta, dtype=float), self.fit.theta, rtol=0, atol=1e-12):
            raise ModelError(f"a fitted GLMM answers at its estimate theta = {self.fit.theta}, "
                             f"not at {np.asarray(theta)}")

    def estimates(self, theta: np.ndarray) -> Estimates:
        """beta, u, b at the estimate; ``beta_cov_unscaled`` is the Wald covariance over
        sigma^2, so that sigma^2 times it is lme4's ``vcov``."""
        from mixed_models.core.glm.modes import random_effects

        self._check_theta(theta)
        fit = self.fit
        b = random_effects(self.core, fit.state)
        return Estimates(np.asarray(fit.beta, dtype=float), self._spherical(), b, self.pwrss(),
                         self.beta_covariance / self.sigma2_value())

    def _spherical(self) -> list[np.ndarray]:
        d = self.core.design
        state = self.fit.state
        out: list[Any] = [None] * len(self.terms)
        out[d.order[0]] = state.u_lead
        for i, t, off in zip(d.order[1:], d.rest, d.rest_offsets):
            out[i] = state.u_rest[off:off + t.q].reshape(t.n_levels, t.size)
        return out

    def irls_weights(self) -> np.ndarray:
        """The IRLS weights at the modes: prior weight (dmu/deta)^2 / V(mu)."""
        fam = self.core.family
        state = self.fit.state
        mu_eta = fam.link.mu_eta_at(state.eta, state.mu)
        return self.core.weights * mu_eta * mu_eta / fam.variance(state.mu)

    def pwrss(self) -> float:
        """lme4's pwrss: IRLS-weighted squared working residuals plus ||u||^2."""
        fam = self.core.family
        state = self.fit.state
        mu_eta = fam.link.mu_eta_at(state.eta, state.mu)
        wrss = float(np.sum(self.irls_weights() * ((self.y - state.mu) / mu_eta) ** 2))
        return wrss + float(state.u_sq)

    def sigma2_value(self) -> float:
        """lme4's sigma()^2: pwrss / n for Gamma and inverse Gaussian, else 1."""
        if not self.core.family.has_dispersion or self.core.family.name == "negative.binomial":
            return 1.0
        return self.pwrss() / self.n_obs

    def sigma2(self, est: Estimates | None = None) -> float:
        return self.sigma2_value()

    def conditional_covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per term, (levels, S, S) conditional covariances of b at the modes, without
        sigma^2 (lme4's ``condVar`` divided by sigma^2)."""
        from mixed_models.core.glm.modes import conditional_variances

        self._check_theta(theta)
        return conditional_variances(self.core, self.fit.state)

    def random_part(self, b: list[np.ndarray]) -> np.ndarray:
        """Z b, row by row."""
        out = np.zeros(self.n_obs)
        for term, b_i in zip(self.terms, b):
            out += np.einsum("ns,ns->n", term.z, b_i[term.codes])
        return out

    def sparse_zt(self) -> Any:
        """Z' (q x n, sparse): term by term, level-major, as the random effects."""
        return terms_zt(self.terms)

    def sparse_lambdat(self, theta: np.ndarray) -> Any:
        """Lambda' at theta (q x q, sparse, block diagonal)."""
        lams = self.core.lams(np.asarray(theta, dtype=float))
        return sp.block_diag([sp.kron(sp.identity(t.n_levels), lam.T)
                              for t, lam in zip(self.terms, lams)]).tocsr()

    def conditional_covariance_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Lambda (Lambda' Z' W Z Lambda + I)^-1 Lambda' at the modes (dense, no sigma^2)."""
        self._check_theta(theta)
        zt = self.sparse_zt()
        lam = self.sparse_lambdat(theta).T.toarray()
        zl = (zt.T @ lam)
        w = self.irls_weights()
        precision = zl.T @ (zl * w[:, None]) + np.eye(lam.shape[0])
        return lam @ np.linalg.solve(precision, lam.T)

    def with_response(self, y: np.ndarray) -> Any:
        raise ModelError("refitting a generalized model to a new response is not "
                         "available yet")


class GeneralGlmmRecordProblem(GlmmRecordProblem):
    """A fitted GLMM given as raw matrices: one block of random effects, the user's
    function theta -> Lambda' and bounds (as the raw LMM's ``GeneralProblem``)."""

    has_terms = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lambdat = self.core.lambdat

    def diagonal_mask(self) -> np.ndarray:
        """Entries bounded below by exactly 0 (treated as scale parameters)."""
        return self.core.lower == 0.0

    def lower_bounds(self) -> np.ndarray:
        return self.core.lower.copy()

    def upper_bounds(self) -> np.ndarray:
        return self.core.upper.copy()

    def singular(self, theta: np.ndarray, tol: float) -> bool:
        """True when an entry bounded below by 0 ended below ``tol``."""
        return bool(np.any(np.asarray(theta)[self.diagonal_mask()] < tol))

    def estimates(self, theta: np.ndarray) -> Estimates:
        """beta, u and b = Lambda u at the estimate (one block each)."""
        self._check_theta(theta)
        fit = self.fit
        u = np.asarray(fit.state.u_rest, dtype=float)
        b = self.core.lambdat_at(fit.theta).T @ u
        return Estimates(np.asarray(fit.beta, dtype=float), [u[None, :]], [b[None, :]],
                         self.pwrss(), self.beta_covariance / self.sigma2_value())

    def _spherical(self) -> list[np.ndarray]:
        return [np.asarray(self.fit.state.u_rest, dtype=float)[None, :]]

    def conditional_covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        """[(1, q, q)]: Lambda (Lambda' Z' W Z Lambda + I)^-1 Lambda' at the modes."""
        self._check_theta(theta)
        factor = self.fit.state.factor
        k = self.core.design.q_rest
        half = linalg.solve_triangular(factor.l22[:k, :k], factor.lambdat, lower=True)
        return [(half.T @ half)[None]]

    def random_part(self, b: list[np.ndarray]) -> np.ndarray:
        """Z b."""
        return self.core.design.z @ np.asarray(b[0], dtype=float).ravel()

    def sparse_zt(self) -> Any:
        """Z' (q x n), the user's matrix."""
        return self.core.design.zt

    def sparse_lambdat(self, theta: np.ndarray) -> Any:
        """Lambda' at theta, the user's function's value."""
        return sp.csr_matrix(self.core.lambdat_at(theta))

    def conditional_covariance_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Lambda (Lambda' Z' W Z Lambda + I)^-1 Lambda' (q x q) at the modes."""
        return self.conditional_covariances(theta)[0][0]

