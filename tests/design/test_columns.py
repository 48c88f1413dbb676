"""Data columns a model reads: duplicated names, kinds a model matrix cannot hold,
numbers stored as objects, categories without rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixed_models.design import build_design
from mixed_models.design.columns import column_kind
from mixed_models.errors import DataError
from mixed_models.formula import parse_formula


def design(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return build_design(parse_formula(formula), data, **kwargs)


@pytest.fixture
def frame():
    rng = np.random.default_rng(2)
    n = 48
    return pd.DataFrame({
        "y": rng.normal(size=n), "x": rng.normal(size=n),
        "f": np.tile(["b", "a", "c"], n // 3), "g": np.repeat(np.arange(8), n // 8),
    })


def test_a_duplicated_column_the_model_reads_is_refused(frame):
    doubled = pd.concat([frame, frame[["x"]] * 2], axis=1)
    with pytest.raises(DataError, match=r"more than one column named 'x' \(2 times\)"):
        design("y ~ x + (1 | g)", doubled)
    with pytest.raises(DataError, match="named 'w'"):
        design("y ~ 1 + (1 | g)", pd.concat([frame.assign(w=1.0), frame[["y"]].rename(
            columns={"y": "w"})], axis=1), weights="w")


def test_a_duplicated_column_the_model_does_not_read_is_allowed(frame):
    doubled = pd.concat([frame, frame[["f"]]], axis=1)
    assert design("y ~ x + (1 | g)", doubled).fixed.names == ["intercept", "x"]


@pytest.mark.parametrize("values, what, hint", [
    (pd.to_timedelta(np.arange(48), unit="D"), "time differences", "total_seconds"),
    (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(48), unit="D"), "date-times",
     "days since the first date"),
    (pd.period_range("2024-01", periods=48, freq="M"), "periods", "dt.year"),
    (np.arange(48) + 1j, "complex numbers", "real part"),
])
def test_date_and_time_predictors_are_refused_with_a_conversion(frame, values, what, hint):
    data = frame.assign(t=values)
    for formula in ("y ~ t + (1 | g)", "y ~ x + (t | g)"):
        with pytest.raises(DataError, match=f"column 't' holds {what}.*{hint}"):
            design(formula, data)


def test_dates_may_group(frame):
    data = frame.assign(day=pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["g"], "D"))
    assert design("y ~ x + (1 | day)", data).random[0].n_levels == 8


def test_numbers_stored_as_objects_are_numbers(frame):
    as_objects = frame.assign(x=frame["x"].astype(object))
    np.testing.assert_array_equal(design("y ~ x + (1 | g)", as_objects).fixed.matrix,
                                  design("y ~ x + (1 | g)", frame).fixed.matrix)


def test_categories_without_rows_are_dropped_as_r_does(frame):
    # R's model frame drops unused levels: the baseline is the first level with rows
    # and no column is made (nor a rank-deficiency warning given) for an empty level.
    data = frame.assign(f=pd.Categorical(frame["f"], categories=["none", "a", "b", "c"]))
    assert design("y ~ f + (1 | g)", data).fixed.names == ["intercept", "f_lvl_b", "f_lvl_c"]


@pytest.mark.parametrize("values, kind", [
    ([1.0, 2.0], "numeric"), ([1, 2], "numeric"), ([True, False], "logical"),
    (["a", "b"], "categorical"), (pd.Categorical([1, 2]), "categorical"),
    (pd.Series([1, 2.5, None], dtype=object), "numeric"),
    (pd.Series([None, None], dtype=object), "empty"),
    (pd.Series([1, "a"], dtype=object), "categorical"),
    (pd.to_timedelta([1, 2], unit="s"), "timedelta"),
    (pd.Series([pd.Timestamp("2024-01-01")], dtype=object), "datetime"),
])
def test_column_kind(values, kind):
    assert column_kind(pd.Series(values)) == kind
