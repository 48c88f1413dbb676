"""A linear mixed model given as raw matrices and a function theta -> Lambda'.

The blocked core (:mod:`factor`) assumes the per-level block structure of lme4 formulas.
A model given as raw matrices (the Ruby gem's ``LMM.new(x:, y:, zt:) { |theta| ... }``)
has a user function theta -> Lambda' of any pattern, e.g. theta[0] * chol(K) for a
kinship matrix K; its augmented system is dense (:mod:`core.dense`).
:data:`MAX_RANDOM_EFFECTS` refuses problems beyond 8,000 random effects (a 0.5 GB matrix).

Unstable: the dense factorization may become sparse (CHOLMOD) for large sparse Lambda.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mixed_models.core.dense import (
    DenseFactor,
    GeneralCrossProducts,
    LambdatFunction,
    general_cross_products,
)
from mixed_models.core.factor import profiled_objective
from mixed_models.core.lazy import lazy_module
from mixed_models.core.optimize import OptimizationResult, OptimizerSettings, minimize_theta
from mixed_models.core.solve import Estimates
from mixed_models.errors import InvalidArgumentError

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")

MAX_RANDOM_EFFECTS = 8_000


class GeneralProblem:
    """A linear mixed model given as matrices and a function theta -> Lambda'.

    Parameters
    ----------
    x
        n x p fixed-effects matrix of full column rank.
    y
        Response (n,).
    zt
        q x n transpose of the random-effects matrix (sparse or dense).
    lambdat
        theta -> Lambda' (k x q, usually q x q upper triangular), dense or sparse.
        Random effects b = Lambda u with u ~ N(0, sigma^2 I_k).
    start
        Starting theta; its length is the number of covariance parameters.
    lower, upper
        Bounds of theta (default: none). Entries bounded below by 0 are treated as
        standard-deviation-like: snapped to 0 when tiny, and a value below 1e-4 marks
        the fit as singular.
    weights, offset, reml, sigma
        As for :class:`~mixed_models.core.problem.LmmProblem`.
    """

    # no grouped terms: no column scaling, no analytic gradient
    has_terms = False

    def __init__(self, x: np.ndarray, y: np.ndarray, zt: sp.spmatrix | np.ndarray,
                 lambdat: LambdatFunction, start: np.ndarray,
                 lower: np.ndarray | None = None, upper: np.ndarray | None = None,
                 weights: np.ndarray | None = None, offset: np.ndarray | None = None,
                 reml: bool = True, sigma: float | None = None):
        self.x, self.y = x, y
        self.zt = sp.csr_matrix(zt)
        self.lambdat = lambdat
        self.theta0 = np.asarray(start, dtype=float)
        n_theta = len(self.theta0)
        self.lower = np.full(n_theta, -np.inf) if lower is None else np.asarray(lower, float)
        self.upper = np.full(n_theta, np.inf) if upper is None else np.asarray(upper, float)
        self.weights, self.offset = weights, offset
        self.reml, self.sigma = reml, sigma
        y_adj = y if offset is None else y - offset
        self.cp = general_cross_products(self.zt, x, y_adj, weights)
        self.factor = DenseFactor(self.cp, lambdat, n_theta)

    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return len(self.y)

    @property
    def n_fixed(self) -> int:
        """Number of fixed-effects columns."""
        return self.x.shape[1]

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.factor.n_theta

    def diagonal_mask(self) -> np.ndarray:
        """Entries bounded below by exactly 0 (treated as scale parameters)."""
        return self.lower == 0.0

    def lower_bounds(self) -> np.ndarray:
        """The user's lower bounds (-inf when none)."""
        return self.lower.copy()

    def upper_bounds(self) -> np.ndarray:
        """The user's upper bounds (+inf when none)."""
        return self.upper.copy()

    def start(self) -> np.ndarray:
        """The user's starting theta."""
        return self.theta0.copy()

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """theta unchanged: nothing is known of the user's parametrization."""
        return np.asarray(theta, dtype=float)

    def singular(self, theta: np.ndarray, tol: float) -> bool:
        """True when an entry bounded below by 0 ended below ``tol``."""
        return bool(np.any(np.asarray(theta)[self.diagonal_mask()] < tol))

    def bounded_mask(self, theta: np.ndarray) -> np.ndarray:
        """The entries bounded below by 0: nothing is known of where the user's
        function continues beyond its bounds."""
        return self.diagonal_mask()

    @property
    def internal(self) -> GeneralProblem:
        """The problem the optimizer works on: this one (the user's parametrization has
        no columns to centre or scale)."""
        return self

    def theta_to_internal(self, theta: np.ndarray) -> np.ndarray:
        """theta unchanged (see ``internal``)."""
        return np.asarray(theta, dtype=float)

    def result_to_original(self, result: OptimizationResult) -> OptimizationResult:
        """``result`` unchanged (see ``internal``)."""
        return result

    def objective(self, theta: np.ndarray) -> float:
        """REML criterion or ML deviance at theta; inf where it is undefined or theta is
        outside its bounds."""
        return self._evaluate(self.factor, np.asarray(theta, dtype=float))

    def _evaluate(self, factor: DenseFactor, theta: np.ndarray) -> float:
        # The user's function may be undefined outside the bounds it was given with.
        if np.any(theta < self.lower) or np.any(theta > self.upper) or \
                not factor.update(theta):
            return np.inf
        return profiled_objective(factor, self.reml, self.sigma)  # type: ignore[arg-type]

    def detached_objective(self) -> Callable[[np.ndarray], float]:
        """The objective with a factor of its own, so calls leave the fit untouched."""
        factor = DenseFactor(self.cp, self.lambdat, self.n_theta)
        return lambda theta: self._evaluate(factor, np.asarray(theta, dtype=float))

    def optimize(self, settings: OptimizerSettings | None = None,
                 start: np.ndarray | None = None) -> OptimizationResult:
        """Minimize the objective within the bounds; the factor is left at the optimum."""
        theta0 = self.start() if start is None else np.asarray(start, dtype=float)
        if settings is not None and settings.optimizer == "lbfgs":
            raise InvalidArgumentError(
                "optimizer 'lbfgs' needs the gradient of a formula model's covariance "
                "pattern; a model from raw matrices takes 'bobyqa' or 'newuoa'")
        result = minimize_theta(self.objective, theta0, self.diagonal_mask(), self.rectify,
                                settings, self.lower, self.upper)
        result.objective = self.objective(result.final)
        return result

    def estimates(self, theta: np.ndarray) -> Estimates:
        """beta, u and b = Lambda u at theta (refactors first)."""
        if not self.factor.update(theta):
            raise FloatingPointError(f"Omega is not positive definite at theta = {theta}")
        lzz, lxz, lxx, last = self.factor.blocks()
        k, p = self.factor.k, self.n_fixed
        beta = linalg.solve_triangular(lxx, last[k:k + p], trans="T", lower=True) if p \
            else np.zeros(0)
        u = linalg.solve_triangular(lzz, last[:k] - lxz.T @ beta, trans="T", lower=True)
        b = np.asarray(self.factor.lambdat_at(theta).T @ u).ravel()
        lxx_inv = linalg.solve_triangular(lxx, np.eye(p), lower=True) if p else np.zeros((0, 0))
        return Estimates(beta, [u[None, :]], [b[None, :]], self.factor.pwrss(),
                         lxx_inv.T @ lxx_inv)

    def sigma2(self, est: Estimates) -> float:
        """Residual variance: the known one, or pwrss over n (ML) or n - p (REML)."""
        if self.sigma is not None:
            return self.sigma**2
        return est.pwrss / (self.n_obs - self.n_fixed if self.reml else self.n_obs)

    def conditional_covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        """[(1, q, q)]: Lambda (Lambda' Z'WZ Lambda + I)^{-1} Lambda', without sigma^2."""
        self.factor.update(theta)
        lzz = self.factor.blocks()[0]
        lt = self.factor.lambdat_at(theta)
        w = linalg.solve_triangular(lzz, lt.toarray() if sp.issparse(lt) else lt, lower=True)
        return [(w.T @ w)[None]]

    def random_part(self, b: list[np.ndarray], terms: object = None) -> np.ndarray:
        """Z b."""
        return np.asarray(self.zt.T @ b[0].ravel()).ravel()

    @property
    def response_sd(self) -> float:
        """The response's standard deviation (the scale of the residual-SD check)."""
        return float(np.std(self.y))

    def sparse_zt(self) -> sp.csr_matrix:
        """Z' (q x n), the user's matrix."""
        return sp.csr_matrix(self.zt)

    def sparse_lambdat(self, theta: np.ndarray) -> sp.csr_matrix:
        """Lambda' at theta, the user's function's value."""
        return sp.csr_matrix(self.factor.lambdat_at(theta))

    def conditional_covariance_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Lambda (Lambda' Z'WZ Lambda + I)^{-1} Lambda' (q x q), without sigma^2."""
        return self.conditional_covariances(theta)[0][0]

    def with_response(self, y: np.ndarray) -> GeneralProblem:
        """The same model with another response; Z'WZ is shared, not recomputed."""
        y = np.asarray(y, dtype=float)
        if y.shape != self.y.shape:
            raise ValueError(f"the new response has shape {y.shape}; it must have shape "
                             f"{self.y.shape}")
        new = object.__new__(GeneralProblem)
        new.__dict__.update(self.__dict__)
        new.y = y
        y_adj = y if self.offset is None else y - self.offset
        w = np.ones(len(y)) if self.weights is None else self.weights
        xy = np.column_stack([self.x, y_adj])
        cp = self.cp
        new.cp = GeneralCrossProducts(
            cp.ztwz, np.asarray(self.zt @ (w[:, None] * xy)), xy.T @ (w[:, None] * xy),
            cp.n_obs, cp.n_fixed, cp.sum_log_weights)
        new.factor = DenseFactor(new.cp, self.lambdat, self.n_theta)
        return new
