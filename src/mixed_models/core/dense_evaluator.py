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
import functools

import numpy as np

from mixed_models.core import kernels
from mixed_models.core.block_gradient import lead_blocks
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
        self.theta_slices = theta_slices
        size = cp.lead.q + cp.avv.shape[0]
        self.n_theta = sum(s.stop - s.start for s in theta_slices)
        self.q = size - cp.avv.shape[0] + cp.q_rest
        self.size, self.reml = size, reml
        self.k = size if reml else self.q
        self.weight, self.constant = profiled_constants(cp, reml)
        self.calls = 0
        self.optimum: tuple[np.ndarray, np.ndarray] | None = None
        self.lead_size, self.q_rest = cp.lead.size, cp.q_rest
        self.blocks = self._blocks() if kernels.block_wanted() else None

    @functools.cached_property
    def _positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every theta entry's (row, column) in lambda~ at every level, and its index
        (numpy's evaluation reads them all; the compiled kernel only the lead term's
        first level and the tail's: :func:`kernel_index`)."""
        _, positions = layout(self.cp, self.theta_slices)
        rows = np.concatenate([r for r, _ in positions]).astype(np.intp)
        cols = np.concatenate([c for _, c in positions]).astype(np.intp)
        group = np.repeat(np.arange(len(positions)), [len(r) for r, _ in positions])
        return rows, cols, group

    @property
    def rows(self) -> np.ndarray:
        """Row in lambda~ of each theta entry at each level."""
        return self._positions[0]

    @property
    def cols(self) -> np.ndarray:
        """Column in lambda~ of each theta entry at each level."""
        return self._positions[1]

    @property
    def group(self) -> np.ndarray:
        """The theta entry of each of :attr:`rows`."""
        return self._positions[2]

    @functools.cached_property
    def a(self) -> np.ndarray:
        """The dense system [Z X y]' W [Z X y] (numpy's evaluation reads it; the
        compiled kernel reads the blocks, built from the cross-products directly)."""
        return dense_system(self.cp)

    @functools.cached_property
    def _dense(self) -> tuple:
        """numpy's evaluation's constants: lambda~'s fixed entries, where theta goes in
        it, where the traces are read, the diagonal of M, LAPACK's routines."""
        size = self.size
        base = np.zeros((size, size))
        tail = np.arange(self.q, size)
        base[tail, tail] = 1.0
        return (base, self.rows * size + self.cols, self.cols * size + self.rows,
                np.arange(self.q) * (size + 1), lapack.dpotrf, lapack.dpotrs)

    def _blocks(self) -> tuple:
        """The compiled kernel's arrays (the lead term's blocks, the dense tail)."""
        a1, at1, att = (np.ascontiguousarray(x) for x in lead_blocks(self.cp))
        return (a1, at1, att, *kernel_index(self.cp, self.theta_slices))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_dense", None)  # LAPACK's functions do not pickle
        return state

    def with_response(self, cp: CrossProducts) -> DenseEvaluator:
        """The evaluator of ``cp``, which differs from this one's cross-products in the
        response's row only (``crossprod.with_response``): the rest is shared."""
        new = copy.copy(self)
        new.cp, new.calls, new.optimum = cp, 0, self.optimum
        if self.blocks is not None:
            new.__dict__.pop("a", None)
            new.blocks = new._blocks()
            return new
        new.a = self.a.copy()
        last = np.concatenate([cp.ax1[-1], cp.avv[-1]])
        new.a[-1, :] = last
        new.a[:, -1] = last
        return new

    def solution(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
        """With the compiled kernels: the system solved at theta (see
        :func:`mixed_models.core.kernels.block_solution`); None without them, or where
        the system is not positive definite."""
        if self.blocks is None:
            return None
        return kernels.block_solution(theta, self.blocks, self.q_rest)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """(objective, gradient) at theta; (inf, NaN) where the system is not positive
        definite."""
        self.calls += 1
        if self.blocks is not None:
            value, grad = kernels.block_objective(theta, self.blocks, self.q_rest, self.reml,
                                                  self.weight, self.constant)
            return float(value), grad
        base, lam_index, trace_index, inflate, potrf, potrs = self._dense
        lam = base.copy()
        lam.flat[lam_index] = theta[self.group]
        b = lam.T @ self.a
        m = b @ lam
        m.flat[inflate] += 1.0
        chol, info = potrf(m, lower=1, clean=0)
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
            solved, info = potrs(chol, rhs, lower=1)
            v = solved[:, -1] * r2
            traces = solved[:, :-1].ravel()[trace_index]
        else:
            solved, info = potrs(chol[:k, :k], b[:k], lower=1)
            v, _ = potrs(chol, np.eye(1, self.size, self.size - 1)[0] * r2, lower=1)
            traces = solved.ravel()[trace_index]
        vb = v @ b
        per_entry = traces + (self.weight / r2) * vb[self.rows] * v[self.cols]
        grad = 2.0 * np.bincount(self.group, per_entry, self.n_theta)
        return float(value), grad


def kernel_index(cp: CrossProducts, theta_slices: list[slice]) -> list[np.ndarray]:
    """The compiled kernel's positions of theta: the lead term's entries in its S x S
    lambda (row, column, theta index), then every other term's entries at every level
    in the tail's lambda~ (the same order as :func:`~mixed_models.core.gradient.layout`'s
    with the lead term's other levels left out)."""
    lead_i = cp.order[0]
    lead, lead_s = cp.terms[lead_i].covariance, theta_slices[lead_i]
    rest_offset = dict(zip(cp.order[1:], cp.rest_offsets))
    rows, cols, group = [], [], []
    for i, term in enumerate(cp.terms):
        if i == lead_i:
            continue
        levels = np.arange(term.n_levels) * term.size + rest_offset[i]
        cov, first = term.covariance, theta_slices[i].start
        for e, (r, c) in enumerate(zip(cov.rows.tolist(), cov.cols.tolist())):
            rows.append(levels + r)
            cols.append(levels + c)
            group.append(np.full(term.n_levels, first + e))
    tail = [np.concatenate(x).astype(np.intp) if x else np.zeros(0, dtype=np.intp)
            for x in (rows, cols, group)]
    head = [np.ascontiguousarray(x, dtype=np.intp) for x in (
        lead.rows, lead.cols, np.arange(lead_s.start, lead_s.stop))]
    return head + tail
