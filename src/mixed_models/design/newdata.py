"""New data for a prediction, checked against the data of the fit.

Each predictor must have the kind it had in the fit (numbers, booleans, categories) and,
if categorical, only levels that had rows in the fit: a level without rows has no
estimate, and formulaic would code it as the baseline. A missing predictor value makes
its row's prediction NaN. Grouping columns are matched by their level labels, so their
type may differ (an unseen grouping level is a new level, handled by the prediction).
"""

from __future__ import annotations

import reprlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixed_models.design.columns import (
    CATEGORICAL,
    EMPTY,
    LOGICAL,
    NUMERIC,
    as_numbers,
    column_kind,
    conversion_hint,
    describe,
    first_value,
    refuse_duplicates,
)
from mixed_models.design.frame import missing_column_error, predictor_columns
from mixed_models.errors import DataError

if TYPE_CHECKING:
    from mixed_models.design import ModelDesign


@dataclass(frozen=True, eq=False)
class CheckedData:
    """New data ready for the fit's formulaic specs.

    Attributes
    ----------
    data
        The new data with numbers stored as text objects converted, categorical
        predictors as plain values and missing predictor values filled with a fitted level
        (those rows are flagged in ``incomplete``).
    incomplete
        Rows with a missing predictor value: their prediction is NaN.
    """

    data: pd.DataFrame
    incomplete: np.ndarray


def check_new_data(design: ModelDesign, data: pd.DataFrame, random: bool) -> CheckedData:
    """Refuse new data the fit cannot predict; see the module docstring."""
    predictors = sorted(predictor_columns(design.parsed, random))
    grouping = sorted({n for t in design.parsed.random for n in t.grouping}) if random else []
    refuse_duplicates(data.columns, [*predictors, *grouping])
    columns = [str(c) for c in data.columns]
    for name in sorted({*predictors, *grouping}):
        if name not in data.columns:
            raise missing_column_error(name, columns, what="predictor column")
    fitted = design.frame.data
    incomplete = np.zeros(len(data), dtype=bool)
    replaced: dict[str, pd.Series] = {}
    for name in predictors:
        column = data[name]
        incomplete |= column.isna().to_numpy()
        replaced[name] = _checked_column(name, column, fitted[name])
    if replaced:
        data = data.assign(**replaced)
    return CheckedData(data, incomplete)


def _checked_column(name: str, column: pd.Series, fitted: pd.Series) -> pd.Series:
    expected = column_kind(fitted)
    found = column_kind(column) if column.notna().any() else EMPTY
    if found not in (expected, EMPTY):
        raise DataError(
            f"column '{name}' of the new data holds {describe(found)} (dtype {column.dtype}, "
            f"e.g. {first_value(column)!r}) but the model was fitted with "
            f"{describe(expected)} (dtype {fitted.dtype}); give it the fitted type, e.g. "
            f"{conversion_hint(found, name) or _conversion(name, expected)}"
        )
    if expected == NUMERIC:
        return as_numbers(column.to_frame(), [name])[name].astype(float)
    if expected == LOGICAL:
        return column.where(column.notna(), False).astype(bool)
    _refuse_unseen_levels(name, column, fitted)
    values = column.astype(object)
    return values.where(column.notna(), fitted.iloc[0])


def _conversion(name: str, kind: str) -> str:
    return {NUMERIC: f"pd.to_numeric(df[{name!r}])", LOGICAL: f"df[{name!r}].astype(bool)",
            CATEGORICAL: f"df[{name!r}].astype(str)"}.get(kind, "the fitted dtype")


def _refuse_unseen_levels(name: str, column: pd.Series, fitted: pd.Series) -> None:
    levels = list(pd.unique(fitted.dropna()))
    unseen = column.notna() & ~column.astype(object).isin(levels)
    if not unseen.any():
        return
    rows = np.flatnonzero(unseen.to_numpy())
    new = list(dict.fromkeys(column.iloc[rows].tolist()))
    shown = sorted(map(str, levels))
    raise DataError(
        f"column '{name}' of the new data has level(s) {new[:5]}{' ...' if len(new) > 5 else ''} "
        f"(rows {[int(i) for i in rows[:5]]}) that had no rows in the fitted data; a predictor "
        f"level without rows has no estimate. The fitted levels are "
        f"{shown[:10]}{' ...' if len(shown) > 10 else ''}"
    )


def unseen_as_error(build: Callable[[pd.DataFrame], np.ndarray],
                    data: pd.DataFrame) -> np.ndarray:
    """``build(data)``, with formulaic's warning about unseen categories (e.g. of
    ``C(x)``) turned into a DataError."""
    if "formulaic" not in sys.modules:  # no formulaic spec exists: nothing can warn
        return build(data)
    from formulaic.errors import DataMismatchWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataMismatchWarning)
        try:
            return build(data)
        except DataMismatchWarning as exc:
            raise DataError(
                f"the new data has values the fit did not see in a categorical predictor: "
                f"{exc}. A fixed effect cannot be predicted for a category without an "
                "estimate; use the categories of the fitted data") from None


def per_row(value: object, data: pd.DataFrame | None, n: int, what: str) -> np.ndarray:
    """``value`` (a column name of ``data``, an array or a number) as one float per row."""
    if isinstance(value, str):
        if data is None or value not in data.columns:
            raise missing_column_error(value, [] if data is None else list(map(str, data.columns)),
                                       what=f"{what} column")
        value = data[value]
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers (an array, a number or a column name), "
                        f"got {reprlib.repr(value)}") from None
    if array.size == 1:
        return np.full(n, float(array[0]))
    if len(array) != n:
        raise DataError(f"{what} has {len(array)} values for {n} rows; give one per row")
    return array
