"""The profiled objective and its exact gradient over theta on the dense system of a small
model (:class:`DenseEvaluator`), the function :mod:`mixed_models.core.dense_newton`
minimizes.

For a model whose whole system [Z X y]' W [Z X y] is a small dense matrix (sleepstudy:
39 rows), one evaluation costs a few dense products and one Cholesky factor
(:mod:`mixed_models.core.gradient`'s formulas). Everything that does not depend on theta
(the dense system, where each theta entry sits in Lambda, where the gradient's traces
are read) is prepared once, so that an evaluation is a handful of whole-array calls;
with the compiled kernels in use (:func:`mixed_models.core.kernels.block_wanted`) it is
compiled code on the lead term's blocks, with the same numbers.
"""

from __future__ import annotations

import copy

import numpy as np

from mixed_models.core import kernels
from mixed_models.core.crossprod import CrossProducts
from mixed_models.core.gradient import dense_system, layout, profiled_constants
from mixed_models.core.lazy import lazy_module

lapack = lazy_module("scipy.linalg.lapack")


class DenseEvaluator:
    """The profiled objective and its gradient over theta, on the dense system.

    Parameters
    ----------
    cp
        The cross-products (any term structure with theta entries of lambda).
    theta_slices
        Each term's slice of theta.
    reml
        REML criterion (True) or ML deviance.
    """

    def __init__(self, cp: CrossProducts, theta_slices: list[slice], reml: bool):
        self.cp = cp
        self.a = dense_system(cp)
        size = self.a.shape[0]
        offsets, positions = layout(cp, theta_slices)
        rows = np.concatenate([r for r, _ in positions]).astype(np.intp)
        cols = np.concatenate([c for _, c in positions]).astype(np.intp)
        self.group = np.repeat(np.arange(len(positions)), [len(r) for r, _ in positions])
        self.n_theta = len(positions)
        self.q = size - cp.avv.shape[0] + cp.q_rest
        self.size, self.reml = size, reml
        self.k = size if reml else self.q
        self.lam_index = rows * size + cols
        self.trace_index = cols * size + rows
        self.rows, self.cols = rows, cols
        self.base = np.zeros((size, size))
        tail = np.arange(self.q, size)
        self.base[tail, tail] = 1.0
        self.inflate = np.arange(self.q) * (size + 1)
        self.weight, self.constant = profiled_constants(cp, reml)
        self.calls = 0
        self.optimum: tuple[np.ndarray, np.ndarray] | None = None
        self._potrf, self._potrs = lapack.dpotrf, lapack.dpotrs
        self.lead_size, self.q_rest = cp.lead.size, cp.q_rest
        self.blocks = self._blocks() if kernels.block_wanted() else None

    def _blocks(self) -> tuple:
        """The compiled kernel's arrays (the lead term's blocks, the dense tail)."""
        q1 = self.q - self.q_rest
        return kernels.block_arrays(self.a, q1, self.lead_size, self.rows, self.cols,
                                    self.group)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_potrf"], state["_potrs"]  # LAPACK's functions do not pickle
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._potrf, self._potrs = lapack.dpotrf, lapack.dpotrs

    def with_response(self, cp: CrossProducts) -> DenseEvaluator:
        """The evaluator of ``cp``, which differs from this one's cross-products in the
        response's row only (``crossprod.with_response``): the rest is shared."""
        new = copy.copy(self)
        new.cp, new.calls, new.optimum = cp, 0, self.optimum
        new.a = self.a.copy()
        last = np.concatenate([cp.ax1[-1], cp.avv[-1]])
        new.a[-1, :] = last
        new.a[:, -1] = last
        if self.blocks is not None:
            new.blocks = new._blocks()
        return new

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """(objective, gradient) at theta; (inf, NaN) where the system is not positive
        definite."""
        self.calls += 1
        if self.blocks is not None:
            value, grad = kernels.block_objective(theta, self.blocks, self.q_rest, self.reml,
                                                  self.weight, self.constant)
            return float(value), grad
        lam = self.base.copy()
        lam.flat[self.lam_index] = theta[self.group]
        b = lam.T @ self.a
        m = b @ lam
        m.flat[self.inflate] += 1.0
        chol, info = self._potrf(m, lower=1, clean=0)
        if info != 0:
            return np.inf, np.full(self.n_theta, np.nan)
        diag = np.log(chol.flat[::self.size + 1])
        r2 = np.exp(2.0 * diag[-1])
        k = self.k
        value = 2.0 * diag[:k].sum() + self.weight * np.log(r2) + self.constant
        # M^-1 [B e_y] in one solve (REML); ML differentiates log det M_zz: its factor
        # is chol's leading block, and M^-1 e_y needs the whole factor
        if k == self.size:
            rhs = np.empty((k, self.size + 1))
            rhs[:, :-1] = b
            rhs[:, -1] = 0.0
            rhs[-1, -1] = 1.0
            solved, info = self._potrs(chol, rhs, lower=1)
            v = solved[:, -1] * r2
            traces = solved[:, :-1].ravel()[self.trace_index]
        else:
            solved, info = self._potrs(chol[:k, :k], b[:k], lower=1)
            v, _ = self._potrs(chol, np.eye(1, self.size, self.size - 1)[0] * r2, lower=1)
            traces = solved.ravel()[self.trace_index]
        vb = v @ b
        per_entry = traces + (self.weight / r2) * vb[self.rows] * v[self.cols]
        grad = 2.0 * np.bincount(self.group, per_entry, self.n_theta)
        return float(value), grad
