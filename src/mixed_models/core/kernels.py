"""Compiled kernel for the one step numpy/scipy cannot do fast: a sparse rank update.

Eliminating the lead term subtracts G G' from the rest block, where G = A_r1 C is sparse
(one column per lead random effect). scipy forms G G' as a sparse matrix and then
densifies it, and a dense BLAS product (syrk) wastes work on the zeros; on large crossed
designs both dominate an evaluation (docs/performance.md). The kernel below writes the
product straight into the lower triangle of the dense block, row by row (each row's
partial sums stay in cache), in parallel over rows.

numba is optional (the ``fast`` extra): without it :func:`available` is False and the
factor uses scipy's product. The kernel is compiled on first use and cached on disk.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

# Below this many multiply-adds scipy's product is as fast and numba need not be imported.
MIN_WORK = 2_000_000


@cache
def available() -> bool:
    """True when numba imports and compiles the kernel (else scipy's product is used)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    try:  # compile (or load from the disk cache) now, on a 1 x 1 problem
        one, idx = np.ones(1), np.array([0, 1], dtype=np.int32)
        _compiled()(np.zeros((1, 1)), np.ones((1, 1)), one, idx, idx[:1], one, idx,
                    idx[:1], one)
    except Exception as error:  # a numba that cannot build here: fall back, and say so
        warnings.warn(f"the compiled rank update is unavailable ({error}); using scipy's "
                      "sparse product, which is slower on large crossed designs",
                      RuntimeWarning, stacklevel=2)
        return False
    return True


@cache
def _compiled():
    import numba

    @numba.njit(cache=True, nogil=True)
    def downdate_row(i, out, base, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
        acc = np.zeros(i + 1)
        for a in range(rp[i], rp[i + 1]):
            j = rj[a]
            g = rv[a]
            for b in range(cp[j], cp[j + 1]):
                k = ci[b]
                if k > i:
                    break
                acc[k] += g * cv[b]
        si = scale[i]
        for k in range(i + 1):
            out[i, k] = si * scale[k] * (base[i, k] - acc[k])
        out[i, i] += 1.0

    @numba.njit(parallel=True, cache=True, nogil=True)
    def downdate_lower(out, base, scale, rp, rj, rv, cp, ci, cv):  # pragma: no cover
        # out[i, k] = scale_i scale_k (base[i, k] - sum_j G[i, j] G[k, j]) + (i == k)
        # for k <= i; G given both as CSR (rp, rj, rv) and CSC (cp, ci, cv), with
        # row indices sorted within each column. Row i costs about i / m of the last
        # row, so rows are dealt in pairs (t, m - 1 - t) to balance the threads.
        m = scale.shape[0]  # the rows of G; rows of out beyond them are not touched
        for t in numba.prange((m + 1) // 2):
            downdate_row(t, out, base, scale, rp, rj, rv, cp, ci, cv)
            if m - 1 - t != t:
                downdate_row(m - 1 - t, out, base, scale, rp, rj, rv, cp, ci, cv)

    return downdate_lower


def downdate_lower(out: np.ndarray, base: np.ndarray, scale: np.ndarray, g_csr, g_csc) -> None:
    """Write s_i s_k (base - G G')[i, k] + delta_ik into the lower triangle of ``out``.

    Only the first ``len(scale)`` rows (the rows of G) are written.
    ``out`` and ``base`` are C-ordered square arrays (they may be the same array); the
    strict upper triangle of ``out`` is left untouched. ``g_csr`` and ``g_csc`` are the
    same sparse matrix G in both layouts, with sorted indices.
    """
    _compiled()(out, base, scale, g_csr.indptr, g_csr.indices, g_csr.data,
                g_csc.indptr, g_csc.indices, g_csc.data)
