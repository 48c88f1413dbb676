"""Weighted cross-products of [Z X] for changing IRLS weights, in blocks.

Every PIRLS iteration needs Z'WZ, Z'WX and X'WX for new weights W. The sparsity
pattern never changes, so it is worked out once here: each block entry is a sum over the
rows that touch it, and per iteration one ``np.bincount`` per block adds up the weighted
row products. No n x q matrix is formed.

The terms are reordered as in the LMM core: the term with the most random effects leads
(its diagonal block is block-diagonal, one S x S block per level), the other terms and X
form a dense "rest" block. X is always part of the rest, after the random effects, so
that the same factor serves PIRLS over u alone (its leading part) and over (u, beta).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mixed_models.core.crossprod import TermData


@dataclass
class _Products:
    """Block entries as weighted sums of row products, sharing one bincount."""

    inverse: np.ndarray   # (k * n,) compressed target of each row product
    factors: np.ndarray   # (k, n) the row products without the weight
    targets: np.ndarray   # flat index of each compressed target in the block

    @classmethod
    def build(cls, rows: list[np.ndarray], cols: list[np.ndarray], factors: list[np.ndarray],
              n_cols: int) -> _Products | None:
        if not rows:
            return None
        keys = np.concatenate([r.astype(np.int64) * n_cols + c for r, c in zip(rows, cols)])
        targets, inverse = np.unique(keys, return_inverse=True)
        return cls(inverse.ravel(), np.vstack(factors), targets)

    def sums(self, w: np.ndarray) -> np.ndarray:
        return np.bincount(self.inverse, (self.factors * w).ravel(), len(self.targets))


class WeightedDesign:
    """The random-effects terms and X of a GLMM, ready for weighted cross-products.

    Parameters
    ----------
    terms
        The random-effects terms in the caller's order.
    x
        The fixed-effects model matrix, n x p (full column rank).
    """

    def __init__(self, terms: list[TermData], x: np.ndarray):
        if not terms:
            raise ValueError("a mixed model needs at least one random-effects term")
        self.terms = terms
        self.x = np.ascontiguousarray(x, dtype=float)
        self.n, self.p = self.x.shape
        self.order = sorted(range(len(terms)), key=lambda i: -terms[i].q)
        self.lead = terms[self.order[0]]
        self.rest = [terms[i] for i in self.order[1:]]
        sizes = [t.q for t in self.rest]
        self.rest_offsets = list(np.cumsum([0] + sizes)[:-1]) if sizes else []
        self.q_rest = int(sum(sizes))
        self.m = self.q_rest + self.p
        self.q = self.lead.q + self.q_rest
        self._zt_lead = _transposed_z(self.lead)
        self._zt_rest = sp.vstack([_transposed_z(t) for t in self.rest]).tocsr() \
            if self.rest else None
        self._lead_pairs = [(s, t) for s in range(self.lead.size) for t in range(s + 1)]
        self._lead_factors = np.vstack([self.lead.z[:, s] * self.lead.z[:, t]
                                        for s, t in self._lead_pairs])
        self._cross = self._cross_products()
        self._rest_rest = self._rest_products()

    def _rest_rows(self, term: TermData, offset: int, s: int) -> np.ndarray:
        return offset + term.codes * term.size + s

    def _cross_products(self) -> _Products | None:
        lead = self.lead
        rows, cols, facs = [], [], []
        for term, off in zip(self.rest, self.rest_offsets):
            for s in range(term.size):
                for t in range(lead.size):
                    rows.append(self._rest_rows(term, off, s))
                    cols.append(lead.codes * lead.size + t)
                    facs.append(term.z[:, s] * lead.z[:, t])
        return _Products.build(rows, cols, facs, lead.q)

    def _rest_products(self) -> _Products | None:
        rows, cols, facs = [], [], []
        pairs = [(t, off, s) for t, off in zip(self.rest, self.rest_offsets) for s in range(t.size)]
        for t1, o1, s1 in pairs:
            for t2, o2, s2 in pairs:
                rows.append(self._rest_rows(t1, o1, s1))
                cols.append(self._rest_rows(t2, o2, s2))
                facs.append(t1.z[:, s1] * t2.z[:, s2])
        return _Products.build(rows, cols, facs, self.m)

    def blocks(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The blocks of [Z X]' W [Z X] for weights ``w``.

        Returns
        -------
        a11
            Lead term's diagonal block, shape (levels, S, S).
        a21
            [Z_rest X]' W Z_lead, dense, shape (m, q_lead).
        a22
            [Z_rest X]' W [Z_rest X], dense, shape (m, m).
        """
        lead = self.lead
        a11 = np.empty((lead.n_levels, lead.size, lead.size))
        sums = np.bincount(
            np.tile(lead.codes, len(self._lead_pairs)) +
            np.repeat(np.arange(len(self._lead_pairs)) * lead.n_levels, self.n),
            (self._lead_factors * w).ravel(), len(self._lead_pairs) * lead.n_levels,
        ).reshape(len(self._lead_pairs), lead.n_levels)
        for k, (s, t) in enumerate(self._lead_pairs):
            a11[:, s, t] = sums[k]
            a11[:, t, s] = sums[k]
        wx = self.x * w[:, None]
        a21 = np.zeros((self.m, lead.q))
        a22 = np.zeros((self.m, self.m))
        qr = self.q_rest
        if self._cross is not None:
            a21.flat[self._cross.targets] = self._cross.sums(w)
        a21[qr:] = (self._zt_lead @ wx).T
        if self._rest_rest is not None:
            a22.flat[self._rest_rest.targets] = self._rest_rest.sums(w)
            zx = self._zt_rest @ wx
            a22[:qr, qr:] = zx
            a22[qr:, :qr] = zx.T
        a22[qr:, qr:] = wx.T @ self.x
        return a11, a21, a22

    def zt_times(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Z_lead' v (levels x S) and [Z_rest X]' v (m) for a vector over the rows."""
        lead = self._zt_lead @ v
        rest = self.x.T @ v
        if self._zt_rest is not None:
            rest = np.concatenate([self._zt_rest @ v, rest])
        return lead.reshape(self.lead.n_levels, self.lead.size), rest

    def z_times(self, b_lead: np.ndarray, b_rest: np.ndarray) -> np.ndarray:
        """Z b for random effects on the b scale (lead block and rest block)."""
        out = self._zt_lead.T @ b_lead.ravel()
        if self._zt_rest is not None:
            out = out + self._zt_rest.T @ b_rest
        return out


def _transposed_z(term: TermData) -> sp.csr_matrix:
    """Z' of one term as a sparse q x n matrix (S nonzeros per column)."""
    n, size = term.z.shape
    rows = (term.codes[:, None] * size + np.arange(size)).ravel()
    cols = np.repeat(np.arange(n), size)
    return sp.csr_matrix((term.z.ravel(), (rows, cols)), shape=(term.q, n))
