"""Compiled row-by-row cross-products of a model's columns by level (numba), imported
only by :mod:`mixed_models.core.kernels` once numba is known to be installed.

Each adds the rows' products into their level's cell in the rows' order, the order in
which numpy's ``bincount`` adds its weights: the sums are numpy's to the bit, so a fit
gives the same numbers whichever of the two built its cross-products. They replace a
few dozen bincount calls, each a pass over the rows, by one pass.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def level_gram(codes, z, n_levels):  # pragma: no cover
    """Z_l' Z_l per level (levels, S, S), symmetric."""
    n, size = z.shape
    out = np.zeros((n_levels, size, size))
    for i in range(n):
        level = codes[i]
        for s in range(size):
            zs = z[i, s]
            for t in range(s + 1):
                out[level, s, t] += zs * z[i, t]
    for level in range(n_levels):
        for s in range(size):
            for t in range(s):
                out[level, t, s] = out[level, s, t]
    return out


@numba.njit(cache=True, nogil=True)
def level_products(codes, z, xy, n_levels):  # pragma: no cover
    """Z' M (levels * S, m) for the row-aligned columns M (row l * S + s: level l,
    column s of z)."""
    n, size = z.shape
    m = xy.shape[1]
    out = np.zeros((n_levels * size, m))
    for i in range(n):
        base = codes[i] * size
        for s in range(size):
            zs = z[i, s]
            for j in range(m):
                out[base + s, j] += zs * xy[i, j]
    return out


@numba.njit(cache=True, nogil=True)
def pair_products(t_codes, w, t_levels, u_codes, v, u_levels):  # pragma: no cover
    """Z_t' Z_u (t_levels * S_t, u_levels * S_u) of two terms' columns."""
    n, st = w.shape
    su = v.shape[1]
    out = np.zeros((t_levels * st, u_levels * su))
    for i in range(n):
        row, col = t_codes[i] * st, u_codes[i] * su
        for a in range(st):
            wa = w[i, a]
            for b in range(su):
                out[row + a, col + b] += wa * v[i, b]
    return out


@numba.njit(cache=True, nogil=True)
def lead_rest(r_codes, w, offset, lead_codes, zl, out, seen):  # pragma: no cover
    """Add one rest term's Z_r' Z_lead into the dense block ``out`` (q_rest, q_lead), its
    rows from ``offset``, and mark the (row, lead level) pairs that occur in ``seen``."""
    n, sr = w.shape
    size = zl.shape[1]
    for i in range(n):
        level = lead_codes[i]
        base = level * size
        for s in range(sr):
            row = offset + r_codes[i] * sr + s
            seen[row, level] = True
            ws = w[i, s]
            for t in range(size):
                out[row, base + t] += ws * zl[i, t]


@numba.njit(cache=True, nogil=True)
def rest_products(codes, z, sizes, levels, offsets, starts, xy, q_rest, lead_codes, zl,
                  lead_rest, seen):  # pragma: no cover
    """Every product of the rest terms' columns in one pass: [Z_r' Z_u | Z_r' M] for all
    pairs of rest terms (q_rest, q_rest + m), and Z_r' Z_lead added into ``lead_rest``
    with the (row, lead level) pairs marked in ``seen``. Term k's codes are column k of
    ``codes``, its columns those of ``z`` from ``starts[k]``, its rows from
    ``offsets[k]``."""
    n, m = xy.shape[0], xy.shape[1]
    n_terms = sizes.shape[0]
    size = zl.shape[1]
    out = np.zeros((q_rest, q_rest + m))
    for i in range(n):
        lead_level = lead_codes[i]
        for k in range(n_terms):
            sk, zk = sizes[k], starts[k]
            row0 = offsets[k] + codes[i, k] * sk
            for a in range(sk):
                za = z[i, zk + a]
                row = row0 + a
                for u in range(n_terms):
                    su, zu = sizes[u], starts[u]
                    col0 = offsets[u] + codes[i, u] * su
                    for b in range(su):
                        out[row, col0 + b] += za * z[i, zu + b]
                for j in range(m):
                    out[row, q_rest + j] += za * xy[i, j]
                seen[row, lead_level] = True
                for t in range(size):
                    lead_rest[row, lead_level * size + t] += za * zl[i, t]
    return out
