"""Mergeable column summaries of rows seen in chunks: counts, means, spreads, ranges.

A streamed fit never holds its rows, so what the in-memory fit reads from whole columns
(the centring and scaling of :mod:`mixed_models.core.reparam`, the rank test of X, the
least-squares start of the response) is computed here from sums that chunks add and
workers merge. Means and spreads are merged by Chan's pairwise update, so a column far
from zero keeps its digits (no sum of squares minus a squared sum).

Unstable: the fields are an implementation detail of the streamed fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class ColumnMoments:
    """Count, mean, centred sum of squares, minimum and maximum of each column.

    Attributes
    ----------
    n
        Rows seen.
    mean, m2
        Column means and sums of squared deviations from them.
    low, high
        Column minima and maxima (+inf / -inf before any row).
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def empty(cls, width: int) -> ColumnMoments:
        """Moments of no rows."""
        return cls(0, np.zeros(width), np.zeros(width), np.full(width, np.inf),
                   np.full(width, -np.inf))

    @classmethod
    def of(cls, m: np.ndarray) -> ColumnMoments:
        """Moments of the rows of ``m`` (n x k)."""
        m = np.asarray(m, dtype=float)
        if m.ndim == 1:
            m = m[:, None]
        if len(m) == 0:
            return cls.empty(m.shape[1])
        mean = m.mean(axis=0)
        return cls(len(m), mean, ((m - mean) ** 2).sum(axis=0), m.min(axis=0), m.max(axis=0))

    def merge(self, other: ColumnMoments) -> ColumnMoments:
        """Moments of the rows of both (Chan et al.'s pairwise update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / n)
        return ColumnMoments(n, mean, m2, np.minimum(self.low, other.low),
                             np.maximum(self.high, other.high))

    __add__ = merge

    @property
    def constant(self) -> np.ndarray:
        """Columns with one nonzero value in every row."""
        return (self.low == self.high) & (self.low != 0)

    def variance(self, ddof: int = 0) -> np.ndarray:
        """Column variances (``numpy.var`` with ``ddof``)."""
        return self.m2 / (self.n - ddof)


def column_transform(moments: ColumnMoments, centre: bool) -> np.ndarray:
    """The T of :func:`mixed_models.core.reparam._column_transform` from moments alone.

    Columns of M T are centred (when ``centre`` and a constant column absorbs the
    means) and scaled to a root mean square of 1; zero and constant columns keep their
    scale. Equal to the in-memory transform up to rounding.
    """
    p = len(moments.mean)
    t = np.eye(p)
    if p == 0 or moments.n == 0:
        return t
    constant = moments.constant
    intercept = int(np.argmax(constant)) if centre and constant.any() else None
    for j in range(p):
        if constant[j]:
            continue
        shift = 0.0
        if intercept is not None:
            shift = float(moments.mean[j])
            t[intercept, j] = -shift / moments.low[intercept]
        spread = float(np.sqrt(moments.m2[j] / moments.n + (moments.mean[j] - shift) ** 2))
        if spread > 0 and np.isfinite(spread):
            t[:, j] /= spread
    return t


def independent_gram_columns(gram: np.ndarray, tol: float) -> list[int]:
    """The columns :func:`mixed_models.design.fixed.independent_columns` keeps, from the
    Gram matrix X'X instead of X: column j is dropped when the norm of its part
    orthogonal to the kept columns is below ``tol`` times its own norm.

    The Gram matrix squares the condition number, so columns within about 1e-8 of
    aliasing may be judged differently from the row-wise test.
    """
    kept: list[int] = []
    for j in range(gram.shape[0]):
        norm2 = gram[j, j]
        if norm2 <= 0.0:
            continue
        if kept:
            g = gram[np.ix_(kept, kept)]
            c = gram[kept, j]
            resid2 = norm2 - c @ np.linalg.solve(g, c)
        else:
            resid2 = norm2
        if resid2 > 0 and np.sqrt(resid2) > tol * np.sqrt(norm2):
            kept.append(j)
    return kept
