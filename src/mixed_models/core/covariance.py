"""Maps between the covariance parameters theta and a term's relative covariance factor.

For a random-effects term with S columns, the random effects of one level have
covariance sigma^2 * lam @ lam.T, where lam is an S x S lower-triangular matrix. Its
free entries are the term's slice of theta, taken column by column over the lower
triangle (lme4's and MixedModels.jl's order). A diagonal ("uncorrelated") term keeps
only the diagonal; an amalgamated term (several bars on one grouping factor) keeps the
union of its parts' patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class CovarianceStructure:
    """A pattern of free entries in a lower-triangular S x S factor.

    Attributes
    ----------
    size
        S, the number of random-effect columns of the term.
    rows, cols
        Position in lambda of each theta entry (column-major over the lower triangle).
    """

    size: int
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def unstructured(cls, size: int) -> CovarianceStructure:
        """All variances and correlations free (lme4's ``(x | g)``)."""
        pairs = [(r, c) for c in range(size) for r in range(c, size)]
        return cls._from_pairs(size, pairs)

    @classmethod
    def diagonal(cls, size: int) -> CovarianceStructure:
        """Independent random effects (lme4's ``(x || g)``)."""
        return cls._from_pairs(size, [(i, i) for i in range(size)])

    @classmethod
    def block_diagonal(cls, parts: list[CovarianceStructure]) -> CovarianceStructure:
        """Several structures side by side, as when bars on one factor are amalgamated."""
        pairs = []
        start = 0
        for part in parts:
            pairs += [(start + r, start + c) for r, c in zip(part.rows, part.cols)]
            start += part.size
        pairs.sort(key=lambda rc: (rc[1], rc[0]))
        return cls._from_pairs(start, pairs)

    @classmethod
    def _from_pairs(cls, size: int, pairs: list[tuple[int, int]]) -> CovarianceStructure:
        rows = np.array([r for r, _ in pairs], dtype=np.intp)
        cols = np.array([c for _, c in pairs], dtype=np.intp)
        return cls(size, rows, cols)

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""
        return len(self.rows)

    @property
    def is_diagonal(self) -> bool:
        """True when lambda has no off-diagonal parameter."""
        return bool(np.all(self.rows == self.cols))

    def lower_bounds(self) -> np.ndarray:
        """0 for the diagonal entries, -inf for the others (lme4's bounds)."""
        return np.where(self.rows == self.cols, 0.0, -np.inf)

    def initial(self) -> np.ndarray:
        """lme4's start: 1 on the diagonal, 0 elsewhere."""
        return np.where(self.rows == self.cols, 1.0, 0.0)

    def fill(self, theta: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write theta into the S x S matrix ``out`` (other entries are left at zero)."""
        out[self.rows, self.cols] = theta
        return out

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """The factor lambda for this slice of theta."""
        return self.fill(theta, np.zeros((self.size, self.size)))

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """Flip the sign of every column of lambda whose diagonal entry is negative.

        lambda @ lambda.T, and so the model, is unchanged; the result is the unique
        representative with a non-negative diagonal.
        """
        lam = self.lam(theta)
        signs = np.where(np.diag(lam) < 0, -1.0, 1.0)
        return (lam * signs)[self.rows, self.cols]

    def diagonal_mask(self) -> np.ndarray:
        """Boolean mask of the theta entries that sit on lambda's diagonal."""
        return self.rows == self.cols
