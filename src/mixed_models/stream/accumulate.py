"""Passes two and three of a streamed fit: column summaries, then the cross-products.

Pass two sums what the in-memory fit reads from whole columns: the moments of X's and
each term's columns (for the rank test, the checks and the internal centring and
scaling of :mod:`mixed_models.core.reparam`), X'X and X'WX with the response (for the
least-squares shift of the response), and per-level response sums (for lme4's start).
Pass three accumulates the cross-products of the internal columns with
:class:`~mixed_models.core.crossprod.CrossProductAccumulator`.

Unstable: the functions' signatures may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from mixed_models.control import Control, enforce
from mixed_models.core.accumulated import AccumulatedBlocks, StartSums
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import CrossProductAccumulator, TermData
from mixed_models.core.moments import ColumnMoments, column_transform, independent_gram_columns
from mixed_models.core.reparam import Reparametrization, TermMap
from mixed_models.design.fixed import RANK_TOL
from mixed_models.errors import DataError, ModelError, RankDeficiencyWarning
from mixed_models.progress import ProgressChoice
from mixed_models.stream.sources import RowSource, read_pass
from mixed_models.stream.spec import StreamSpec

# The progress bars' labels of the three passes over the rows.
PASS_LABELS = ("pass 1/3: levels", "pass 2/3: column sums", "pass 3/3: cross-products")
# Chunk accumulators sum their lead-to-rest pairs above this many stored entries.
_COMPACT_ENTRIES = 4_000_000


@dataclass(eq=False)
class ColumnSums:
    """Pass two's partial result."""

    x: ColumnMoments
    z: list[ColumnMoments]
    y: ColumnMoments
    gram: np.ndarray
    weighted_gram: np.ndarray
    level_sums: list[np.ndarray]
    level_counts: list[np.ndarray]

    def merge(self, other: ColumnSums) -> ColumnSums:
        """The sums of both chunks' rows."""
        return ColumnSums(self.x.merge(other.x), [a.merge(b) for a, b in zip(self.z, other.z)],
                          self.y.merge(other.y), self.gram + other.gram,
                          self.weighted_gram + other.weighted_gram,
                          [a + b for a, b in zip(self.level_sums, other.level_sums)],
                          [a + b for a, b in zip(self.level_counts, other.level_counts)])


def column_sums_of_chunk(chunk, start, spec: StreamSpec) -> ColumnSums:
    """Pass two over one chunk."""
    a = spec.arrays(chunk, start)
    y_adj = a.y if a.offset is None else a.y - a.offset
    xy = np.column_stack([a.x, y_adj])
    wxy = xy if a.weights is None else xy * a.weights[:, None]
    sums = [np.bincount(c, a.y, t.n_levels) for c, t in zip(a.codes, spec.random)]
    counts = [np.bincount(c, None, t.n_levels) for c, t in zip(a.codes, spec.random)]
    return ColumnSums(ColumnMoments.of(a.x), [ColumnMoments.of(z) for z in a.z],
                      ColumnMoments.of(a.y), xy.T @ xy, wxy.T @ xy, sums, counts)


@dataclass(frozen=True, eq=False)
class FixedColumns:
    """The fixed-effects columns kept by the rank test, and the internal column maps."""

    kept: np.ndarray
    dropped: list[str]
    empty: tuple[tuple[int, str], ...]
    x_transform: np.ndarray
    z_transforms: list[np.ndarray | None]
    beta_shift: np.ndarray


def fixed_columns(spec: StreamSpec, sums: ColumnSums, control: Control) -> FixedColumns:
    """The rank test, the checks on the columns, and the maps to internal columns."""
    p = len(spec.x_names)
    kept = np.asarray(independent_gram_columns(sums.gram[:p, :p], RANK_TOL), dtype=np.intp)
    dropped = [n for i, n in enumerate(spec.x_names) if i not in set(kept)]
    if dropped:
        enforce(control.check_rank_x,
                f"fixed-effect model matrix is rank deficient: dropping {len(dropped)} "
                f"column(s) {dropped} that are linear combinations of earlier columns",
                ModelError, RankDeficiencyWarning, stacklevel=5)
    empty = tuple((j, spec.x_names[j]) for j in range(p) if sums.gram[j, j] == 0.0)
    with_y = np.append(kept, p)
    if len(independent_gram_columns(sums.gram[np.ix_(with_y, with_y)], RANK_TOL)) <= len(kept):
        raise DataError("the response (minus any offset) is constant or an exact linear "
                        "function of the predictors")
    x_moments = _select(sums.x, kept)
    _check_scale(x_moments, control)
    _refuse_zero_z(spec, sums.z)
    tx = column_transform(x_moments, centre=True)
    tz = [_term_transform(t, m) for t, m in zip(spec.random, sums.z)]
    g = tx.T @ sums.weighted_gram[np.ix_(kept, kept)] @ tx
    c = tx.T @ sums.weighted_gram[kept, p]
    shift = np.linalg.lstsq(g, c, rcond=None)[0] if len(kept) else np.zeros(0)
    return FixedColumns(kept, dropped, empty, tx, tz, shift)


