"""The least-squares shift of the response that a linear mixed model's cross-products
are built from (see :func:`least_squares_residual`)."""

from __future__ import annotations

import numpy as np

from mixed_models.core.lazy import lazy_module

lapack = lazy_module("scipy.linalg.lapack")

# Below this ratio of R's smallest to largest diagonal entry the least-squares shift of
# y is found by the SVD.
_CLEAR_PIVOT = 1e-8
# Cholesky pivots of X'X over the squared column norms above this are trusted: the
# columns' condition number is then at most about p / sqrt(GRAM_CLEAR), and the Gram
# matrix's rounding moves such a pivot by eps times its square, far below this.
GRAM_CLEAR = 1e-4
# From this many rows the normal equations replace the QR (below, LAPACK's call costs
# less than numpy's small Gram and solve).
GRAM_ROWS = 10_000


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
    return beta0, (y - x[:, 0] * beta0[0]) if len(beta0) == 1 else y - x @ beta0


def clear_gram(gram: np.ndarray) -> bool:
    """Whether every column of X keeps more than sqrt(:data:`GRAM_CLEAR`) of its norm
    orthogonal to the columns before it, read off the Cholesky pivots of its Gram matrix
    X'X (then the normal equations can be trusted too)."""
    diagonal = np.diagonal(gram)
    if not (np.all(np.isfinite(gram)) and np.all(diagonal > 0.0)):
        return False
    if len(gram) <= 2:  # in closed form: numpy's Cholesky costs microseconds per call
        return len(gram) == 1 or \
            bool(gram[1, 1] - gram[0, 1] ** 2 / gram[0, 0] > GRAM_CLEAR * gram[1, 1])
    try:
        lower = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diagonal(lower) ** 2 > GRAM_CLEAR * diagonal))


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares coefficients: the normal equations where X's columns are
    clearly independent and X is one column or many rows (the shift need not be exact:
    the fit takes up what it leaves, and they cost half a QR's arithmetic), else
    LAPACK's QR solver (a quarter of numpy's SVD solver on small models) where the
    columns are independent, else the SVD's minimum-norm solution (huge coefficients of
    nearly aliased columns would cancel in the residual)."""
    n, p = x.shape
    if p == 1:  # a column's coefficient in closed form
        column = x[:, 0]
        squares = float(column @ column)
        beta = float(column @ y) / squares if squares > 0.0 else np.nan
        if np.isfinite(beta):
            return np.array([beta])
    elif n >= GRAM_ROWS:
        gram = x.T @ x
        if clear_gram(gram):
            beta = np.linalg.solve(gram, x.T @ y)
            if np.all(np.isfinite(beta)):
                return beta
    if n >= p:
        factored, solved, info = lapack.dgels(x, y)
        pivots = np.abs(np.diagonal(factored))
        if info == 0 and pivots.min() > _CLEAR_PIVOT * pivots.max() \
                and np.all(np.isfinite(solved[:p])):
            return solved[:p]
    return np.linalg.lstsq(x, y, rcond=None)[0]
