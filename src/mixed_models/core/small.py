"""The lead term's per-level factorization in closed form, for terms of 2 to 4 columns.

For each level l of the lead term, Omega_l = lam' A_l lam + I is an S x S matrix. The
general path forms the Omega_l by batched products and factors them with
``np.linalg.cholesky`` and ``np.linalg.solve``, whose per-call overhead dominates an
evaluation of a small model (sleepstudy's 18 levels x 2 columns). Here the same
quantities come from a few whole-array operations over the levels:

- all the Omega_l at once as one matrix product, vec(lam' A lam) = (lam kron lam)' vec(A);
- the Cholesky factor of every level entry by entry (S(S+1)/2 array operations);
- C_l = lam L_l^{-T} by forward substitution, again entry by entry.

The arithmetic is the textbook Cholesky and substitution: results agree with the
general path to rounding (a test compares objectives to 1e-12 relative).

Stable: the functions' results. Unstable: the size limit.
"""

from __future__ import annotations

import numpy as np

#: Largest number of columns per level factored here (beyond it the loops over entries
#: cost more than LAPACK's batched calls).
MAX_SIZE = 4


def kron_lambda(lam: np.ndarray) -> np.ndarray:
    """K with vec(lam' A lam) = vec(A) @ K for row-major vec of S x S matrices."""
    s = lam.shape[0]
    return (lam[:, None, :, None] * lam[None, :, None, :]).reshape(s * s, s * s)


def lead_omega(a11_flat: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Omega_l = lam' A_l lam + I of every level, shape (levels, S, S).

    ``a11_flat`` is the lead block reshaped to (levels, S * S).
    """
    s = lam.shape[0]
    omega = a11_flat @ kron_lambda(lam)
    omega[:, ::s + 1] += 1.0
    return omega.reshape(-1, s, s)


def cholesky_levels(omega: np.ndarray) -> list[list[np.ndarray]] | None:
    """Lower Cholesky factors of every level's block, as ``L[i][j]`` arrays over levels
    (j <= i); None when a block is not positive definite."""
    s = omega.shape[1]
    lower: list[list[np.ndarray]] = [[] for _ in range(s)]
    for j in range(s):
        pivot = omega[:, j, j]
        for k in range(j):
            pivot = pivot - lower[j][k] * lower[j][k]
        if pivot.min() <= 0.0:  # NaN (an undefined lam) goes on to a NaN objective, as
            return None         # it does through LAPACK's path
        diagonal = np.sqrt(pivot)
        lower[j].append(diagonal)
        for i in range(j + 1, s):
            below = omega[:, i, j]
            for k in range(j):
                below = below - lower[i][k] * lower[j][k]
            lower[i].append(below / diagonal)
    return lower


def log_determinant(lower: list[list[np.ndarray]]) -> float:
    """log |Omega| summed over levels, from the factors' diagonals."""
    product = lower[0][0]
    for i in range(1, len(lower)):
        product = product * lower[i][i]
    return 2.0 * float(np.log(product).sum())


def solve_transposed(b: np.ndarray, lower: list[list[np.ndarray]]) -> np.ndarray:
    """B_l L_l^{-T} for every level, in place: ``b`` has shape (rows, levels, S) and
    each level's S columns are replaced by the solution (forward substitution)."""
    for j in range(b.shape[2]):
        column = b[:, :, j]
        for k in range(j):
            column -= b[:, :, k] * lower[j][k]
        column /= lower[j][j]
    return b


def lambda_times_inverse_transpose(lam: np.ndarray,
                                   lower: list[list[np.ndarray]]) -> np.ndarray:
    """C_l = lam L_l^{-T} of every level, shape (levels, S, S), so that
    C_l C_l' = lam Omega_l^{-1} lam'."""
    s = lam.shape[0]
    rows = np.repeat(lam[:, None, :], len(lower[0][0]), axis=1)  # (S, levels, S)
    return np.ascontiguousarray(solve_transposed(rows, lower).transpose(1, 0, 2))