def _select(m: ColumnMoments, cols: np.ndarray) -> ColumnMoments:
    return ColumnMoments(m.n, m.mean[cols], m.m2[cols], m.low[cols], m.high[cols])


def _check_scale(m: ColumnMoments, control: Control) -> None:
    """design.checks.check_scale from the columns' spreads."""
    from mixed_models.design.checks import check_scale
    from mixed_models.design.fixed import FixedDesign

    sd = np.sqrt(m.variance())
    two_rows = np.vstack([m.mean - sd, m.mean + sd])  # same spreads as the columns
    check_scale(FixedDesign(two_rows, [], [], np.zeros(0, np.intp), None), control)


def _refuse_zero_z(spec: StreamSpec, moments: list[ColumnMoments]) -> None:
    for term, m in zip(spec.random, moments):
        zero = [c for c, lo, hi in zip(term.columns, m.low, m.high) if lo == 0 == hi]
        if zero:
            raise ModelError(f"random-effects column(s) {zero} of the term for "
                             f"'{term.group}' are zero in every row: the data say nothing "
                             "about their variance. Remove them from the term")


def _term_transform(term, moments: ColumnMoments) -> np.ndarray | None:
    cov = term.covariance
    if not isinstance(cov, PatternCovariance):
        return None
    full = cov.n_theta == cov.size * (cov.size + 1) // 2
    t = column_transform(moments, centre=full)
    return None if not np.any(t - np.eye(cov.size)) else t


def blocks_of_chunk(chunk, start, spec: StreamSpec, cols: FixedColumns,
                    terms: list[TermData]) -> CrossProductAccumulator:
    """Pass three over one chunk: its internal cross-products."""
    a = spec.arrays(chunk, start)
    x = a.x[:, cols.kept] @ cols.x_transform
    y_adj = a.y if a.offset is None else a.y - a.offset
    z = [zz if t is None else zz @ t for zz, t in zip(a.z, cols.z_transforms)]
    acc = CrossProductAccumulator(terms, x.shape[1])
    acc.add(a.codes, z, x, y_adj - x @ cols.beta_shift, a.weights)
    acc.compact(_COMPACT_ENTRIES)
    return acc


def accumulate(source: RowSource, spec: StreamSpec, control: Control, reml: bool,
               progress: ProgressChoice = False
               ) -> tuple[AccumulatedBlocks, FixedColumns, ColumnSums]:
    """Passes two and three: the blocks an AccumulatedProblem fits from (``progress``:
    a bar per pass, see :mod:`mixed_models.progress`)."""
    columns = spec.plan.columns
    sums = read_pass(source, partial(column_sums_of_chunk, spec=spec), columns, progress,
                     PASS_LABELS[1])
    cols = fixed_columns(spec, sums, control)
    terms = [TermData(np.zeros(0, np.intp), np.zeros((0, len(t.columns))), t.n_levels,
                      t.covariance) for t in spec.random]
    acc = read_pass(source, partial(blocks_of_chunk, spec=spec, cols=cols, terms=terms),
                    columns, progress, PASS_LABELS[2])
    maps = [TermMap(t.covariance, tz) for t, tz in zip(terms, cols.z_transforms)]
    shift = -2.0 * float(np.linalg.slogdet(cols.x_transform)[1]) if reml else 0.0
    reparam = Reparametrization(cols.x_transform, maps, shift)
    blocks = AccumulatedBlocks(acc.finish(), cols.beta_shift,
                               None if reparam.is_identity else reparam, terms,
                               _start_sums(spec, sums),
                               float(np.sqrt(sums.y.variance()[0])) if sums.y.n else 0.0)
    return blocks, cols, sums


def _start_sums(spec: StreamSpec, sums: ColumnSums) -> StartSums | None:
    ones = all(len(m.low) == 1 and m.low[0] == 1.0 == m.high[0] for m in sums.z)
    if not ones or sums.y.n < 2:
        return None
    return StartSums(sums.level_sums, sums.level_counts, float(sums.y.variance(ddof=1)[0]))


def check_groups(spec: StreamSpec, n_obs: int, control: Control) -> None:
    """design.checks.check_grouping on the terms with their full levels."""
    from mixed_models.design.checks import check_grouping

    check_grouping(spec.random, n_obs, control)


__all__ = ["accumulate", "check_groups", "ColumnSums", "FixedColumns"]
