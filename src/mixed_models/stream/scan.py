"""Pass one of a streamed fit: columns' kinds, levels and missing values, chunk by chunk.

The levels of every grouping factor and categorical predictor are collected from the
complete rows (a row with a missing value in a model column is dropped, as
``na_action="drop"`` does in memory) and ordered as the in-memory design orders them:
sorted values, or a pandas categorical's category order (categories without rows
dropped). Kinds and unsupported columns are checked with :mod:`mixed_models.design.
columns`.

Unstable: the fields of :class:`Scan` may change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mixed_models.design.columns import (
    CATEGORICAL,
    EMPTY,
    LOGICAL,
    NUMERIC,
    as_numbers,
    column_kind,
    refuse_duplicates,
    refuse_unsupported,
)
from mixed_models.design.frame import missing_column_error
from mixed_models.errors import DataError


@dataclass(frozen=True, eq=False)
class ScanPlan:
    """What pass one reads.

    Attributes
    ----------
    needed
        Columns the formula reads, with the position where each is first named.
    predictors
        Columns that become model-matrix columns.
    factors
        Columns read inside ``C()`` (categorical whatever their kind).
    groupings
        The grouping columns of each random term (one tuple per grouping factor).
    weights, offset
        Names of the weights and offset columns, or None.
    formula
        The formula's text, for messages.
    """

    needed: dict[str, int]
    predictors: list[str]
    factors: set[str]
    groupings: list[tuple[str, ...]]
    weights: str | None
    offset: str | None
    formula: str

    @property
    def columns(self) -> list[str]:
        """Every column a pass reads."""
        extra = [c for c in (self.weights, self.offset) if c is not None]
        return list(dict.fromkeys([*self.needed, *extra]))


@dataclass(eq=False)
class Scan:
    """Pass one's partial (or total) result over some chunks."""

    n_input: int = 0
    n_complete: int = 0
    first_incomplete: int | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    values: dict[str, set] = field(default_factory=dict)
    categories: dict[str, list] = field(default_factory=dict)
    keys: dict[tuple[str, ...], set] = field(default_factory=dict)

    def merge(self, other: Scan) -> Scan:
        """The scan of both chunks' rows."""
        out = Scan(self.n_input + other.n_input, self.n_complete + other.n_complete,
                   _first(self.first_incomplete, other.first_incomplete))
        for name in {*self.kinds, *other.kinds}:
            out.kinds[name] = _merge_kind(name, self.kinds.get(name, EMPTY),
                                          other.kinds.get(name, EMPTY))
        for name in {*self.values, *other.values}:
            out.values[name] = _union(self.values.get(name), other.values.get(name))
        for name in {*self.categories, *other.categories}:
            order = list(self.categories.get(name, []))
            seen = set(order)
            order += [c for c in other.categories.get(name, []) if c not in seen]
            out.categories[name] = order
        for key in {*self.keys, *other.keys}:
            out.keys[key] = self.keys.get(key, set()) | other.keys.get(key, set())
        return out


