"""The Cholesky factors of the two one-parameter correlation matrices of lme4 2.x:
compound symmetry (every pair rho) and first-order autoregression (rho^|i - j|)."""

from __future__ import annotations

import numpy as np


def cs_factor(rho: float, size: int) -> np.ndarray:
    """Cholesky factor of the compound-symmetry correlation matrix, by its recurrence.

    Every entry below the diagonal of column j equals c_j, so with t_j = sum of c_k^2
    over k < j: L_jj = sqrt(1 - t_j) and c_j = (rho - t_j) / L_jj. At rho = 1 the
    matrix has rank one and the later columns are exactly zero.
    """
    out = np.zeros((size, size))
    if not -1.0 / (size - 1) - 1e-12 <= rho <= 1.0:
        return np.full((size, size), np.nan)
    t = 0.0
    for j in range(size):
        d = max(1.0 - t, 0.0)
        out[j, j] = np.sqrt(d)
        c = (rho - t) / out[j, j] if d > 1e-300 else 0.0
        out[j + 1:, j] = c
        t += c * c
    return out


def ar1_factor(rho: float, size: int) -> np.ndarray:
    """Cholesky factor of R_ij = rho^|i-j|: column 0 is rho^i, column j >= 1 is
    rho^(i-j) sqrt(1 - rho^2) below the diagonal."""
    if not -1.0 <= rho <= 1.0:
        return np.full((size, size), np.nan)
    i, j = np.indices((size, size))
    powers = np.where(i >= j, np.power(rho, np.maximum(i - j, 0)), 0.0)
    powers[:, 1:] *= np.sqrt(1.0 - rho * rho)
    return powers
