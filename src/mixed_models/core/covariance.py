"""Covariance structures of a random-effects term: theta <-> relative covariance factor.

For a random-effects term with S columns, the random effects of one level have
covariance sigma^2 * lam @ lam.T, where lam is an S x S lower-triangular matrix built
from the term's slice of theta. The numeric core only calls the interface of
:class:`CovarianceStructure` (``lam``, ``n_theta``, bounds, ``initial``, ``rectify``,
``diagonal_mask``); the structures differ in what theta means:

* :class:`PatternCovariance` -- theta holds free entries of lam itself, column by column
  over the lower triangle (lme4's and MixedModels.jl's order): ``us`` (all entries, lme4's
  ``(x | g)``) and ``diag`` (the diagonal only, ``(x || g)``).
* :class:`ScaledCorrelation` -- theta holds standard deviations relative to sigma and one
  correlation parameter rho (lme4 2.x's ``par``): ``cs`` (compound symmetry), ``ar1``
  (first-order autoregressive over the columns' order) and a homogeneous ``diag``.
* :class:`BlockDiagonal` -- several structures side by side, when several bars on one
  grouping factor are amalgamated into one term.

Unstable: the theta order of a ScaledCorrelation (SDs first, rho last) follows lme4 2.x
and may change with it.
"""

from __future__ import annotations

import functools

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from mixed_models.core.lazy import lazy_module

linalg = lazy_module("scipy.linalg")

from mixed_models.core.correlation import ar1_factor, cs_factor

STRUCTURES = ("us", "diag", "cs", "ar1")


class CovarianceStructure(ABC):
    """The map from a term's theta to its relative covariance factor lam (S x S).

    Subclasses define the parametrization; the constructors below are the way to make
    one (``CovarianceStructure.unstructured(3)``, ``.compound_symmetry(4)``...).
    """

    size: int
    kind: str

    # --- constructors ----------------------------------------------------------------

    @staticmethod
    @functools.cache
    def unstructured(size: int) -> PatternCovariance:
        """All variances and correlations free (lme4's ``(x | g)``, ``us()``). One
        instance per size, shared by every fit: nothing changes a structure (its position
        arrays stay writeable: numba compiles read-only arrays as another type)."""
        pairs = [(r, c) for c in range(size) for r in range(c, size)]
        return PatternCovariance.from_pairs(size, pairs)

    @staticmethod
    @functools.cache
    def diagonal(size: int) -> PatternCovariance:
        """Independent random effects (lme4's ``(x || g)``, ``diag()``); one instance
        per size."""
        return PatternCovariance.from_pairs(size, [(i, i) for i in range(size)])

    @staticmethod
    def compound_symmetry(size: int, homogeneous: bool = False) -> ScaledCorrelation:
        """One correlation rho between every pair of columns (lme4 2.x's ``cs()``)."""
        return ScaledCorrelation("cs", size, homogeneous)

    @staticmethod
    def autoregressive(size: int, homogeneous: bool = True) -> ScaledCorrelation:
        """Correlation rho^|i - j| between columns i and j (lme4 2.x's ``ar1()``)."""
        return ScaledCorrelation("ar1", size, homogeneous)

    @staticmethod
    def named(kind: str, size: int, homogeneous: bool | None = None) -> CovarianceStructure:
        """The structure of a formula wrapper: ``"us"``, ``"diag"``, ``"cs"`` or ``"ar1"``.

        ``homogeneous=None`` takes lme4 2.x's default: one SD per column, except for
        ``ar1`` (one SD for all columns).
        """
        if kind not in STRUCTURES:
            raise ValueError(f"unknown covariance structure {kind!r}; use one of {STRUCTURES}")
        if kind == "us":
            if homogeneous:
                raise ValueError("us() has no homogeneous variant; use cs(..., hom = TRUE)")
            return CovarianceStructure.unstructured(size)
        if kind == "diag" and not homogeneous:
            return CovarianceStructure.diagonal(size)
        default = kind == "ar1"
        return ScaledCorrelation(kind, size, default if homogeneous is None else homogeneous)

    @staticmethod
    def block_diagonal(parts: list[CovarianceStructure]) -> CovarianceStructure:
        """Several structures side by side; theta is the parts' thetas in order."""
        if len(parts) == 1:
            return parts[0]
        if all(isinstance(p, PatternCovariance) for p in parts):
            return PatternCovariance.stacked(parts)  # type: ignore[arg-type]
        return BlockDiagonal(tuple(parts))

    # --- interface -------------------------------------------------------------------

    @property
    @abstractmethod
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""

    @abstractmethod
    def lam(self, theta: np.ndarray) -> np.ndarray:
        """The S x S lower-triangular factor for this slice of theta (NaN where undefined)."""

    @abstractmethod
    def lower_bounds(self) -> np.ndarray:
        """Lower bound of each theta entry."""

    @abstractmethod
    def initial(self) -> np.ndarray:
        """Starting theta: unit relative SDs, no correlation."""

    @abstractmethod
    def diagonal_mask(self) -> np.ndarray:
        """Entries that scale a standard deviation (bounded below by 0, snapped to 0)."""

    @abstractmethod
    def linked(self) -> np.ndarray:
        """S x S booleans: which pairs of columns the structure lets covary."""

    def upper_bounds(self) -> np.ndarray:
        """Upper bound of each theta entry (+inf unless the entry is a correlation)."""
        return np.full(self.n_theta, np.inf)

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """The representative of theta with non-negative SD parameters (same lam lam')."""
        return np.asarray(theta, dtype=float)

    @property
    def is_diagonal(self) -> bool:
        """True when the random effects of one level are independent."""
        return not np.any(self.linked() & ~np.eye(self.size, dtype=bool))

    def is_singular(self, theta: np.ndarray, tol: float,
                    scale: np.ndarray | None = None) -> bool:
        """True when lam has a diagonal entry below ``tol``: a zero variance, or a
        correlation at +-1 (or at another boundary of its range). With ``scale`` (one
        value per column), each diagonal entry is multiplied by its column's first."""
        diag = np.abs(np.diag(self.lam(theta)))
        return bool(np.any((diag if scale is None else diag * scale) < tol))

    def has_bounded_parameters(self) -> bool:
        """True when some entry has a bound other than lme4's 0 below an SD."""
        lower, upper = self.lower_bounds(), self.upper_bounds()
        plain = np.where(self.diagonal_mask(), 0.0, -np.inf)
        return bool(np.any(lower != plain) or np.any(np.isfinite(upper)))


