"""A GLMM given as raw matrices and a function theta -> Lambda' (no grouped terms).

The blocked core (:mod:`system`, :mod:`factor`) relies on the per-level structure of lme4
formulas. A model given as matrices has a user function theta -> Lambda' of any pattern
(e.g. theta[0] * chol(K)' for a kinship matrix K), so its PIRLS system

    M = [ Lambda' Z' W Z Lambda + I    Lambda' Z' W X ]
        [ X' W Z Lambda                X' W X         ]

is formed densely and factored by LAPACK's Cholesky for each set of weights.
:class:`GeneralDesign` and :class:`GeneralFactor` answer the same questions as
``WeightedDesign`` and ``GlmFactor`` with an empty lead term (every random effect in the
dense "rest" block), so PIRLS, the Laplace objective and the two-stage fit are shared.

There is no analytic gradient (the fit uses BOBYQA and Newton steps on differences of the
objective) and no adaptive quadrature. Unstable: a sparse factorization for large sparse
Lambda may replace the dense one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixed_models.core.glm.family import Family
from mixed_models.core.glm.pirls import GlmmProblem, PirlsError

LambdatFunction = Callable[[np.ndarray], "np.ndarray | sp.spmatrix"]


@dataclass(frozen=True)
class _EmptyLead:
    """The lead term of a design without grouped terms: no levels."""

    n_levels: int = 0
    size: int = 1
    q: int = 0


class GeneralDesign:
    """Z (given as Z', q x n) and X of a raw-matrix GLMM with k spherical random effects.

    ``q_rest`` is k (the effects the factor solves for) and ``m`` = k + p, as in the
    blocked design; Z'-side products have q (+ p) rows and are mapped to k by Lambda'.
    """

    def __init__(self, zt: sp.csr_matrix, x: np.ndarray, k: int):
        self.zt = sp.csr_matrix(zt)
        self.z = self.zt.T.tocsr()
        self.x = np.ascontiguousarray(x, dtype=float)
        self.n, self.p = self.x.shape
        self.q = self.zt.shape[0]
        self.lead = _EmptyLead()
        self.q_rest = int(k)
        self.m = self.q_rest + self.p
        self.order = [0]
        self.rest: list = []

    def blocks(self, w: np.ndarray):
        """(None, None, None, w): a general factor forms its products from the weights
        themselves (:meth:`GeneralFactor.update`)."""
        return None, None, None, w

    def zt_times(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(empty lead part, [Z X]' v)."""
        return np.zeros((0, 1)), np.concatenate([self.zt @ v, self.x.T @ v])

    def z_times(self, b_lead: np.ndarray, b_rest: np.ndarray) -> np.ndarray:
        """Z b for b on the b scale (q entries; the lead part is empty)."""
        return self.z @ b_rest


class GeneralFactor:
    """Cholesky factor of the dense PIRLS system for one Lambda' (k x q).

    The attributes and methods PIRLS reads (``lam_lead``, ``lead_lam``, ``rest_lam``,
    ``rest_lam_t``, ``update``, ``solve``, ``logdet``, ``l22``) mean what they mean for
    ``GlmFactor`` with an empty lead term.
    """

    def __init__(self, design: GeneralDesign, lambdat: np.ndarray):
        self.design = design
        self.lambdat = lambdat
        self.lam_lead = np.ones((1, 1))
        self.lam_rest: list = []
        self.l11 = np.ones((0, 1, 1))
        self.l22: np.ndarray | None = None
        # Lambda' Z' W Z Lambda as the cross-product of W^1/2 Z Lambda (n k^2 flops) when
        # that is cheaper than Lambda' (Z' W Z) Lambda (2 k q^2): few rows per effect,
        # as in an animal model (Z = I)
        k, q = design.q_rest, design.q
        self.z_lam = np.asarray(design.z @ lambdat.T) if design.n * k <= 2 * q * q else None

    def rest_lam_t(self, mat: np.ndarray) -> np.ndarray:
        """Lambda' applied to the first q rows of ``mat`` (the X rows after them kept)."""
        q = self.design.q
        return np.concatenate([self.lambdat @ mat[:q], mat[q:]])

    def rest_lam(self, u_rest: np.ndarray) -> np.ndarray:
        """b = Lambda u."""
        return self.lambdat.T @ u_rest

    def lead_lam(self, u_lead: np.ndarray) -> np.ndarray:
        """The empty lead part."""
        return u_lead

    def update(self, a11: object, a21z: object, a21x: object, w: np.ndarray) -> None:
        """Factor M for the weights ``w`` (what :meth:`GeneralDesign.blocks` passes)."""
        d = self.design
        k, m = d.q_rest, d.m
        root = np.sqrt(w)
        wx = d.x * root[:, None]
        mat = np.empty((m, m))
        if self.z_lam is not None:
            half = self.z_lam * root[:, None]
            mat[:k, :k] = half.T @ half
            mat[:k, k:] = half.T @ wx
        else:
            lt = self.lambdat
            ztwz = (d.zt @ d.z.multiply(w[:, None]).tocsc()).toarray()
            mat[:k, :k] = lt @ ztwz @ lt.T
            mat[:k, k:] = lt @ np.asarray(d.zt @ (wx * root[:, None]))
        mat[k:, :k] = mat[:k, k:].T
        mat[k:, k:] = wx.T @ wx
        mat[np.arange(k), np.arange(k)] += 1.0
        l22, info = lapack.dpotrf(mat, lower=1, clean=1)
        if info != 0 or not np.all(np.isfinite(l22)):
            raise np.linalg.LinAlgError(f"the matrix is not positive definite (pivot {info})")
        self.l22 = l22

    def solve(self, r_lead: np.ndarray, r_rest: np.ndarray, joint: bool
              ) -> tuple[np.ndarray, np.ndarray]:
        """Solve M x = r for u (``joint=False``) or for (u, beta)."""
        k = self.design.m if joint else self.design.q_rest
        x2, _ = lapack.dpotrs(self.l22[:k, :k], r_rest[:k], lower=1)
        return np.zeros((0, 1)), x2

    def logdet(self) -> float:
        """log det(Lambda' Z' W Z Lambda + I) (the X part excluded)."""
        k = self.design.q_rest
        return 2.0 * float(np.sum(np.log(np.diag(self.l22)[:k])))

    def logdet_x(self) -> float:
        """log det of the X part."""
        k = self.design.q_rest
        return 2.0 * float(np.sum(np.log(np.diag(self.l22)[k:])))


class GeneralGlmmProblem(GlmmProblem):
    """Arrays of a GLMM given as matrices: X, Z', the function theta -> Lambda', the
    response, family, prior weights and offset, with theta's start and bounds.

    Parameters
    ----------
    x, zt
        n x p fixed-effects matrix (full column rank) and q x n Z' (sparse or dense).
    lambdat
        theta -> Lambda' (k x q), dense or sparse; b = Lambda u, u ~ N(0, I_k).
    start
        Starting theta (its length is the number of covariance parameters).
    lower, upper
        Bounds of theta (None: unbounded). Outside them the objective is infinite.
    y, family, weights, offset
        As for :class:`GlmmProblem`.
    """

    analytic_gradient = False

    def __init__(self, x: np.ndarray, zt: sp.spmatrix, lambdat: LambdatFunction,
                 start: np.ndarray, y: np.ndarray, family: Family,
                 weights: np.ndarray | None = None, offset: np.ndarray | None = None,
                 lower: np.ndarray | None = None, upper: np.ndarray | None = None):
        self.lambdat = lambdat
        self.theta0 = np.asarray(start, dtype=float)
        n_theta = len(self.theta0)
        self.lower = np.full(n_theta, -np.inf) if lower is None else np.asarray(lower, float)
        self.upper = np.full(n_theta, np.inf) if upper is None else np.asarray(upper, float)
        k = self.lambdat_at(self.theta0).shape[0]
        self.design = GeneralDesign(sp.csr_matrix(zt), x, k)
        self.terms = []
        self.theta_slices = []
        self.n_theta = n_theta
        self._set_response(y, family, weights, offset)

    def lambdat_at(self, theta: np.ndarray) -> np.ndarray:
        """Lambda' at theta, dense (k x q)."""
        lt = self.lambdat(np.asarray(theta, dtype=float).copy())
        return lt.toarray() if sp.issparse(lt) else np.asarray(lt, dtype=float)

    def make_factor(self, theta: np.ndarray) -> GeneralFactor:
        theta = np.asarray(theta, dtype=float)
        if np.any(theta < self.lower) or np.any(theta > self.upper):
            raise PirlsError(f"theta = {theta} is outside its bounds")
        lt = self.lambdat_at(theta)
        if lt.shape != (self.design.q_rest, self.design.q) or not np.all(np.isfinite(lt)):
            raise PirlsError(f"lambdat(theta) at theta = {theta} is not a finite "
                             f"{self.design.q_rest} x {self.design.q} matrix")
        return GeneralFactor(self.design, lt)

    def lams(self, theta: np.ndarray) -> list[np.ndarray]:
        """[Lambda] (q x k): the single block of a general problem."""
        return [self.lambdat_at(theta).T]

    def theta_lower(self) -> np.ndarray:
        return self.lower.copy()

    def theta_lower_unsigned(self) -> np.ndarray:
        return self.lower.copy()

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """theta unchanged: nothing is known of the user's parametrization."""
        return np.asarray(theta, dtype=float)

    def theta_initial(self) -> np.ndarray:
        return self.theta0.copy()
