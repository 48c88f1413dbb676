"""The least-squares shift of the response that a linear mixed model's cross-products
are built from (see :func:`least_squares_residual`)."""

from __future__ import annotations

import numpy as np

from mixed_models.core.lazy import lazy_module

lapack = lazy_module("scipy.linalg.lapack")

# Below this ratio of R's smallest to largest diagonal entry the least-squares shift of
# y is found by the SVD.
_CLEAR_PIVOT = 1e-8


def least_squares_residual(x: np.ndarray, y: np.ndarray,
                           weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(beta0, y - X beta0) with beta0 the (weighted) least-squares fit of y on X.

    The cross-products are built from this residual and beta0 is added back to the
    estimates: the model is the same (the shift lies in X's column space), but y'y no
    longer carries the response's mean. Without it a response far from zero (1e3 times
    its spread) loses digits of the residual sum of squares to cancellation, which moves
    theta by 1e-6 relative; with it the fit is invariant to such shifts.
    """
    if x.shape[1] == 0:
        return np.zeros(0), y
    root = None if weights is None else np.sqrt(weights)
    xw, yw = (x, y) if root is None else (x * root[:, None], y * root)
    beta0 = _least_squares(xw, yw)
    return beta0, y - x @ beta0


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares coefficients: LAPACK's QR solver (a quarter of numpy's SVD
    solver on small models) where X's columns are clearly independent, else the SVD's
    minimum-norm solution (huge coefficients of nearly aliased columns would cancel in
    the residual)."""
    n, p = x.shape
    if n >= p:
        factored, solved, info = lapack.dgels(x, y)
        pivots = np.abs(np.diagonal(factored))
        if info == 0 and pivots.min() > _CLEAR_PIVOT * pivots.max() \
                and np.all(np.isfinite(solved[:p])):
            return solved[:p]
    return np.linalg.lstsq(x, y, rcond=None)[0]