def _union(a: np.ndarray | set | None, b: np.ndarray | set | None) -> np.ndarray | set:
    """Union of two chunks' values: sorted arrays for numbers (compact for millions of
    levels), sets otherwise."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.union1d(a, b)
    return set(a.tolist() if isinstance(a, np.ndarray) else a) | \
        set(b.tolist() if isinstance(b, np.ndarray) else b)


def _first(a: int | None, b: int | None) -> int | None:
    return b if a is None else a


def _merge_kind(name: str, a: str, b: str) -> str:
    if a == b or b == EMPTY:
        return a
    if a == EMPTY:
        return b
    raise DataError(f"column '{name}' holds {a} values in some chunks and {b} values in "
                    "others; give it one type in every chunk (e.g. cast it before fitting)")


def category_columns(plan: ScanPlan, kinds: dict[str, str]) -> list[str]:
    """Columns whose levels are collected: grouping columns, ``C()`` columns and the
    predictors that hold text or categories."""
    grouping = {name for g in plan.groupings for name in g}
    text = {n for n in plan.predictors if kinds.get(n) == CATEGORICAL}
    return sorted(grouping | plan.factors | text)


def selected_rows(chunk: pd.DataFrame, plan: ScanPlan, start: int | None
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's columns of a chunk (numbers in object columns made floats) and its
    complete rows; checks missing, duplicate and unsupported columns."""
    refuse_duplicates(chunk.columns, plan.columns)
    for name, position in plan.needed.items():
        if name not in chunk.columns:
            raise missing_column_error(name, [str(c) for c in chunk.columns], plan.formula,
                                       position)
    for name in (plan.weights, plan.offset):
        if name is not None and name not in chunk.columns:
            raise missing_column_error(name, [str(c) for c in chunk.columns])
    refuse_unsupported(chunk, plan.predictors)
    selected = as_numbers(chunk[plan.columns], plan.predictors)
    complete = ~selected.isna().any(axis=1).to_numpy()
    return selected, complete


def scan_chunk(chunk: pd.DataFrame, start: int | None, plan: ScanPlan) -> Scan:
    """Pass one over one chunk."""
    selected, complete = selected_rows(chunk, plan, start)
    scan = Scan(len(chunk), int(complete.sum()))
    if not complete.all() and start is not None:
        scan.first_incomplete = start + int(np.argmin(complete))
    elif not complete.all():
        scan.first_incomplete = -1
    rows = selected[complete]
    for name in plan.needed:
        kind = column_kind(rows[name]) if len(rows) else EMPTY
        if kind == LOGICAL and name in plan.predictors and name not in plan.factors:
            raise DataError(f"column '{name}' holds booleans; a streamed fit needs numbers "
                            f"or categories: convert it (e.g. df[{name!r}].astype(int))")
        scan.kinds[name] = kind
    for name in category_columns(plan, scan.kinds):
        column = rows[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            scan.categories[name] = list(column.cat.categories)
            column = column.astype(object)
        if scan.kinds.get(name) == NUMERIC:
            scan.values[name] = np.unique(column.to_numpy())
        else:
            scan.values[name] = set(pd.unique(column))
    for grouping in plan.groupings:
        if len(grouping) > 1:
            scan.keys[grouping] = set(map(tuple, rows[list(grouping)].astype(object)
                                          .drop_duplicates().itertuples(index=False)))
    return scan


def ordered_levels(scan: Scan, name: str) -> list:
    """The column's values in the in-memory design's level order."""
    values = scan.values.get(name, set())
    if isinstance(values, np.ndarray):
        return np.sort(values).tolist() if scan.kinds.get(name) == NUMERIC else \
            ordered_levels(Scan(kinds=scan.kinds, values={name: set(values.tolist())},
                                categories=scan.categories), name)
    if name in scan.categories:
        return [c for c in scan.categories[name] if c in values]
    if scan.kinds.get(name) == NUMERIC:
        return sorted(values)
    try:
        return list(pd.factorize(pd.Series(list(values), dtype=object), sort=True)[1])
    except TypeError:
        raise DataError(f"column '{name}' mixes values that cannot be sorted (e.g. numbers "
                        "and text); a streamed fit needs one type: convert it with "
                        f"df[{name!r}].astype(str)") from None


def ordered_keys(scan: Scan, grouping: tuple[str, ...],
                 levels: dict[str, list]) -> list[tuple]:
    """An interaction grouping's levels (tuples of values) in the in-memory order:
    lexicographic in the order of each column's levels."""
    if len(grouping) == 1:
        return [(v,) for v in levels[grouping[0]]]
    rank = [{v: i for i, v in enumerate(levels[name])} for name in grouping]
    return sorted(scan.keys[grouping], key=lambda key: tuple(r[v] for r, v in zip(rank, key)))
