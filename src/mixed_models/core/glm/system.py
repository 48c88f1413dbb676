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
        # with scalar rest terms Lambda_rest is diagonal: the rest term of each row
        self.rest_scalar = all(t.size == 1 for t in self.rest)
        self.rest_term_of_row = np.repeat(np.arange(len(self.rest)), sizes).astype(np.intp) \
            if self.rest_scalar else None
        self._lead_idx, self._lead_z = _stacked([self.lead], [0])
        self._rest_idx, self._rest_z = _stacked(self.rest, self.rest_offsets)
        self._lead_zt = _transposed(self._lead_idx, self._lead_z, self.lead.q)
        self._rest_zt = _transposed(self._rest_idx, self._rest_z, self.q_rest)
        self._lead_pairs = [(s, t) for s in range(self.lead.size) for t in range(s + 1)]
        self._lead_factors = np.vstack([self.lead.z[:, s] * self.lead.z[:, t]
                                        for s, t in self._lead_pairs])
        self._lead_pair_idx = (self.lead.codes[None, :] + self.lead.n_levels *
                               np.arange(len(self._lead_pairs))[:, None]).ravel()
        self._cross = self._cross_products()
        self._rest_rest = self._rest_products()
        self.sparse_cross = self._use_sparse_cross()
        if self.sparse_cross:
            self._cross_pattern()

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
        return _Products.build(rows, cols, facs, self.q_rest)

    def _use_sparse_cross(self) -> bool:
        """Sparse Z_rest' W Z_lead when its column products are far fewer than dense ones."""
        if self._cross is None or self.lead.size != 1:
            return False
        cols = self._cross.targets % self.lead.q
        pairs = int(np.sum(np.bincount(cols, minlength=self.lead.q) ** 2))
        return 4 * pairs < self.q_rest * self.q_rest * self.lead.q

    def _cross_pattern(self) -> None:
        """CSR pattern of Z_rest' W Z_lead and, per lead column, its pairs of entries."""
        q1, qr = self.lead.q, self.q_rest
        rows, cols = self._cross.targets // q1, self._cross.targets % q1
        self.cross_rows = rows.astype(np.intp)
        self.cross_cols = cols.astype(np.intp)
        self.cross_rows_p = (rows[None, :] + qr * np.arange(self.p)[:, None]).ravel()
        by_col = np.argsort(cols, kind="stable")
        starts = np.searchsorted(cols[by_col], np.arange(q1 + 1))
        # every ordered pair of entries in one lead column: column l's c entries give
        # a c x c block, entry a repeated c times against the column's entries in turn
        sizes = np.diff(starts)
        block = np.repeat(sizes, sizes * sizes)
        within = np.arange(len(block)) - np.repeat(np.cumsum(sizes * sizes) - sizes * sizes,
                                                   sizes * sizes)
        first = np.repeat(starts[:-1], sizes * sizes)
        self.pair_e1 = by_col[first + within // np.maximum(block, 1)]
        self.pair_e2 = by_col[first + within % np.maximum(block, 1)]
        self.pair_col = cols[self.pair_e1]
        keys = rows[self.pair_e1] * qr + rows[self.pair_e2]
        self.pair_targets, self.pair_inverse = np.unique(keys, return_inverse=True)
        self.pair_inverse = self.pair_inverse.ravel()

    def blocks(self, w: np.ndarray):
        """The blocks of [Z X]' W [Z X] for weights ``w``.

        Returns
        -------
        a11
            Lead term's diagonal block, shape (levels, S, S).
        a21z
            Z_rest' W Z_lead, (q_rest, q_lead): dense, or when ``sparse_cross`` its
            nonzero entries, at ``cross_rows`` and ``cross_cols``.
        a21x
            X' W Z_lead, dense (p, q_lead).
        a22
            [Z_rest X]' W [Z_rest X], dense, shape (m, m).
        """
        lead = self.lead
        npairs = len(self._lead_pairs)
        sums = np.bincount(self._lead_pair_idx, (self._lead_factors * w).ravel(),
                           npairs * lead.n_levels).reshape(npairs, lead.n_levels)
        a11 = np.empty((lead.n_levels, lead.size, lead.size))
        for k, (s, t) in enumerate(self._lead_pairs):
            a11[:, s, t] = sums[k]
            a11[:, t, s] = sums[k]
        wx = self.x * w[:, None]
        qr = self.q_rest
        a21x = (self._lead_zt @ wx).T
        a22 = np.zeros((self.m, self.m))
        a22[qr:, qr:] = wx.T @ self.x
        if self._cross is None:
            return a11, np.zeros((0, lead.q)), a21x, a22
        cross = self._cross.sums(w)
        if self.sparse_cross:
            a21z = cross
        else:
            a21z = np.zeros((qr, lead.q))
            a21z.flat[self._cross.targets] = cross
        rr = np.zeros((qr, qr))
        rr.flat[self._rest_rest.targets] = self._rest_rest.sums(w)
        a22[:qr, :qr] = rr
        zx = (self._rest_zt @ wx).T
        a22[qr:, :qr] = zx
        a22[:qr, qr:] = zx.T
        return a11, a21z, a21x, a22

    def zt_times(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Z_lead' v (levels x S) and [Z_rest X]' v (m) for a vector over the rows."""
        lead = np.bincount(self._lead_idx.ravel(), (self._lead_z * v).ravel(), self.lead.q)
        rest = self.x.T @ v
        if self.q_rest:
            zr = np.bincount(self._rest_idx.ravel(), (self._rest_z * v).ravel(), self.q_rest)
            rest = np.concatenate([zr, rest])
        return lead.reshape(self.lead.n_levels, self.lead.size), rest

    def z_times(self, b_lead: np.ndarray, b_rest: np.ndarray) -> np.ndarray:
        """Z b for random effects on the b scale (lead block and rest block)."""
        out = np.sum(b_lead.ravel()[self._lead_idx] * self._lead_z, axis=0)
        if self.q_rest:
            out += np.sum(b_rest[self._rest_idx] * self._rest_z, axis=0)
        return out


def _stacked(terms: list[TermData], offsets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per column of the terms, each row's index into b and its z value: (K, n) each."""
    idx, zs = [], []
    for term, off in zip(terms, offsets):
        for s in range(term.size):
            idx.append(off + term.codes * term.size + s)
            zs.append(term.z[:, s])
    if not idx:
        return np.zeros((0, 0), dtype=np.intp), np.zeros((0, 0))
    return np.vstack(idx).astype(np.intp), np.vstack(zs)


def _transposed(idx: np.ndarray, z: np.ndarray, q: int) -> sp.csr_matrix:
    """Z' of a group of terms as a sparse q x n matrix."""
    n = idx.shape[1] if idx.size else 0
    cols = np.tile(np.arange(n), idx.shape[0])
    return sp.csr_matrix((z.ravel(), (idx.ravel(), cols)), shape=(q, n))
