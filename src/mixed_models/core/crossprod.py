"""The cross-product blocks of [Z X y], built once per model and never again per theta.

The random-effects terms are reordered so that the term with the most random effects
comes first (the "lead" term). Its diagonal block is block-diagonal (one S x S block per
level) and is eliminated analytically; everything else (the other terms, X and y) forms
the dense "rest" block. The blocks are sums over rows, so they can be accumulated chunk
by chunk (:class:`CrossProductAccumulator`); no n x q matrix is ever formed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from mixed_models.core import memory, products
from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.lazy import lazy_module

sp = lazy_module("scipy.sparse")

# The lead-to-rest block is kept dense below this many entries or above this density.
_DENSE_ENTRIES = 250_000
_DENSE_FRACTION = 0.25
# Merged accumulators sum their lead-to-rest pairs above this many stored entries.
_COMPACT_ENTRIES = 2_000_000


@dataclass(frozen=True, eq=False)
class TermData:
    """One random-effects term as arrays: level codes, per-row z values, covariance.

    Attributes
    ----------
    codes
        Level index (0 .. n_levels-1) of each row.
    z
        Array of shape (n, S): the row's values of the term's S columns.
    n_levels
        Number of levels of the grouping factor.
    covariance
        Pattern of the term's relative covariance factor.
    """

    codes: np.ndarray
    z: np.ndarray
    n_levels: int
    covariance: CovarianceStructure

    @property
    def size(self) -> int:
        """S, the number of random effects per level."""
        return self.z.shape[1]

    @property
    def q(self) -> int:
        """Number of random effects of the term (levels x columns)."""
        return self.n_levels * self.size


def term_lambdas(terms: list[TermData], slices: list[slice],
                 theta: np.ndarray) -> list[np.ndarray]:
    """lambda of every term at theta (its slice ``slices[i]``), in the terms' order."""
    return [t.covariance.lam(theta[s]) for t, s in zip(terms, slices)]


def theta_slices(terms: list[TermData]) -> list[slice]:
    """Each term's slice of theta, in the terms' order."""
    slices, start = [], 0
    for term in terms:
        stop = start + term.covariance.n_theta
        slices.append(slice(start, stop))
        start = stop
    return slices


@dataclass(eq=False)
class CrossProducts:
    """A = [Z X y]' W [Z X y] in the blocks the factorization needs.

    Attributes
    ----------
    order
        Term indices in factorization order; ``order[0]`` is the lead term.
    terms
        The terms in the caller's order (their codes are kept for post-fit work).
    a11
        Lead term's diagonal block, shape (levels, S, S).
    ax1
        [X y]' W Z_lead, shape (p + 1, q_lead).
    ar1
        Z_rest' W Z_lead: a CSR matrix whose stored pattern is complete in blocks of
        S_lead columns per (row, level) pair, or a dense array when small or dense.
    avv
        The rest block [Z_rest X y]' W [Z_rest X y], dense, symmetric.
    rest_offsets
        Offset of each rest term (in ``order[1:]`` order) within the rest block.
    n_obs, n_fixed, sum_log_weights
        n, p (rank of X) and sum(log(w)).
    """

    order: list[int]
    terms: list[TermData]
    a11: np.ndarray
    ax1: np.ndarray
    ar1: sp.csr_matrix | np.ndarray
    avv: np.ndarray
    rest_offsets: list[int]
    n_obs: int
    n_fixed: int
    sum_log_weights: float
    ar1_level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @property
    def lead(self) -> TermData:
        """The term eliminated first."""
        return self.terms[self.order[0]]

    @property
    def rest(self) -> list[TermData]:
        """The other terms, in factorization order."""
        return [self.terms[i] for i in self.order[1:]]

    @property
    def q_rest(self) -> int:
        """Number of random effects outside the lead term."""
        return sum(t.q for t in self.rest)


#: Up to this many columns-times-columns products, Z'[X y] and Z'Z are summed by
#: bincounts; beyond, by a sparse product.
MAX_BINCOUNTS = 64


def factorization_order(terms: list[TermData]) -> list[int]:
    """Terms sorted by number of random effects, largest first (stable)."""
    return sorted(range(len(terms)), key=lambda i: -terms[i].q)