@dataclass(frozen=True, eq=False)
class PatternCovariance(CovarianceStructure):
    """Free entries of a lower-triangular factor: theta are lam's entries themselves.

    Attributes
    ----------
    size
        S, the number of random-effect columns of the term.
    rows, cols
        Position in lam of each theta entry (column-major over the lower triangle).
    """

    size: int
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def from_pairs(cls, size: int, pairs: list[tuple[int, int]]) -> PatternCovariance:
        """The pattern whose theta entries sit at the (row, col) positions given."""
        rows = np.array([r for r, _ in pairs], dtype=np.intp)
        cols = np.array([c for _, c in pairs], dtype=np.intp)
        return cls(size, rows, cols)

    @classmethod
    def stacked(cls, parts: list[PatternCovariance]) -> PatternCovariance:
        """The union of the parts' patterns on consecutive columns, column-major."""
        pairs = []
        start = 0
        for part in parts:
            pairs += [(start + r, start + c) for r, c in zip(part.rows, part.cols)]
            start += part.size
        pairs.sort(key=lambda rc: (rc[1], rc[0]))
        return cls.from_pairs(start, pairs)

    @property
    def kind(self) -> str:  # type: ignore[override]
        """``"diag"`` when only diagonal entries are free, ``"us"`` otherwise."""
        return "diag" if np.all(self.rows == self.cols) else "us"

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""
        return len(self.rows)

    @property
    def is_diagonal(self) -> bool:
        """True when lam has no off-diagonal parameter."""
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
        """The factor lam for this slice of theta."""
        return self.fill(theta, np.zeros((self.size, self.size)))

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """Flip the sign of every column of lam whose diagonal entry is negative.

        lam @ lam.T, and so the model, is unchanged; the result is the unique
        representative with a non-negative diagonal.
        """
        lam = self.lam(theta)
        signs = np.where(np.diag(lam) < 0, -1.0, 1.0)
        return (lam * signs)[self.rows, self.cols]

    def diagonal_mask(self) -> np.ndarray:
        """Boolean mask of the theta entries that sit on lam's diagonal."""
        return self.rows == self.cols

    def linked(self) -> np.ndarray:
        """Pairs of columns with a covariance parameter (lam lam' structurally nonzero)."""
        pattern = np.zeros((self.size, self.size))
        pattern[self.rows, self.cols] = 1.0
        return (pattern @ pattern.T) > 0


