"""From the user's data frame to the rows and columns a model uses.

Any eager or lazy frame narwhals understands (pandas, polars, ...) is accepted; the user's
frame is never modified. Rows with a missing value in a column the model uses are
dropped (``na_action="drop"``) or refused (``"raise"``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from mixed_models.design.columns import (
    as_numbers,
    drop_unused_categories,
    numbers_to_convert,
    refuse_duplicates,
    refuse_unsupported,
)
from mixed_models.design.memo import per_object
from mixed_models.errors import (
    DataError,
    DataTypeError,
    InvalidArgumentError,
    MissingColumnError,
)
from mixed_models.formula.response import checked_pieces
from mixed_models.formula.safe import check_offset, check_piece
from mixed_models.formula.terms import ParsedFormula

NA_ACTIONS = ("drop", "exclude", "raise")


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """The complete rows of the columns a model uses.

    Attributes
    ----------
    selected
        The selected columns, complete rows only, with a fresh 0..n-1 index: a frame,
        or the columns by name when every row of the user's frame was kept under its
        default index (the frame, ``data``, is then built on first use: a fit from
        plain columns never needs it).
    rows
        Position of each kept row in the user's frame.
    n_input
        Number of rows of the user's frame.
    weights, offset
        Arrays aligned with ``data`` (None when not given).
    na_action
        ``"drop"``, ``"exclude"`` or ``"raise"``, as given.
    index
        The user's row labels (a pandas index; 0..n-1 for frames without one, such as
        polars); None means 0..n-1.
    """

    selected: pd.DataFrame | dict[str, pd.Series]
    rows: np.ndarray
    n_input: int
    weights: np.ndarray | None
    offset: np.ndarray | None
    na_action: str = "drop"
    index: pd.Index | None = None

    @cached_property
    def data(self) -> pd.DataFrame:
        """The selected columns as a frame."""
        if isinstance(self.selected, pd.DataFrame):
            return self.selected
        return pd.DataFrame(self.selected)

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return self.n_input - len(self.rows)

    @cached_property
    def columns(self) -> dict[str, pd.Series]:
        """The columns of ``data`` by name, each taken from the frame once (pandas'
        column access costs microseconds, and the design reads each column several
        times)."""
        if not isinstance(self.selected, pd.DataFrame):
            return self.selected
        return dict(self.data.items())

    def pad(self, values: np.ndarray) -> np.ndarray:
        """Per-row values on the input rows: NaN where a row was dropped."""
        out = np.full(self.n_input, np.nan)
        out[self.rows] = values
        return out

    def row_labels(self) -> pd.Index:
        """The user's labels of the per-row values: every input row under
        ``na_action="exclude"`` (dropped ones padded), the kept rows otherwise."""
        index = self.index if self.index is not None else pd.RangeIndex(self.n_input)
        return index if self.na_action == "exclude" else index[self.rows]


def to_pandas(data: object) -> pd.DataFrame:
    """A pandas view of any narwhals-compatible frame (polars, pyarrow, ...)."""
    if isinstance(data, pd.DataFrame):
        return data
    try:
        import narwhals as nw

        frame = nw.from_native(data)
    except TypeError:
        raise DataTypeError(
            f"data must be a data frame (pandas, polars or another narwhals-supported "
            f"frame), got {type(data).__name__}"
        ) from None
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, nw.DataFrame):
        raise DataTypeError(f"data must be a data frame, got {type(data).__name__}")
    try:
        return frame.to_pandas()
    except ImportError:
        # polars hands whole frames to pandas through pyarrow, an optional dependency;
        # column by column through numpy needs neither
        return pd.DataFrame({name: _column_to_pandas(frame[name], nw)
                             for name in frame.columns})


def _column_to_pandas(column: Any, nw: Any) -> pd.Series | pd.Categorical:
    """One narwhals column as pandas; categorical columns keep their levels' order
    (an enum's declared order, else the order of first appearance)."""
    values = column.to_numpy()
    if isinstance(column.dtype, nw.Enum):
        return pd.Categorical(values, categories=list(column.dtype.categories))
    if column.dtype == nw.Categorical:
        return pd.Categorical(values, categories=pd.unique(values[pd.notna(values)]))
    return pd.Series(values)


def formula_variables(text: str, formula: str, offset: int) -> set[str]:
    """Names of the data columns a formula piece reads (also inside ``scale(x)``,
    ``poly(x, 2)`` and the other transforms), after checking the piece."""
    return set(check_piece(text, formula, offset).column_names)


def required_columns(parsed: ParsedFormula) -> dict[str, int]:
    """Every column the formula reads, with the offset where it is first named."""
    return dict(_required_columns(parsed))


@per_object
def _required_columns(parsed: ParsedFormula) -> dict[str, int]:
    found: dict[str, int] = {}
    pieces = checked_pieces(parsed)
    pieces += [check_offset(o.expr, parsed.formula, o.expr_offset) for o in parsed.offsets]
    for piece in pieces:
        for name, position in piece.columns:
            found.setdefault(name, position)
    for term in parsed.random:
        for name in term.grouping:
            if name not in found:
                found[name] = _name_position(parsed.formula, name, *term.span)
    return found


def predictor_columns(parsed: ParsedFormula, random: bool = True) -> set[str]:
    """Columns read by the fixed part and (with ``random``) the left sides of the bars:
    the columns that become model-matrix columns (grouping-only columns are not)."""
    fixed, bars = _predictor_columns(parsed)
    return fixed | bars if random else set(fixed)


@per_object
def _predictor_columns(parsed: ParsedFormula) -> tuple[frozenset[str], frozenset[str]]:
    """The columns of the fixed part, and those of the bars' left sides."""
    fixed: set[str] = set()
    if parsed.fixed.strip():
        fixed = formula_variables(parsed.fixed, parsed.formula, parsed.fixed_offset)
    bars: set[str] = set()
    for term in parsed.random:
        bars |= formula_variables(term.expr, parsed.formula, term.expr_offset)
    return frozenset(fixed), frozenset(bars)


def _name_position(formula: str, name: str, start: int, stop: int) -> int:
    match = re.search(rf"(?<![\w.`]){re.escape(name)}(?![\w.`])|`{re.escape(name)}`",
                      formula[start:stop])
    return start + match.start() if match else start


def missing_column_error(name: str, columns: list[str], formula: str | None = None,
                         position: int | None = None, what: str = "column") -> MissingColumnError:
    """An error naming the missing column, a close match and the columns there are."""
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    where = ""
    if formula is not None:
        where = f" (at position {position} in '{formula}')"
    listing = ", ".join(map(str, columns[:30])) + (", ..." if len(columns) > 30 else "")
    return MissingColumnError(
        f"{what} '{name}' is not in the data{where}.{hint} The data has the columns: {listing}"
    )


def model_frame(parsed: ParsedFormula, data: object, weights: object = None,
                offset: object = None, na_action: str = "drop",
                select: bool = True) -> ModelFrame:
    """Select the model's columns and its complete rows.

    ``weights`` and ``offset`` are a column name, an array of one value per row of
    ``data``, or None. ``offset`` may also be a scalar. Without ``select``, a frame
    whose every row is kept (under its default index) gives its columns alone, and the
    model frame's ``data`` is built when first read (at twice the cost of selecting it
    now): for callers that read the columns only.
    """
    if na_action not in NA_ACTIONS:
        raise InvalidArgumentError(f"na_action must be one of {NA_ACTIONS}, got {na_action!r}")
    frame = to_pandas(data)
    needed = required_columns(parsed)
    named = [v for v in (weights, offset) if isinstance(v, str)]
    refuse_duplicates(frame.columns, [*needed, *named])
    for name, position in needed.items():
        if name not in frame.columns:
            raise missing_column_error(name, [str(c) for c in frame.columns], parsed.formula,
                                       position)
    predictors = sorted(predictor_columns(parsed) & set(needed))
    # each column read once (names were checked unique); a frame of the model's columns
    # is selected only when the data need one (conversions, dropped rows, categories)
    columns = {name: frame[name] for name in needed}
    refuse_unsupported(columns, predictors)
    selected = None
    if numbers_to_convert(columns, predictors):
        selected = as_numbers(_select(frame, needed), predictors, columns)
        columns = dict(selected.items())
    w = _extra_column(weights, frame, "weights")
    o = _extra_column(offset, frame, "offset")
    complete = complete_rows(columns.values(), len(frame))
    for extra in (w, o):
        if extra is not None:
            complete &= ~np.isnan(extra)
    if na_action == "raise" and not complete.all():
        bad = np.flatnonzero(~complete)
        raise DataError(
            f"{len(bad)} row(s) have missing values in the model's columns (first at row "
            f"{bad[0]}); pass na_action='drop' to drop them"
        )
    rows = np.flatnonzero(complete)
    if len(rows) == 0:
        raise DataError(
            f"no complete rows: every one of the {len(frame)} rows has a missing value in "
            f"the model's columns {list(needed)}"
        )
    categorical = any(isinstance(c.dtype, pd.CategoricalDtype) for c in columns.values())
    if not select and selected is None and len(rows) == len(frame) \
            and _default_index(frame.index) and not categorical:
        return ModelFrame(columns, rows, len(frame), w, o, na_action, frame.index)
    selected = _select(frame, needed) if selected is None else selected
    kept = selected if len(rows) == len(frame) else selected.take(rows)
    same = kept is selected and _default_index(kept.index)
    if not same:
        kept.index = pd.RangeIndex(len(rows))  # a frame of our own: the user's is untouched
    if categorical:
        dropped = drop_unused_categories(kept)
        kept, same = dropped, same and dropped is kept
    model = ModelFrame(kept, rows, len(frame), _take(w, rows), _take(o, rows), na_action,
                       frame.index)
    if same:
        model.__dict__["columns"] = columns  # the same columns: spare a second pass
    return model


def _select(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """The frame's columns ``names`` (unique), selected by position."""
    return frame.take([frame.columns.get_loc(name) for name in names], axis=1)


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def complete_rows(columns: Iterable[pd.Series], n: int) -> np.ndarray:
    """True for the rows without a missing value in any of the columns (pandas'
    ``isna``, read from numpy arrays where the dtype allows)."""
    complete = np.ones(n, dtype=bool)
    for column in columns:
        kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
        if kind in ("i", "u", "b"):
            continue  # numpy integers and booleans have no missing value
        if kind == "f":
            complete &= ~np.isnan(column.to_numpy())
        else:  # the array's own test: a twentieth of the Series' on Arrow strings
            complete &= ~np.asarray(column.array.isna(), dtype=bool)
    return complete


def _take(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[rows]


def _extra_column(value: object, frame: pd.DataFrame, what: str) -> np.ndarray | None:
    """Weights or offset as a float array of one value per row of the frame."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in frame.columns:
            raise missing_column_error(value, [str(c) for c in frame.columns], what=f"{what} column")
        value = frame[value]
    if np.isscalar(value) and what == "offset":
        return np.full(len(frame), float(value))
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numeric") from None
    if len(array) != len(frame):
        raise DataError(
            f"{what} has {len(array)} values but the data has {len(frame)} rows; give one "
            f"value per row (or a column name)"
        )
    return array