def _sparse_z(term: TermData, zw: np.ndarray) -> sp.csr_matrix:
    """Z of one term (n x q) as a sparse matrix; S nonzeros per row."""
    n, size = zw.shape
    cols = (term.codes[:, None] * size + np.arange(size)).ravel()
    rows = np.repeat(np.arange(n), size)
    return sp.csr_matrix((zw.ravel(), (rows, cols)), shape=(n, term.q))


def _z_times(term: TermData, zw: np.ndarray, xy: np.ndarray,
             compiled: bool = False) -> np.ndarray:
    """Z' [X y] of one term (q x m): by bincounts over the rows when the term has few
    columns times [X y]'s (a sparse product's set-up costs more on small data)."""
    size, m = zw.shape[1], xy.shape[1]
    if size * m > MAX_BINCOUNTS:
        return _sparse_z(term, zw).T @ xy
    return products.level_products(term.codes, zw, xy, term.n_levels, compiled)


def _z_cross(t: TermData, w: np.ndarray, u: TermData, v: np.ndarray,
             compiled: bool = False) -> np.ndarray:
    """Z_t' Z_u as a dense block (q_t x q_u), by bincounts of the level pairs."""
    st, su = w.shape[1], v.shape[1]
    if st * su > MAX_BINCOUNTS:
        return (_sparse_z(t, w).T @ _sparse_z(u, v)).toarray()
    return products.pair_products(t.codes, w, t.n_levels, u.codes, v, u.n_levels,
                                  compiled)


