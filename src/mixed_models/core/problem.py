"""The numeric LMM problem: arrays in, profiled objective and estimates out.

This is the only object the model layer needs from the core. It knows nothing of data
frames or names; theta is in the terms' own order.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from mixed_models.core import crossprod, kernels, products
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import TermData, cross_products, term_lambdas, theta_slices
from mixed_models.core.factor import BlockedCholesky, profiled_objective
from mixed_models.core.lazy import lazy_module
from mixed_models.core.optimize import OptimizationResult, OptimizerSettings, minimize_theta
from mixed_models.core.reparam import Reparametrization, internal_columns
from mixed_models.core.shift import least_squares_residual
from mixed_models.core.solve import (
    Estimates,
    conditional_covariances,
    estimates,
    random_effects_precision,
    solved_estimates,
)
from mixed_models.errors import DataError

sp = lazy_module("scipy.sparse")


class LmmProblem:
    """A linear mixed model as arrays, ready to be optimized over theta.

    Parameters
    ----------
    terms
        The random-effects terms.
    x
        n x p fixed-effects matrix of full column rank.
    y
        Response (n,).
    weights
        Prior (precision) weights, or None.
    offset
        Known part of the linear predictor, or None.
    reml
        Optimize the REML criterion (True) or the ML deviance.
    sigma
        A known residual SD (then it is not estimated), or None.
    reparametrize
        Fit in centred and scaled columns (core.reparam): ``internal`` is then the
        same model in those columns, where the optimizer works; the methods here take
        and return theta, beta and b in the original columns, computed there.

    Notes
    -----
    ``cp`` and ``factor`` always hold the original columns' cross-products; with an
    internal problem they are built only when asked for (by the inference methods).
    """

    # grouped terms: column scaling and the analytic gradient apply
    has_terms = True

    def __init__(self, terms: list[TermData], x: np.ndarray, y: np.ndarray,
                 weights: np.ndarray | None = None, offset: np.ndarray | None = None,
                 reml: bool = True, sigma: float | None = None, reparametrize: bool = True):
        self.terms = terms
        self.x = x
        self.y = y
        self.weights = weights
        self.offset = offset
        self.reml = reml
        self.sigma = sigma
        self.theta_slices = theta_slices(terms)
        self.reparam: Reparametrization | None = None
        self.internal = self
        if reparametrize:
            reparam, inner_terms, inner_x = internal_columns(terms, x, reml)
            if not reparam.is_identity:
                self.reparam = reparam
                self.internal = LmmProblem(inner_terms, inner_x, y, weights, offset, reml,
                                           sigma, reparametrize=False)
                return
        self.beta_shift, self.cp = self._original_blocks()

    def _original_blocks(self) -> tuple[np.ndarray, crossprod.CrossProducts]:
        y_adj = self.y if self.offset is None else self.y - self.offset
        beta_shift, y_work = least_squares_residual(self.x, y_adj, self.weights)
        source = self.__dict__.get("_response_of")
        if source is not None:  # a refit with another response shares the Z and X blocks
            return beta_shift, crossprod.with_response(source.cp, self.x, y_work,
                                                       self.weights)
        small = len(y_work) <= products.MAX_COMPILED_ROWS  # then ask: it loads the kernels
        return beta_shift, cross_products(self.terms, self.x, y_work, self.weights,
                                          compiled=small and kernels.block_wanted())

    @functools.cached_property
    def beta_shift(self) -> np.ndarray:
        """The least-squares fit of y on X that the cross-products leave out."""
        return self._original_blocks()[0]

    @functools.cached_property
    def cp(self) -> crossprod.CrossProducts:
        """Cross-products of the original columns."""
        self.beta_shift, cp = self._original_blocks()
        return cp

    @functools.cached_property
    def factor(self) -> BlockedCholesky:
        """A factor of ``cp``."""
        return BlockedCholesky(self.cp)

    def theta_to_internal(self, theta: np.ndarray) -> np.ndarray:
        """theta of the original columns -> theta of ``internal``'s."""
        theta = np.asarray(theta, dtype=float)
        if self.reparam is None:
            return theta
        known = self.__dict__.get("_mapped")
        if known is not None and np.array_equal(known[0], theta):
            return known[1].copy()
        return self.reparam.theta_to_internal(theta, self.theta_slices)

    def theta_to_original(self, theta: np.ndarray) -> np.ndarray:
        """theta of ``internal``'s columns -> theta of the original ones.

        The last pair mapped is remembered: the original theta of a covariate far from
        zero is ill-conditioned (an intercept SD 1e4 times the slope's at a correlation
        of -1 + 1e-8), so mapping it back would lose the digits the optimizer found, and
        the estimates at the fitted theta come from the internal one itself.
        """
        theta = np.asarray(theta, dtype=float)
        if self.reparam is None:
            return theta
        original = self.reparam.theta_to_original(theta, self.theta_slices)
        self._mapped = (original.copy(), theta.copy())
        return original

    def result_to_original(self, result: OptimizationResult) -> OptimizationResult:
        """An optimization of ``internal`` as one of this problem: theta mapped back and
        the REML criterion's change under the map of X added back."""
        if self.reparam is None:
            return result
        return dataclasses.replace(
            result, start=self.theta_to_original(result.start),
            final=self.theta_to_original(result.final),
            objective=result.objective + self.reparam.reml_shift)

    def with_response(self, y: np.ndarray) -> LmmProblem:
        """The same model with another response (for bootstrap and simulation refits).

        Every Z and X block is shared with this problem; only the cross-products that
        involve y are recomputed, in O(n). The objective of the result equals that of a
        fresh ``LmmProblem`` built from the same arrays and ``y``.
        """
        y = np.asarray(y, dtype=float)
        if y.shape != self.y.shape:
            raise DataError(f"the new response has shape {y.shape}; it must have one value "
                            f"per observation, shape {self.y.shape}")
        if not np.all(np.isfinite(y)):
            raise DataError("the new response has missing or infinite values; all "
                            f"{len(y)} values must be finite")
        new = object.__new__(LmmProblem)
        new.__dict__.update(self.__dict__)
        new.y = y
        if self.reparam is not None:
            for cached in ("beta_shift", "cp", "factor"):
                new.__dict__.pop(cached, None)
            new._response_of = self.__dict__.get("_response_of", self)
            new.internal = self.internal.with_response(y)
            return new
        new.internal = new
        y_adj = y if self.offset is None else y - self.offset
        new.beta_shift, y_work = least_squares_residual(self.x, y_adj, self.weights)
        new.cp = crossprod.with_response(self.cp, self.x, y_work, self.weights)
        new.__dict__.pop("factor", None)  # its own factor, made when first asked for
        return new

    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return len(self.y)

    @property
    def n_fixed(self) -> int:
        """Number of fixed-effects columns (the rank of X)."""
        return self.x.shape[1]

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.theta_slices[-1].stop if self.theta_slices else 0

    def diagonal_mask(self) -> np.ndarray:
        """Which theta entries sit on a lambda diagonal (bounded below by zero)."""
        return np.concatenate([t.covariance.diagonal_mask() for t in self.terms])

    def lower_bounds(self) -> np.ndarray:
        """lme4's bounds: 0 for diagonal entries, -inf otherwise."""
        return np.concatenate([t.covariance.lower_bounds() for t in self.terms])

    def upper_bounds(self) -> np.ndarray:
        """+inf, except 1 for the correlation parameters of cs and ar1 terms."""
        return np.concatenate([t.covariance.upper_bounds() for t in self.terms])

    def singular(self, theta: np.ndarray, tol: float) -> bool:
        """True when some term's lambda has a diagonal entry below ``tol`` (a zero
        variance or a correlation at the edge of its range), lme4's rule, judged in the
        internal columns (mean 0, root mean square 1), so that the answer does not
        change with the units or the origin of a covariate."""
        if self.reparam is not None:
            return self.internal.singular(self.theta_to_internal(theta), tol)
        return any(t.covariance.is_singular(theta[s], tol)
                   for t, s in zip(self.terms, self.theta_slices))

    def bounded_mask(self, theta: np.ndarray) -> np.ndarray:
        """The diagonal entries whose lower bound 0 is a true boundary at ``theta``.

        A zero diagonal entry of a lambda column that has other nonzero entries is not
        one: lambda with that column's sign flipped is the same model, so the objective
        continues smoothly below zero (and falls there when it rises above). Only when
        the rest of the column is zero is the objective even in the entry.
        """
        theta = np.asarray(theta, dtype=float)
        mask = self.diagonal_mask()
        for t, s in zip(self.terms, self.theta_slices):
            cov = t.covariance
            if not isinstance(cov, PatternCovariance):
                continue
            lam = cov.lam(theta[s])
            others = np.abs(lam).sum(axis=0) - np.abs(np.diag(lam))
            mask[s] = (cov.rows == cov.cols) & (others[cov.cols] == 0.0)
        return mask

    def start(self) -> np.ndarray:
        """lme4's starting theta (a variance-ratio start for intercept-only terms), in
        the internal columns and mapped back to the original ones."""
        if self.reparam is not None:
            return self.theta_to_original(self.internal.start())
        ratio = self._variance_ratio_start()
        if ratio is not None:
            return ratio
        return np.concatenate([t.covariance.initial() for t in self.terms])

    def _variance_ratio_start(self) -> np.ndarray | None:
        if len(self.y) < 2 or not all(t.size == 1 for t in self.terms) \
                or not all(np.all(t.z == 1.0) for t in self.terms):
            return None
        y = self.y
        centred = y - y.mean()
        spread = []
        for t in self.terms:  # the variance of the rows' group means, from the groups
            counts = np.bincount(t.codes, None, t.n_levels)
            sums = np.bincount(t.codes, centred, t.n_levels)
            spread.append(float(sums @ (sums / np.maximum(counts, 1))) / (len(y) - 1))
        resid = float(centred @ centred) / (len(y) - 1) - sum(spread)
        if not resid > 0:
            return None
        return np.sqrt(np.array(spread) / resid)

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """The equivalent theta with non-negative lambda diagonals."""
        return np.concatenate([t.covariance.rectify(theta[s]) for t, s
                               in zip(self.terms, self.theta_slices)])

    def objective(self, theta: np.ndarray) -> float:
        """REML criterion or ML deviance at theta; inf where it is undefined."""
        if self.reparam is not None:
            return self.internal.objective(self.theta_to_internal(theta)) + \
                self.reparam.reml_shift
        return self._evaluate(self.factor, theta)

    def _evaluate(self, factor: BlockedCholesky, theta: np.ndarray) -> float:
        if not factor.update(theta):
            return np.inf
        return profiled_objective(factor, self.reml, self.sigma)

    def detached_objective(self) -> Callable[[np.ndarray], float]:
        """The objective with a factor of its own, so calls leave the fit untouched."""
        if self.reparam is not None:
            inner, shift = self.internal.detached_objective(), self.reparam.reml_shift
            return lambda theta: inner(self.theta_to_internal(theta)) + shift
        factor = BlockedCholesky(self.cp)
        return lambda theta: self._evaluate(factor, np.asarray(theta, dtype=float))

    def optimize(self, settings: OptimizerSettings | None = None,
                 start: np.ndarray | None = None) -> OptimizationResult:
        """Minimize the objective; the factor is left at the optimum. Works in the
        internal columns; ``start`` and the result are in the original ones."""
        if self.reparam is not None:
            inner_start = None if start is None else self.theta_to_internal(start)
            return self.result_to_original(self.internal.optimize(settings, inner_start))
        theta0 = self.start() if start is None else np.asarray(start, dtype=float)
        if settings is not None and settings.optimizer == "lbfgs":
            from mixed_models.core.gradient import quasi_newton_result
            return quasi_newton_result(self, theta0)
        result = minimize_theta(self.objective, theta0, self.diagonal_mask(), self.rectify,
                                settings, self.lower_bounds(), self.upper_bounds())
        result.objective = self.objective(result.final)
        return result

    def estimates(self, theta: np.ndarray) -> Estimates:
        """beta, u, b at theta (refactors first)."""
        if self.reparam is not None:
            inner = self.theta_to_internal(theta)
            return self.reparam.estimates_to_original(self.internal.estimates(inner), inner,
                                                      self.theta_slices)
        solved = self._compiled_solution(theta)
        if solved is not None:
            lams = term_lambdas(self.terms, self.theta_slices, theta)
            est = solved_estimates(self.cp, lams, *solved)
            return dataclasses.replace(est, beta=est.beta + self.beta_shift)
        if not self.factor.update(theta):
            raise FloatingPointError(f"Omega is not positive definite at theta = {theta}")
        return self.estimates_from(self.factor, theta)

    def _compiled_solution(self, theta: np.ndarray) -> tuple | None:
        """The system solved at theta by the compiled kernel of the small model's Newton
        fit, when it ran (a fit's estimates then need no factor of the blocked one)."""
        evaluator = self.__dict__.get("_dense_evaluator")
        if evaluator is None or evaluator.cp is not self.cp:
            return None
        return evaluator.solution(np.asarray(theta, dtype=float))

    def estimates_from(self, factor: BlockedCholesky, theta: np.ndarray) -> Estimates:
        """beta, u, b from a factor of this problem's cross-products, already at theta."""
        est = estimates(factor, np.asarray(theta, dtype=float))
        return dataclasses.replace(est, beta=est.beta + self.beta_shift)

    def sigma2(self, est: Estimates) -> float:
        """Residual variance: the known one, or pwrss over n (ML) or n - p (REML)."""
        if self.sigma is not None:
            return self.sigma**2
        return est.pwrss / (self.n_obs - self.n_fixed if self.reml else self.n_obs)

    def conditional_covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per term, (levels, S, S) covariance blocks of b given y, without sigma^2."""
        if self.reparam is not None:
            return self.reparam.covariances_to_original(
                self.internal.conditional_covariances(self.theta_to_internal(theta)))
        self.factor.update(theta)
        return conditional_covariances(self.factor, np.asarray(theta, dtype=float))

    def random_part(self, b: list[np.ndarray], terms: list[TermData] | None = None) -> np.ndarray:
        """Z b, row by row; levels coded -1 contribute nothing."""
        terms = self.terms if terms is None else terms
        out = np.zeros(len(terms[0].codes))
        for term, b_i in zip(terms, b):
            known = term.codes >= 0
            out[known] += np.einsum("ns,ns->n", term.z[known], b_i[term.codes[known]])
        return out

    @property
    def response_sd(self) -> float:
        """The response's standard deviation (the scale of the residual-SD check)."""
        return float(np.std(self.y))

    def sparse_zt(self) -> sp.csr_matrix:
        """Z' (q x n, sparse): term by term, level-major, as the random effects."""
        return terms_zt(self.terms)

    def sparse_lambdat(self, theta: np.ndarray) -> sp.csr_matrix:
        """Lambda' at theta (q x q, sparse, block diagonal)."""
        lams = self.factor.lambdas(theta)
        return sp.block_diag([sp.kron(sp.identity(t.n_levels), lam.T)
                              for t, lam in zip(self.terms, lams)]).tocsr()

    def conditional_covariance_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Lambda (Lambda' Z'WZ Lambda + I)^{-1} Lambda' (q x q, dense), without sigma^2."""
        self.factor.update(theta)
        omega, lam = random_effects_precision(self.factor, theta)
        return lam @ np.linalg.solve(omega, lam.T)


def terms_zt(terms: list[TermData]) -> sp.csr_matrix:
    """Z' (q x n, sparse) of per-level terms: term by term, level-major, as the random
    effects."""
    blocks = []
    for term in terms:
        n, size = term.z.shape
        rows = (term.codes[:, None] * size + np.arange(size)).ravel()
        cols = np.repeat(np.arange(n), size)
        blocks.append(sp.csr_matrix((term.z.ravel(), (rows, cols)), shape=(term.q, n)))
    return sp.vstack(blocks).tocsr()