@dataclass(frozen=True, eq=False)
class ScaledCorrelation(CovarianceStructure):
    """lam = diag(s) chol(R(rho)): relative SDs s and a correlation matrix R (lme4 2.x).

    theta is ``(s_1, ..., s_S, rho)`` (``(s, rho)`` when homogeneous), where s_i is the
    SD of column i relative to sigma. ``rho`` is absent for ``diag`` and for one column.

    Attributes
    ----------
    kind
        ``"cs"``: R_ij = rho for i != j, rho in [-1/(S-1), 1]; ``"ar1"``: R_ij =
        rho^|i-j| over the columns' order, rho in [-1, 1]; ``"diag"``: R = I.
    size
        S, the number of columns.
    homogeneous
        One SD for all columns instead of one per column.
    """

    kind: str
    size: int
    homogeneous: bool = False

    @property
    def n_sd(self) -> int:
        """Number of SD parameters."""
        return 1 if self.homogeneous else self.size

    @property
    def n_rho(self) -> int:
        """Number of correlation parameters (0 or 1)."""
        return int(self.kind != "diag" and self.size > 1)

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""
        return self.n_sd + self.n_rho

    def sds(self, theta: np.ndarray) -> np.ndarray:
        """Relative SDs (one per column) of this slice of theta."""
        return np.broadcast_to(np.asarray(theta[:self.n_sd], dtype=float), (self.size,))

    def rho(self, theta: np.ndarray) -> float | None:
        """The correlation parameter, or None when the structure has none."""
        return float(theta[-1]) if self.n_rho else None

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """diag(s) times the Cholesky factor of R(rho) (NaN when rho is out of range)."""
        unit = np.eye(self.size) if not self.n_rho else \
            (cs_factor if self.kind == "cs" else ar1_factor)(self.rho(theta), self.size)
        return self.sds(theta)[:, None] * unit

    def lower_bounds(self) -> np.ndarray:
        """0 for the SDs; -1/(S-1) (cs) or -1 (ar1) for rho."""
        if not self.n_rho:
            return np.zeros(self.n_sd)
        rho = -1.0 / (self.size - 1) if self.kind == "cs" else -1.0
        return np.concatenate([np.zeros(self.n_sd), [rho]])

    def upper_bounds(self) -> np.ndarray:
        """+inf for the SDs, 1 for rho."""
        return np.concatenate([np.full(self.n_sd, np.inf), np.ones(self.n_rho)])

    def initial(self) -> np.ndarray:
        """Unit relative SDs, rho = 0 (lme4 2.x's start)."""
        return np.concatenate([np.ones(self.n_sd), np.zeros(self.n_rho)])

    def diagonal_mask(self) -> np.ndarray:
        """The SD entries."""
        return np.arange(self.n_theta) < self.n_sd

    @property
    def cols(self) -> np.ndarray:
        """Column of lam each theta entry scales (as PatternCovariance.cols for its
        diagonal entries): column i for the i-th SD, column 0 for a homogeneous SD and
        for rho."""
        return np.concatenate([np.arange(self.n_sd), np.zeros(self.n_rho, dtype=np.intp)])

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """Negative SDs made positive where that leaves the covariance unchanged."""
        theta = np.array(theta, dtype=float)
        if self.homogeneous or not self.n_rho:
            theta[:self.n_sd] = np.abs(theta[:self.n_sd])
        return theta

    def linked(self) -> np.ndarray:
        """All pairs for cs and ar1, none for diag."""
        return np.ones((self.size, self.size), dtype=bool) if self.n_rho \
            else np.eye(self.size, dtype=bool)


@dataclass(frozen=True, eq=False)
class BlockDiagonal(CovarianceStructure):
    """Structures on consecutive columns; theta is the parts' thetas in order."""

    parts: tuple[CovarianceStructure, ...]

    @property
    def size(self) -> int:  # type: ignore[override]
        """Total number of columns."""
        return sum(p.size for p in self.parts)

    @property
    def kind(self) -> str:  # type: ignore[override]
        """``"block"``."""
        return "block"

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""
        return sum(p.n_theta for p in self.parts)

    def _split(self, theta: np.ndarray) -> list[np.ndarray]:
        cuts = np.cumsum([p.n_theta for p in self.parts])[:-1]
        return np.split(np.asarray(theta, dtype=float), cuts)

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """The parts' factors on the diagonal."""
        return linalg.block_diag(*[p.lam(t) for p, t in zip(self.parts, self._split(theta))])

    def lower_bounds(self) -> np.ndarray:
        """The parts' lower bounds."""
        return np.concatenate([p.lower_bounds() for p in self.parts])

    def upper_bounds(self) -> np.ndarray:
        """The parts' upper bounds."""
        return np.concatenate([p.upper_bounds() for p in self.parts])

    def initial(self) -> np.ndarray:
        """The parts' starts."""
        return np.concatenate([p.initial() for p in self.parts])

    def diagonal_mask(self) -> np.ndarray:
        """The parts' SD entries."""
        return np.concatenate([p.diagonal_mask() for p in self.parts])

    @property
    def cols(self) -> np.ndarray:
        """The parts' ``cols``, shifted to the parts' columns."""
        starts = np.cumsum([0] + [p.size for p in self.parts])[:-1]
        return np.concatenate([p.cols + start for p, start in zip(self.parts, starts)])

    def rectify(self, theta: np.ndarray) -> np.ndarray:
        """Each part rectified."""
        return np.concatenate([p.rectify(t) for p, t in zip(self.parts, self._split(theta))])

    def linked(self) -> np.ndarray:
        """The parts' patterns on the diagonal; parts never covary."""
        return linalg.block_diag(*[p.linked() for p in self.parts]).astype(bool)
