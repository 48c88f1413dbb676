"""The raw-matrix constructor (the gem's ``LMM.new(x:, y:, zt:) { |theta| ... }``):
checks of the matrices and the general numeric problem they make, with the names the
model reports (:class:`~mixed_models.fitted.structure.RawStructure`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.core.lazy import lazy_module
from mixed_models.core.general import MAX_RANDOM_EFFECTS, GeneralProblem
from mixed_models.errors import DataError, DataTypeError, ModelError
from mixed_models.fitted.structure import RawStructure

sp = lazy_module("scipy.sparse")


@dataclass
class RawArrays:
    """The checked matrices of a raw-matrix model, with the names it reports."""

    x: np.ndarray
    y: np.ndarray
    zt: sp.csr_matrix
    start: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    weights: np.ndarray | None
    offset: np.ndarray | None
    structure: RawStructure


def raw_arrays(x: object, y: object, zt: object, lambdat: object, start_point: object, *,
               x_col_names: Sequence[str] | None = None,
               z_col_names: Sequence[str] | None = None, weights: object = None,
               offset: object = None, lower_bound: object = None,
               upper_bound: object = None) -> RawArrays:
    """Check the matrices, function, start and bounds of a raw-matrix model."""
    xm, x_names = _matrix(x, "x")
    yv = _vector(y, "y", xm.shape[0])
    ztm = _zt(zt, xm.shape[0])
    if not callable(lambdat):
        raise DataTypeError(f"lambdat must be a function theta -> Lambda' (the transpose of "
                            f"the relative covariance factor), got {type(lambdat).__name__}")
    start = _vector(start_point, "start_point", None)
    bounds = [None if b is None else _vector(b, name, len(start))
              for b, name in ((lower_bound, "lower_bound"), (upper_bound, "upper_bound"))]
    _check_start(start, *bounds)
    w = None if weights is None else _vector(weights, "weights", len(yv))
    if w is not None and np.any(w <= 0):
        raise DataError(f"weights must be positive; {int(np.sum(w <= 0))} are <= 0")
    off = _offset(offset, len(yv))
    _check_rank(xm)
    _check_lambdat(lambdat, start, ztm.shape[0])
    names = RawStructure(_names(x_col_names or x_names, "x", xm.shape[1]),
                         _names(z_col_names, "z", ztm.shape[0]), lambdat)
    return RawArrays(xm, yv, ztm, start, bounds[0], bounds[1], w, off, names)


def raw_problem(x: object, y: object, zt: object, lambdat: object, start_point: object, *,
                x_col_names: Sequence[str] | None = None,
                z_col_names: Sequence[str] | None = None, weights: object = None,
                offset: object = None, reml: bool = True, lower_bound: object = None,
                upper_bound: object = None, sigma: float | None = None,
                ) -> tuple[GeneralProblem, RawStructure]:
    """Check the matrices of a raw-matrix LMM and build its numeric problem."""
    check_sigma(sigma)
    a = raw_arrays(x, y, zt, lambdat, start_point, x_col_names=x_col_names,
                   z_col_names=z_col_names, weights=weights, offset=offset,
                   lower_bound=lower_bound, upper_bound=upper_bound)
    problem = GeneralProblem(a.x, a.y, a.zt, lambdat, a.start, a.lower, a.upper, a.weights,
                             a.offset, reml=reml, sigma=sigma)
    if not np.isfinite(problem.objective(a.start)):
        raise ModelError(f"the objective is not finite at start_point {a.start.tolist()}: "
                         "Lambda' Z'Z Lambda + I or X' V^-1 X is not positive definite there")
    return problem, a.structure


def _matrix(x: object, what: str) -> tuple[np.ndarray, list[str] | None]:
    names = [str(c) for c in x.columns] if isinstance(x, pd.DataFrame) else None
    xm = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    if xm.ndim != 2 or xm.shape[0] == 0:
        raise DataError(f"{what} must be an n x p matrix, got shape {xm.shape}")
    if not np.all(np.isfinite(xm)):
        raise DataError(f"{what} has {int(np.sum(~np.isfinite(xm)))} missing or infinite "
                        "values; only finite numbers can be fitted")
    return xm, names


def _vector(v: object, what: str, n: int | None) -> np.ndarray:
    arr = np.asarray(v.toarray() if sp.issparse(v) else v, dtype=float)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or (n is not None and len(arr) != n) or len(arr) == 0:
        want = f"({n},)" if n is not None else "(k,) with k >= 1"
        raise DataError(f"{what} must be a vector of shape {want}, got shape {arr.shape}")
    if what not in ("lower_bound", "upper_bound") and not np.all(np.isfinite(arr)):
        raise DataError(f"{what} has missing or infinite values; only finite numbers "
                        "can be used")
    return arr


def _zt(zt: object, n: int) -> sp.csr_matrix:
    ztm = sp.csr_matrix(zt) if sp.issparse(zt) else sp.csr_matrix(np.asarray(zt, dtype=float))
    if ztm.shape[1] != n:
        hint = " (did you pass Z instead of its transpose?)" if ztm.shape[0] == n else ""
        raise DataError(f"zt must be q x n with n = {n} (the rows of x), got shape "
                        f"{ztm.shape}{hint}")
    if ztm.shape[0] > MAX_RANDOM_EFFECTS:
        raise ModelError(f"the model has {ztm.shape[0]} random effects; a raw-matrix model "
                         f"factors a dense matrix of that size per evaluation and is limited "
                         f"to {MAX_RANDOM_EFFECTS}. Use LMM.from_formula for grouped designs.")
    if not np.all(np.isfinite(ztm.data)):
        raise DataError("zt has missing or infinite values; only finite numbers can be fitted")
    return ztm


def _offset(offset: object, n: int) -> np.ndarray | None:
    if offset is None:
        return None
    if np.ndim(offset) == 0:
        value = float(offset)  # type: ignore[arg-type]
        return None if value == 0.0 else np.full(n, value)
    return _vector(offset, "offset", n)


def _check_start(start: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None) -> None:
    lo = np.full(len(start), -np.inf) if lower is None else lower
    hi = np.full(len(start), np.inf) if upper is None else upper
    outside = np.flatnonzero((start < lo) | (start > hi))
    if len(outside):
        i = outside[0]
        raise DataError(f"start_point[{i}] = {start[i]} is outside its bounds "
                        f"[{lo[i]}, {hi[i]}]; the optimizer must start inside them")


def _check_rank(x: np.ndarray) -> None:
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        raise DataError(f"x has {x.shape[1]} columns but rank {rank}: some columns are linear "
                        "combinations of others. Drop them (the formula interface does this "
                        "for you)")


def _check_lambdat(lambdat: Callable, start: np.ndarray, q: int) -> None:
    value = lambdat(start.copy())
    shape = getattr(value, "shape", np.shape(value))
    if len(shape) != 2 or shape[1] != q or shape[0] == 0:
        raise DataError(f"lambdat(start_point) must return a k x q matrix with q = {q} (the "
                        f"rows of zt), usually q x q upper triangular; got shape {shape}")
    if shape[0] > MAX_RANDOM_EFFECTS:
        raise ModelError(f"lambdat returns {shape[0]} rows; the limit is {MAX_RANDOM_EFFECTS}")


def _names(names: Sequence[str] | None, prefix: str, count: int) -> list[str]:
    if names is None:
        return [f"{prefix}{i}" for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count or len(set(names)) != count:
        raise DataError(f"{prefix}_col_names must be {count} distinct names, got {len(names)}"
                        f" ({len(set(names))} distinct)")
    return names


def check_sigma(sigma: float | None) -> None:
    """A known residual SD must be a positive finite number (or None: estimate it)."""
    if sigma is None:
        return
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise DataTypeError(f"sigma must be a number (the known residual SD), got "
                            f"{type(sigma).__name__}") from None
    if not (np.isfinite(value) and value > 0):
        raise DataError(f"sigma must be a positive number (the known residual SD), got {sigma}")