class CrossProductAccumulator:
    """Sums the cross-product blocks over chunks of rows.

    Parameters
    ----------
    terms
        Every random-effects term; only its covariance, size and n_levels are read
        here, and the codes and z of each chunk are passed to :meth:`add`.
    n_fixed
        Number of columns of X.
    compiled
        Sum the rows' products by the compiled kernels (:mod:`.products`; the same sums),
        for callers whose process has loaded them.
    """

    def __init__(self, terms: list[TermData], n_fixed: int, compiled: bool = False):
        self.terms = terms
        self.compiled = compiled
        self.order = factorization_order(terms)
        self.p = n_fixed
        lead = terms[self.order[0]]
        sizes = [terms[i].q for i in self.order[1:]]
        self.rest_offsets = list(itertools.accumulate([0] + sizes))[:-1]
        self.q_rest = sum(terms[i].q for i in self.order[1:])
        m = self.q_rest + n_fixed + 1
        _check_memory(terms, self.order, m)
        self.a11 = np.zeros((lead.n_levels, lead.size, lead.size))
        self.ax1 = np.zeros((n_fixed + 1, lead.q))
        self.avv = np.zeros((m, m))
        self.pair_keys: list[np.ndarray] = []
        self.pair_vals: list[np.ndarray] = []
        # compiled: the lead-rest block summed in place when it will be stored dense
        self.lead_rest: tuple[np.ndarray, np.ndarray] | None = None
        if compiled and self.q_rest and self.q_rest * lead.q <= _DENSE_ENTRIES:
            self.lead_rest = (np.zeros((self.q_rest, lead.q)),
                              np.zeros((self.q_rest, lead.n_levels), dtype=bool))
        self.n_obs = 0
        self.sum_log_weights = 0.0

    def add(self, codes: list[np.ndarray], z: list[np.ndarray], x: np.ndarray,
            y: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add the contribution of one chunk of rows.

        ``codes`` and ``z`` hold one array per term, in the order given at construction.
        ``y`` has the offset already subtracted.
        """
        n = len(y)
        self.n_obs += n
        xy = np.column_stack([x, y])
        chunk_terms = [TermData(c, zz, t.n_levels, t.covariance)
                       for c, zz, t in zip(codes, z, self.terms)]
        zw = [t.z for t in chunk_terms]
        if weights is not None:
            self.sum_log_weights += float(np.sum(np.log(weights)))
            sw = np.sqrt(weights)[:, None]
            xy *= sw
            zw = [zz * sw for zz in zw]
        lead_i = self.order[0]
        lead, zl = chunk_terms[lead_i], zw[lead_i]
        self.a11 += products.level_gram(lead.codes, zl, lead.n_levels, self.compiled)
        self.ax1 += _z_times(lead, zl, xy, self.compiled).T
        self._add_rest(chunk_terms, zw, xy, lead, zl)

    def _add_rest(self, chunk_terms, zw, xy, lead, zl) -> None:
        qr = self.q_rest
        rest = [(chunk_terms[i], zw[i], off) for i, off in zip(self.order[1:], self.rest_offsets)]
        self.avv[qr:, qr:] += xy.T @ xy
        if self.lead_rest is not None and all(
                t.size * max(xy.shape[1], max(u.size for u, _, _ in rest)) <= MAX_BINCOUNTS
                for t, _, _ in rest):  # what the bincounts would add, in one pass
            block = products.rest_products(
                [t.codes for t, _, _ in rest], [w for _, w, _ in rest],
                [t.n_levels for t, _, _ in rest], [off for _, _, off in rest], xy, qr,
                lead.codes, zl, *self.lead_rest)
            self.avv[:qr, :qr] += block[:, :qr]
            self.avv[:qr, qr:] += block[:, qr:]
            self.avv[qr:, :qr] += block[:, qr:].T
            return
        for t, w, off in rest:
            block = _z_times(t, w, xy, self.compiled).T
            self.avv[qr:, off:off + t.q] += block
            self.avv[off:off + t.q, qr:] += block.T
            for u, v, off2 in rest:
                self.avv[off:off + t.q, off2:off2 + u.q] += _z_cross(t, w, u, v,
                                                                     self.compiled)
        for t, w, off in rest:
            if self.lead_rest is not None:
                products.add_lead_rest(t.codes, w, off, lead.codes, zl, *self.lead_rest)
                continue
            for s in range(t.size):
                rows = off + t.codes * t.size + s
                self.pair_keys.append(rows.astype(np.int64) * lead.n_levels + lead.codes)
                self.pair_vals.append(w[:, s:s + 1] * zl)

    def merge(self, other: CrossProductAccumulator) -> CrossProductAccumulator:
        """Add the sums of ``other`` (the same terms and X columns, other rows) to this
        one and return it: partial accumulators of chunks or workers reduce in a tree."""
        if other.p != self.p or [t.q for t in other.terms] != [t.q for t in self.terms]:
            raise ValueError("cannot merge accumulators of different designs")
        if self.lead_rest is not None or other.lead_rest is not None:
            raise ValueError("compiled accumulators sum one data set; they do not merge")
        self.a11 += other.a11
        self.ax1 += other.ax1
        self.avv += other.avv
        self.pair_keys += other.pair_keys
        self.pair_vals += other.pair_vals
        self.n_obs += other.n_obs
        self.sum_log_weights += other.sum_log_weights
        self.compact(_COMPACT_ENTRIES)
        return self

    __add__ = merge

    def compact(self, above: int = 0) -> None:
        """Sum the lead-to-rest products of equal (row, level) pairs when more than
        ``above`` are stored, so that an accumulator fed chunk after chunk grows with
        the pairs that occur, not with the rows added."""
        if len(self.pair_keys) <= 1 or sum(len(k) for k in self.pair_keys) <= above:
            return
        keys, inverse = np.unique(np.concatenate(self.pair_keys), return_inverse=True)
        vals = np.concatenate(self.pair_vals)
        summed = np.zeros((len(keys), vals.shape[1]))
        for s in range(vals.shape[1]):
            summed[:, s] = np.bincount(inverse, vals[:, s], len(keys))
        self.pair_keys, self.pair_vals = [keys], [summed]

    def finish(self) -> CrossProducts:
        """The accumulated blocks, with the lead-to-rest block in its final storage."""
        ar1, levels = self._lead_rest_block()
        return CrossProducts(
            order=self.order, terms=self.terms, a11=self.a11, ax1=self.ax1, ar1=ar1,
            avv=self.avv, rest_offsets=self.rest_offsets, n_obs=self.n_obs,
            n_fixed=self.p, sum_log_weights=self.sum_log_weights, ar1_level=levels,
        )

    def _lead_rest_block(self):
        lead = self.terms[self.order[0]]
        size, nlev = lead.size, lead.n_levels
        if self.lead_rest is not None:  # the pairs in key order: row-major (row, level)
            dense, seen = self.lead_rest
            return dense, np.nonzero(seen)[1].astype(np.intp)
        if not self.pair_keys:
            return np.zeros((0, lead.q)), np.zeros(0, dtype=np.intp)
        keys, inverse = np.unique(np.concatenate(self.pair_keys), return_inverse=True)
        vals = np.concatenate(self.pair_vals)
        data = np.zeros((len(keys), size))
        for s in range(size):
            data[:, s] = np.bincount(inverse, vals[:, s], len(keys))
        rows, levels = keys // nlev, (keys % nlev).astype(np.intp)
        if self.q_rest * lead.q <= _DENSE_ENTRIES:
            dense = np.zeros((self.q_rest, lead.q))
            for s in range(size):
                dense[rows, levels * size + s] = data[:, s]
            return dense, levels
        indptr = np.searchsorted(rows, np.arange(self.q_rest + 1))
        indices = (levels[:, None] * size + np.arange(size)).ravel()
        block = sp.csr_matrix((data.ravel(), indices, np.asarray(indptr) * size),
                              shape=(self.q_rest, lead.q))
        if block.shape[0] * block.shape[1] <= _DENSE_ENTRIES or \
                block.nnz >= _DENSE_FRACTION * block.shape[0] * block.shape[1]:
            return block.toarray(), levels
        return block, levels


def _check_memory(terms: list[TermData], order: list[int], m: int) -> None:
    """Refuse (core.memory) a rest block the machine cannot hold: the block itself, the
    Schur complement factored in its place at every evaluation and a product of the
    same size, before anything is allocated."""
    n_bytes = memory.dense_bytes(m, copies=3)
    if memory.fits(n_bytes):
        return
    rest = ", ".join(f"{terms[i].n_levels} levels x {terms[i].size} column(s)"
                     for i in order[1:])
    memory.require(
        n_bytes,
        f"the dense {m} x {m} block of the random effects after the first term ({rest})",
        "Use fewer levels (merge rare levels, or fit a subsample), a nested instead of a "
        "crossed design, or fewer random-effect columns per level; the term with the most "
        "levels is eliminated first without this block. A cap is set by the environment "
        f"variable {memory.ENVIRONMENT_VARIABLE}.")


def with_response(cp: CrossProducts, x: np.ndarray, y: np.ndarray,
                  weights: np.ndarray | None = None) -> CrossProducts:
    """The cross-products of the same Z, X and weights with another response ``y``.

    Only the products involving y (the last row of ``ax1`` and of ``avv``) are
    recomputed, in O(n (S + p)); every other block is shared with ``cp``, not copied.
    ``y`` has the offset already subtracted.
    """
    ax1, avv = cp.ax1.copy(), cp.avv.copy()
    _install_response(cp, ax1, avv, x, y, weights)
    return CrossProducts(
        order=cp.order, terms=cp.terms, a11=cp.a11, ax1=ax1, ar1=cp.ar1, avv=avv,
        rest_offsets=cp.rest_offsets, n_obs=cp.n_obs, n_fixed=cp.n_fixed,
        sum_log_weights=cp.sum_log_weights, ar1_level=cp.ar1_level,
    )


def _install_response(cp: CrossProducts, ax1: np.ndarray, avv: np.ndarray, x: np.ndarray,
                      y: np.ndarray, weights: np.ndarray | None) -> None:
    """Write [Z X y]' W y into the last row of ``ax1`` and the last row/column of ``avv``.

    Every builder goes through here, so a problem with a swapped response is bitwise
    identical to one built from scratch.
    """
    wy = y if weights is None else weights * y
    z_y = [products.level_products(t.codes, t.z, wy[:, None], t.n_levels).ravel()
           for t in cp.terms]
    ax1[-1] = z_y[cp.order[0]]
    last = np.concatenate([z_y[i] for i in cp.order[1:]] + [x.T @ wy, [wy @ y]])
    avv[-1, :] = last
    avv[:, -1] = last


def cross_products(terms: list[TermData], x: np.ndarray, y: np.ndarray,
                   weights: np.ndarray | None = None, chunk_rows: int = 1_000_000,
                   compiled: bool = False) -> CrossProducts:
    """Build every block from in-memory arrays, ``chunk_rows`` rows at a time
    (``compiled``: see :class:`CrossProductAccumulator`)."""
    acc = CrossProductAccumulator(terms, x.shape[1],
                                  compiled and len(y) <= products.MAX_COMPILED_ROWS)
    for start in range(0, max(len(y), 1), chunk_rows):
        rows = slice(start, start + chunk_rows)
        acc.add([t.codes[rows] for t in terms], [t.z[rows] for t in terms], x[rows], y[rows],
                None if weights is None else weights[rows])
    cp = acc.finish()
    _install_response(cp, cp.ax1, cp.avv, x, y, weights)
    return cp
