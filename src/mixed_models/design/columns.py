"""The kinds of data columns a model can use, and the checks on them.

A predictor is numeric (integers or floats), logical (booleans) or categorical (text,
pandas categoricals, mixed values). Date-times, time differences, periods, intervals and
complex numbers have no meaning in a model matrix and are refused with a message that
says how to convert them. New data for a prediction must give each predictor the kind it
had in the fit, as R's ``predict`` does (a number where the fit had a category would be
silently coded as something else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from mixed_models.errors import DataError

#: Text columns up to this many rows are factorized as Python strings.
SMALL_TEXT = 50_000

NUMERIC, LOGICAL, CATEGORICAL, EMPTY = "numeric", "logical", "categorical", "empty"

# Inferred types of object columns (pandas.api.types.infer_dtype) that are numbers.
_NUMBER_TYPES = ("integer", "floating", "mixed-integer-float", "decimal")

_UNSUPPORTED = {
    "datetime": ("date-times", "a number, e.g. the days since the first date: "
                 "(df[{col}] - df[{col}].min()).dt.days"),
    "timedelta": ("time differences", "a number, e.g. a number of days: "
                  "df[{col}].dt.total_seconds() / 86400"),
    "period": ("periods", "a number (e.g. df[{col}].dt.year) or a text category "
               "(df[{col}].astype(str))"),
    "interval": ("intervals", "a number (e.g. the midpoints df[{col}].array.mid) or a text "
                 "category (df[{col}].astype(str))"),
    "complex": ("complex numbers", "real numbers (e.g. the real part or the modulus)"),
}


def column_kind(series: pd.Series) -> str:
    """``numeric``, ``logical``, ``categorical``, ``empty`` (no values) or the name of an
    unsupported kind (a key of ``_UNSUPPORTED``)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    special = _special_kind(dtype)
    if special:
        return special
    if pd.api.types.is_bool_dtype(dtype):
        return LOGICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_object_dtype(dtype):
        return _object_kind(series)
    return CATEGORICAL


def _special_kind(dtype: object) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.PeriodDtype):
        return "period"
    if isinstance(dtype, pd.IntervalDtype):
        return "interval"
    if pd.api.types.is_complex_dtype(dtype):
        return "complex"
    return None


def _object_kind(series: pd.Series) -> str:
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "empty":
        return EMPTY
    if inferred in _NUMBER_TYPES:
        return NUMERIC
    if inferred == "boolean":
        return LOGICAL
    for kind in ("datetime", "timedelta", "period", "interval", "complex"):
        if inferred.startswith(kind) or (kind == "datetime" and inferred == "date"):
            return kind
    return CATEGORICAL


def describe(kind: str) -> str:
    """The kind in words, for messages."""
    return _UNSUPPORTED[kind][0] if kind in _UNSUPPORTED else {
        NUMERIC: "numbers", LOGICAL: "booleans", CATEGORICAL: "text or categories",
        EMPTY: "no values"}[kind]


def conversion_hint(kind: str, name: str) -> str | None:
    """How to convert a column of an unsupported kind (None for the supported kinds)."""
    return _UNSUPPORTED[kind][1].format(col=repr(name)) if kind in _UNSUPPORTED else None


def first_value(series: pd.Series) -> object:
    """The first non-missing value as a plain Python object (for messages)."""
    values = series.dropna()
    if not len(values):
        return np.nan
    value = values.iloc[0]
    return value.item() if isinstance(value, np.generic) else value


def refuse_unsupported(data: pd.DataFrame | Mapping[str, pd.Series],
                       names: Iterable[str]) -> None:
    """Raise DataError for a predictor column of a kind a model matrix cannot hold
    (``data`` is a frame or its columns by name)."""
    for name in names:
        kind = column_kind(data[name])
        if kind in _UNSUPPORTED:
            raise DataError(
                f"column '{name}' holds {describe(kind)} (dtype {data[name].dtype}, e.g. "
                f"{first_value(data[name])!r}); a model needs numbers or categories: "
                f"convert it to {conversion_hint(kind, name)}"
            )


def as_numbers(data: pd.DataFrame, names: Iterable[str],
               columns: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
    """Object columns holding only numbers become float columns (formulaic would
    otherwise treat them as categories); other columns are unchanged, and ``data``
    itself is returned when none changes. ``columns``: ``data``'s columns by name, when
    the caller has them."""
    convert = numbers_to_convert(data if columns is None else columns, names)
    if not convert:
        return data
    return data.assign(**{n: pd.to_numeric(data[n]).astype(float) for n in convert})


def numbers_to_convert(columns: pd.DataFrame | Mapping[str, pd.Series],
                       names: Iterable[str]) -> list[str]:
    """The columns among ``names`` that are object columns holding only numbers."""
    return [n for n in names if pd.api.types.is_object_dtype(columns[n].dtype)
            and column_kind(columns[n]) == NUMERIC]


def refuse_duplicates(columns: pd.Index, names: Iterable[str]) -> None:
    """Raise DataError when a column the model reads appears more than once."""
    if columns.is_unique:
        return
    duplicated = set(map(str, columns[columns.duplicated()]))
    used = sorted(duplicated & set(names))
    if used:
        counts = {name: int((columns == name).sum()) for name in used}
        listing = ", ".join(f"'{n}' ({k} times)" for n, k in counts.items())
        raise DataError(
            f"the data has more than one column named {listing}; the model cannot tell "
            "which to use. Rename or drop the duplicates (column names must be unique)"
        )


def drop_unused_categories(data: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns keep only the categories that have rows (R's model frames
    drop unused levels: a level without rows has no estimate). A frame without unused
    categories is returned as it is."""
    changed = {}
    for name, dtype in data.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            codes = np.asarray(data[name].array.codes)
            seen = np.bincount(codes[codes >= 0], minlength=len(dtype.categories))
            if not np.all(seen):
                changed[name] = data[name].cat.remove_unused_categories()
    return data.assign(**changed) if changed else data


def sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pandas' sorted factorization (codes, levels); text levels are factorized in order
    of appearance and only the levels are sorted (pandas' sort of the codes costs more
    than the factorization on short columns)."""
    text = sorted_text_codes(values)
    if text is not None:
        return text
    return pd.factorize(values, sort=True)  # mixed kinds sort pandas' way; missing: -1


def sorted_text_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`sorted_codes` of a column whose every value is text (None otherwise: other
    kinds, or missing values)."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    if not all(isinstance(u, str) for u in uniques) or np.any(codes < 0):
        return None
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def small_as_objects(column: pd.Series) -> pd.Series | np.ndarray:
    """A short text column as a numpy object array: pandas factorizes those in a third of
    the time of its Arrow-backed strings (a long one stays as it is: converting costs
    more than it saves)."""
    if len(column) <= SMALL_TEXT and isinstance(column.dtype, pd.StringDtype):
        return column.to_numpy(dtype=object)
    return column
