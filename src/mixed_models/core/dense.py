"""Dense cross-products and factor of a raw-matrix model (:mod:`core.general`).

For a user's function theta -> Lambda' of any pattern the augmented system

    Omega = [ Lambda' Z'WZ Lambda + I    Lambda' Z'W[X y] ]
            [ [X y]'WZ Lambda            [X y]'W[X y]     ]

is formed densely and factored by LAPACK's Cholesky for every theta; the objective is read
off its diagonal exactly as in the blocked core (same formulas, algorithm.md section 1.3).
Omega is (k + p + 1) square for a k x q Lambda': memory grows as k^2, an evaluation as
k^3 / 3 plus the products with Lambda' (docs/performance.md has measurements).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixed_models.core import memory
from mixed_models.core.lazy import lazy_module

sp = lazy_module("scipy.sparse")
linalg = lazy_module("scipy.linalg")

LambdatFunction = Callable[[np.ndarray], "np.ndarray | sp.spmatrix"]


@dataclass(frozen=True, eq=False)
class GeneralCrossProducts:
    """Z'WZ, Z'W[X y] and [X y]'W[X y], dense, with the counts the objective needs.

    ``sqrt_diagonal`` holds sqrt(diag(Z'WZ)) when Z'WZ is diagonal (Z = I, as in the
    genetics models), which halves the cost of Lambda' Z'WZ Lambda; otherwise None.
    """

    ztwz: np.ndarray
    ztwxy: np.ndarray
    xywxy: np.ndarray
    n_obs: int
    n_fixed: int
    sum_log_weights: float
    sqrt_diagonal: np.ndarray | None = None


def general_cross_products(zt: sp.csr_matrix, x: np.ndarray, y: np.ndarray,
                           weights: np.ndarray | None) -> GeneralCrossProducts:
    """The cross-products of a model given as matrices (y has the offset subtracted)."""
    q = zt.shape[0]
    memory.require(memory.dense_bytes(q + x.shape[1] + 1, copies=3),
                   f"the dense {q} x {q} cross-product of the {q} random effects",
                   "Give fewer random effects (columns of Z).")
    w = np.ones(len(y)) if weights is None else weights
    xy = np.column_stack([x, y])
    ztw = zt.multiply(w[None, :]).tocsr()
    ztwz = ztw @ zt.T
    ztwz = ztwz.toarray() if sp.issparse(ztwz) else np.asarray(ztwz)
    diagonal = np.diag(ztwz)
    is_diagonal = np.count_nonzero(ztwz) == np.count_nonzero(diagonal)
    return GeneralCrossProducts(
        ztwz=ztwz, ztwxy=np.asarray(ztw @ xy), xywxy=xy.T @ (w[:, None] * xy),
        n_obs=len(y), n_fixed=x.shape[1],
        sum_log_weights=0.0 if weights is None else float(np.sum(np.log(weights))),
        sqrt_diagonal=np.sqrt(diagonal) if is_diagonal else None,
    )


class DenseFactor:
    """Cholesky factor of the augmented system for the current theta.

    Parameters
    ----------
    cp
        The cross-products.
    lambdat
        theta -> Lambda' (k x q, dense or sparse).
    n_theta
        Length of theta.
    """

    def __init__(self, cp: GeneralCrossProducts, lambdat: LambdatFunction, n_theta: int):
        self.cp = cp
        self.lambdat = lambdat
        self.n_theta = n_theta
        self.theta_slices = [slice(0, n_theta)]
        self.lower: np.ndarray | None = None
        self.k = 0

    def lambdat_at(self, theta: np.ndarray) -> np.ndarray | sp.spmatrix:
        """Lambda' at theta, as the user's function returns it (dense or sparse)."""
        lt = self.lambdat(np.asarray(theta, dtype=float))
        return lt.tocsr() if sp.issparse(lt) else np.asarray(lt, dtype=float)

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """[Lambda] (q x k, dense): the single "term" of a general problem."""
        lt = self.lambdat_at(theta)
        return [(lt.toarray() if sp.issparse(lt) else lt).T]

    def update(self, theta: np.ndarray) -> bool:
        """Factor Omega(theta). Returns False when it is not positive definite."""
        lt = self.lambdat_at(theta)
        cp = self.cp
        k, m = lt.shape[0], cp.xywxy.shape[0]
        omega = np.empty((k + m, k + m))
        omega[:k, :k] = self._scaled_ztwz(lt)
        omega[np.arange(k), np.arange(k)] += 1.0
        zx = np.asarray(lt @ cp.ztwxy)
        omega[:k, k:] = zx
        omega[k:, :k] = zx.T
        omega[k:, k:] = cp.xywxy
        if not np.all(np.isfinite(omega)):
            return False
        # omega is symmetric, so its transpose (Fortran order) is factored in place.
        upper, info = linalg.lapack.dpotrf(omega.T, lower=0, clean=1, overwrite_a=1)
        if info != 0 and info != k + m:
            return False
        self.lower, self.k = upper.T, k
        if info == k + m:  # y in the span of X and Z Lambda: zero residual
            self.lower[-1, -1] = 0.0
        return True

    def _scaled_ztwz(self, lt: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Lambda' Z'WZ Lambda, as B B' with B = Lambda' D^(1/2) when Z'WZ = D."""
        d = self.cp.sqrt_diagonal
        if d is None:
            return np.asarray(lt @ np.asarray(lt @ self.cp.ztwz).T)
        b = lt.multiply(d[None, :]).tocsr() if sp.issparse(lt) else lt * d[None, :]
        out = b @ b.T
        return out.toarray() if sp.issparse(out) else out

    def logdet_random(self) -> float:
        """log |L_theta|^2."""
        return 2.0 * float(np.sum(np.log(np.diagonal(self.lower)[:self.k])))

    def logdet_fixed(self) -> float:
        """log |R_X|^2."""
        p = self.cp.n_fixed
        return 2.0 * float(np.sum(np.log(np.diagonal(self.lower)[self.k:self.k + p])))

    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares at the conditional optimum."""
        return float(self.lower[-1, -1] ** 2)

    def blocks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """L_zz, L_xz, L_xx and the last row of the factor."""
        k, p = self.k, self.cp.n_fixed
        low = self.lower
        return low[:k, :k], low[k:k + p, :k], low[k:k + p, k:k + p], low[-1]
