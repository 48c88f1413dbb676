"""Random-effects terms: lme4's double bar, interaction levels, degenerate columns."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixed_models import LMM
from mixed_models.design import build_design
from mixed_models.errors import DataError, ModelError
from mixed_models.formula import parse_formula
from mixed_models.design.columns import sorted_codes
from mixed_models.design.random import grouping_codes

DOUBLE_BAR = Path(__file__).parents[1] / "data" / "double_bar" / "factor_double_bar.csv"

# REML criteria from tests/data/double_bar/factor_double_bar.R (lme4 1.1.31, R 4.2.2).
# lme4 reads (f || g) as (1 | g) + (0 + f | g); "diag" is the fully diagonal model
# (intercept and the two contrast columns of f, independent).
LME4_REML = {"(f || g)": 1400.553287, "(1 | g) + (0 + f | g)": 1400.553287,
             "(x + f || g)": 1400.553287, "diag(f | g)": 1417.553745}


def design(formula, data, **kwargs):
    return build_design(parse_formula(formula), data, **kwargs)


def fit(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (1 | g) + (0 + f | g) is over-parametrized
        return LMM.from_formula(formula, data)


@pytest.mark.parametrize("bars", list(LME4_REML))
def test_double_bar_with_a_factor_is_lme4s_model(bars):
    data = pd.read_csv(DOUBLE_BAR)
    model = fit(f"y ~ x + f + {bars}", data)
    assert model.deviance == pytest.approx(LME4_REML[bars], abs=2e-4)


def test_double_bar_without_factors_is_unchanged():
    data = pd.read_csv(DOUBLE_BAR)
    a, b = fit("y ~ x + (x || g)", data), fit("y ~ x + diag(x | g)", data)
    assert a.deviance == pytest.approx(b.deviance, rel=1e-9)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-5, atol=1e-6)


def _colon_levels():
    # (a, b) = ("p:q", "r") and ("p", "q:r") both join to "p:q:r"
    rng = np.random.default_rng(3)
    a = np.tile(["p:q", "p", "s", "t"], 15)
    b = np.tile(["r", "q:r", "r", "u"], 15)
    effect = {"p:q": 4.0, "p": -4.0, "s": 1.0, "t": 0.0}
    y = np.array([effect[v] for v in a]) + rng.normal(size=60)
    return pd.DataFrame({"a": a, "b": b, "y": y})


def test_interaction_levels_with_colons_stay_distinct():
    term = design("y ~ 1 + (1 | a:b)", _colon_levels()).random[0]
    assert term.n_levels == 4 and len(set(term.levels)) == 4
    assert set(term.levels) == {"`p:q`:r", "p:`q:r`", "s:r", "t:u"}
    assert ("p:q", "r") in term.keys and ("p", "q:r") in term.keys


def test_prediction_maps_interaction_levels_by_their_parts():
    data = _colon_levels()
    model = fit("y ~ 1 + (1 | a:b)", data)
    np.testing.assert_allclose(model.predict(data), model.fitted(), rtol=1e-10)
    modes = model.predict(data.head(2))
    assert modes[0] - modes[1] > 4  # the two levels' own modes, not one shared


def test_random_column_of_zeros_is_refused():
    data = _colon_levels().assign(z=0.0, g=np.repeat(np.arange(12), 5))
    with pytest.raises(ModelError, match=r"\['z'\] of the term \(0 \+ z \| g\) are zero"):
        design("y ~ 1 + (0 + z | g)", data)
    with pytest.raises(ModelError, match=r"\['z'\]"):
        design("y ~ 1 + (1 | g) + (1 + z | a)", data)


def test_unused_category_of_a_random_factor_is_not_a_zero_column():
    data = _colon_levels().assign(g=np.repeat(np.arange(12), 5))
    data["a"] = pd.Categorical(data["a"], categories=["p", "p:q", "s", "t", "never"])
    term = design("y ~ 1 + (0 + a | g)", data).random[0]
    assert term.columns == ["a_lvl_p", "a_lvl_p:q", "a_lvl_s", "a_lvl_t"]


def test_values_that_print_the_same_are_refused_as_levels():
    data = _colon_levels()
    data["g"] = pd.Series([1, "1"] * 30, dtype=object)
    data.loc[:9, "g"] = 2
    with pytest.raises(DataError, match="'g' has different values that print as '1'"):
        design("y ~ 1 + (1 | g)", data)


def test_random_effects_are_counted_per_bar_as_in_lme4():
    # lme4 1.1.31 fits (x || g) with 12 levels and 24 rows (each bar has 12 effects)
    # and refuses (x | g) (24 effects for 24 rows).
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"g": np.repeat(np.arange(12), 2), "x": rng.normal(size=24)})
    data["y"] = data["x"] + rng.normal(size=24)
    assert design("y ~ x + (x || g)", data).random[0].n_levels == 12
    with pytest.raises(ModelError, match="24 random effects"):
        design("y ~ x + (x | g)", data)


@given(st.lists(st.text(min_size=0, max_size=4), min_size=1, max_size=40),
       st.sampled_from(["object", "str"]))
def test_text_levels_are_coded_as_pandas_sorted_factorization(values, dtype):
    column = pd.Series(values, dtype=dtype)
    codes, labels = grouping_codes(pd.DataFrame({"g": column}), ("g",))
    expected_codes, expected = pd.factorize(column.to_numpy(dtype=object), sort=True)
    assert labels == [str(v) for v in expected]
    assert np.array_equal(codes, expected_codes)


@pytest.mark.parametrize("values", [["b", 2, "a", 1, 2], ["x", None, "a", "x"]])
def test_mixed_or_missing_text_levels_keep_pandas_order(values):
    column = pd.Series(values, dtype=object)
    codes, uniques = sorted_codes(column.to_numpy(dtype=object))
    expected_codes, expected = pd.factorize(column.to_numpy(dtype=object), sort=True)
    assert list(uniques) == list(expected) and np.array_equal(codes, expected_codes)
