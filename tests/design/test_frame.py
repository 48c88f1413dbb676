"""The model frame: the columns a model reads and its complete rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models.design.frame import complete_rows, model_frame
from mixed_models.formula import parse_formula

FORMULA = "y ~ x + (1 | g)"


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"g": np.repeat(["a", "b", "c"], 4), "other": 1.0,
                         "x": rng.normal(size=12), "y": rng.normal(size=12)})


@pytest.mark.parametrize("change", ["none", "missing", "index", "categorical"])
def test_unselected_frame_equals_the_selected_one(change):
    data = _data()
    if change == "missing":
        data.loc[2, "x"] = np.nan
    elif change == "index":
        data.index = data.index + 10
    elif change == "categorical":
        data["g"] = data["g"].astype("category")
    parsed = parse_formula(FORMULA)
    selected = model_frame(parsed, data)
    lazy = model_frame(parsed, data, select=False)
    pd.testing.assert_frame_equal(lazy.data, selected.data, check_column_type=False)
    assert list(lazy.columns) == list(selected.columns) == ["y", "x", "g"]
    for name in lazy.columns:
        assert np.array_equal(lazy.columns[name].to_numpy(), selected.data[name].to_numpy())
    assert np.array_equal(lazy.rows, selected.rows)


def test_unselected_frame_keeps_the_values_of_the_fit():
    data = _data()
    frame = model_frame(parse_formula(FORMULA), data, select=False)
    before = data["x"].to_numpy().copy()
    data.loc[0, "x"] = 1e6  # the user's frame changes after the fit
    assert np.array_equal(frame.columns["x"].to_numpy(), before)
    assert np.array_equal(frame.data["x"].to_numpy(), before)


@pytest.mark.parametrize("dtype", ["object", "str", "category", "Float64", "Int64", "boolean"])
def test_missing_values_of_every_dtype_drop_their_rows(dtype):
    values = {"object": ["a", None, "b", "c"], "str": ["a", None, "b", "c"],
              "category": ["a", None, "b", "c"], "Float64": [1.0, None, 2.0, 3.0],
              "Int64": [1, None, 2, 3], "boolean": [True, None, False, True]}[dtype]
    column = pd.Series(values, dtype=dtype)
    assert list(complete_rows([column], 4)) == [True, False, True, True]
