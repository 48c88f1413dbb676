"""Cross-products of a term's columns by level: Z_l' Z_l, Z' M and Z_t' Z_u, summed row
by row with numpy's ``bincount`` (one call per pair of columns), or, with ``compiled``,
in one compiled pass (:mod:`mixed_models.core.numba_products`, the same sums to the bit).
Callers pass ``compiled`` only when the process uses the compiled small-model kernels
(:func:`mixed_models.core.kernels.block_wanted`: loaded from numba's disk cache).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

# Rows up to which one compiled pass replaces the bincounts (beyond, each bincount's
# pass over the rows costs far more than the call, and a large fit need not load the
# small-model kernels: tens of MB).
MAX_COMPILED_ROWS = 10_000


def _kernels(compiled: bool, n_rows: int) -> ModuleType | None:
    """The compiled module when asked for and the rows are few enough, else None."""
    if not compiled or n_rows > MAX_COMPILED_ROWS:
        return None
    from mixed_models.core import numba_products  # loads numba: only when in use
    return numba_products


def _c(values: np.ndarray, dtype: type) -> np.ndarray:
    """C-ordered, of the kernels' dtype: the types numba's disk cache holds them for
    (any other layout would be compiled anew, in the fit)."""
    return np.ascontiguousarray(values, dtype=dtype)


def level_gram(codes: np.ndarray, z: np.ndarray, n_levels: int,
               compiled: bool = False) -> np.ndarray:
    """Z_l' Z_l for each level l (levels, S, S)."""
    fast = _kernels(compiled, len(codes))
    if fast is not None:
        return fast.level_gram(_c(codes, np.intp), _c(z, float), int(n_levels))
    size = z.shape[1]
    out = np.zeros((n_levels, size, size))
    for s in range(size):
        for t in range(s + 1):  # the blocks are symmetric: each pair once
            sums = np.bincount(codes, z[:, s] * z[:, t], n_levels)
            out[:, s, t] += sums
            if t != s:
                out[:, t, s] += sums
    return out


def level_products(codes: np.ndarray, z: np.ndarray, xy: np.ndarray, n_levels: int,
                   compiled: bool = False) -> np.ndarray:
    """Z' M (levels * S, m): row l * S + s is level l's column s of z against M's."""
    fast = _kernels(compiled, len(codes))
    if fast is not None:
        return fast.level_products(_c(codes, np.intp), _c(z, float), _c(xy, float),
                                   int(n_levels))
    size, m = z.shape[1], xy.shape[1]
    out = np.empty((n_levels * size, m))
    for s in range(size):
        for j in range(m):
            out[s::size, j] = np.bincount(codes, z[:, s] * xy[:, j], n_levels)
    return out


def pair_products(t_codes: np.ndarray, w: np.ndarray, t_levels: int,
                  u_codes: np.ndarray, v: np.ndarray, u_levels: int,
                  compiled: bool = False) -> np.ndarray:
    """Z_t' Z_u (t_levels * S_t, u_levels * S_u) by the rows' pairs of levels."""
    fast = _kernels(compiled, len(t_codes))
    if fast is not None:
        return fast.pair_products(_c(t_codes, np.intp), _c(w, float), int(t_levels),
                                  _c(u_codes, np.intp), _c(v, float), int(u_levels))
    st, su = w.shape[1], v.shape[1]
    out = np.empty((t_levels * st, u_levels * su))
    pair = t_codes.astype(np.int64) * u_levels + u_codes
    cells = t_levels * u_levels
    for a in range(st):
        for b in range(su):
            table = np.bincount(pair, w[:, a] * v[:, b], cells)
            out[a::st, b::su] = table.reshape(t_levels, u_levels)
    return out


def add_lead_rest(r_codes: np.ndarray, w: np.ndarray, offset: int, lead_codes: np.ndarray,
                  zl: np.ndarray, out: np.ndarray, seen: np.ndarray) -> None:
    """Add a rest term's Z_r' Z_lead into rows ``offset`` on of the dense lead-rest block
    ``out`` and mark the (row, lead level) pairs that occur in ``seen``, compiled (the
    sums of the pairs' bincount, to the bit). Only for processes using the kernels."""
    fast = _kernels(True, 0)
    assert fast is not None
    fast.lead_rest(_c(r_codes, np.intp), _c(w, float), int(offset), _c(lead_codes, np.intp),
                   _c(zl, float), out, seen)


def rest_products(codes: list[np.ndarray], z: list[np.ndarray], levels: list[int],
                  offsets: list[int], xy: np.ndarray, q_rest: int, lead_codes: np.ndarray,
                  zl: np.ndarray, lead_rest: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The rest terms' products in one compiled pass (the sums of the per-block
    bincounts, to the bit): [Z_r' Z_u | Z_r' M] over the rest block's rows, and
    Z_r' Z_lead added into the dense ``lead_rest`` (pairs that occur marked in
    ``seen``). Only for processes using the kernels."""
    fast = _kernels(True, 0)
    assert fast is not None
    sizes = np.array([zz.shape[1] for zz in z], dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    return fast.rest_products(
        _c(np.column_stack(codes), np.intp), _c(np.hstack(z), float), sizes,
        np.asarray(levels, dtype=np.intp), np.asarray(offsets, dtype=np.intp), starts,
        _c(xy, float), int(q_rest), _c(lead_codes, np.intp), _c(zl, float), lead_rest, seen)
