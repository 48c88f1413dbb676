"""From data frames to matrices: columns, rows, levels, rank."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixed_models.core.shift import GRAM_ROWS
from mixed_models.design import build_design
from mixed_models.design.fixed import independent_columns, sequential_columns
from mixed_models.design.random import grouping_codes
from mixed_models.errors import DataError, MissingColumnError, RankDeficiencyWarning
from mixed_models.formula import parse_formula


def design(formula, data, **kwargs):
    return build_design(parse_formula(formula), data, **kwargs)


@pytest.fixture
def frame():
    rng = np.random.default_rng(1)
    n = 24
    return pd.DataFrame({
        "y": rng.normal(size=n), "x": rng.normal(size=n),
        "f": np.tile(["b", "a", "c"], n // 3), "g": np.repeat([3.0, 1.0, 2.0, 10.0], n // 4),
        "h": np.tile(["u", "v"], n // 2),
    })


def test_missing_column_lists_columns_and_suggests(frame):
    with pytest.raises(MissingColumnError) as info:
        design("y ~ xx + (1 | g)", frame)
    message = str(info.value)
    assert "'xx'" in message and "Did you mean 'x'" in message and "y, x, f, g, h" in message
    assert "position 4" in message
    assert isinstance(info.value, KeyError)


def test_missing_grouping_column(frame):
    with pytest.raises(MissingColumnError, match="'gg'.*Did you mean 'g'"):
        design("y ~ x + (1 | gg)", frame)


def test_text_response_is_refused(frame):
    with pytest.raises(DataError, match="response 'f' must be numeric"):
        design("f ~ x + (1 | g)", frame)


def test_rows_with_missing_values_are_dropped_and_counted(frame):
    frame.loc[[2, 5], "x"] = np.nan
    frame.loc[7, "f"] = None  # an unused column does not count
    d = design("y ~ x + (1 | g)", frame)
    assert d.frame.n_dropped == 2 and len(d.y) == 22
    np.testing.assert_array_equal(d.frame.rows, np.delete(np.arange(24), [2, 5]))


def test_na_action_raise(frame):
    frame.loc[3, "y"] = np.nan
    with pytest.raises(DataError, match=r"1 row\(s\) have missing values.*row 3"):
        design("y ~ x + (1 | g)", frame, na_action="raise")


def test_numeric_grouping_levels_sort_numerically_and_print_as_integers(frame):
    codes, labels = grouping_codes(frame, ("g",))
    assert labels == ["1", "2", "3", "10"]
    assert labels[codes[0]] == "3"


def test_categorical_grouping_keeps_category_order_and_drops_unused(frame):
    frame["f"] = pd.Categorical(frame["f"], categories=["c", "b", "a", "unused"])
    codes, labels = grouping_codes(frame, ("f",))
    assert labels == ["c", "b", "a"]
    assert [labels[c] for c in codes[:3]] == ["b", "a", "c"]


def test_interaction_grouping_labels(frame):
    codes, labels = grouping_codes(frame, ("h", "f"))
    assert labels == ["u:a", "u:b", "u:c", "v:a", "v:b", "v:c"]
    assert labels[codes[0]] == "u:b"


def test_fixed_effect_names_and_treatment_contrasts(frame):
    d = design("y ~ x * f + (1 | g)", frame)
    assert d.fixed.names == ["intercept", "x", "f_lvl_b", "f_lvl_c", "x:f_lvl_b", "x:f_lvl_c"]


def test_random_terms_sorted_by_levels_and_amalgamated(frame):
    d = design("y ~ x + (1 | h) + (1 | g) + (0 + x | g)", frame)
    assert [r.group for r in d.random] == ["g", "h"]
    g = d.random[0]
    assert g.columns == ["intercept", "x"] and g.covariance.is_diagonal


def test_diag_factor_term_has_one_variance_per_column(frame):
    d = design("y ~ x + diag(f | g)", frame)
    term = d.random[0]
    assert term.columns == ["intercept", "f_lvl_b", "f_lvl_c"]
    assert term.covariance.is_diagonal and term.covariance.n_theta == 3


def test_double_bar_splits_by_terms_and_keeps_a_factor_block(frame):
    # lme4: (x + f || g) is (1 | g) + (0 + x | g) + (0 + f | g)
    d = design("y ~ x + (x + f || g)", frame)
    term = d.random[0]
    assert term.columns == ["intercept", "x", "f_lvl_a", "f_lvl_b", "f_lvl_c"]
    assert term.covariance.n_theta == 1 + 1 + 6 and not term.covariance.is_diagonal
    assert [p.block_sizes for p in term.parts] == [[1, 1, 3]]
    separate = design("y ~ x + (1 | g) + (0 + x | g) + (0 + f | g)", frame).random[0]
    assert separate.columns == term.columns
    np.testing.assert_array_equal(separate.z, term.z)
    np.testing.assert_array_equal(separate.covariance.lam(np.arange(1.0, 9.0)),
                                  term.covariance.lam(np.arange(1.0, 9.0)))


def test_rank_deficient_columns_dropped_with_warning(frame):
    frame["x2"] = 2 * frame["x"]
    with pytest.warns(RankDeficiencyWarning, match=r"\['x2'\]"):
        d = design("y ~ x + x2 + (1 | g)", frame)
    assert d.fixed.names == ["intercept", "x"] and d.fixed.dropped == ["x2"]


def test_independent_columns_keeps_earlier_columns():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 30))
    x = np.column_stack([np.ones(30), a, b, a + b, np.zeros(30), 3 * b + 1])
    assert independent_columns(x) == [0, 1, 2]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), free=st.integers(1, 4),
       noise=st.lists(st.sampled_from([0.0, 1e-12, 1e-9, 3e-8, 1e-7, 3e-7, 1e-5, 1e-2, 1.0]),
                      min_size=0, max_size=4))
def test_independent_columns_agree_with_the_sequential_test(seed, n, free, noise):
    # one QR decides only when it agrees with the column-by-column test
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, free)) * 10.0 ** rng.integers(-3, 4, size=free)
    mixed = [base @ rng.normal(size=free) + level * rng.normal(size=n) for level in noise]
    x = np.column_stack([np.ones(n), base, *mixed])
    assert independent_columns(x) == sequential_columns(x)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), free=st.integers(1, 4),
       noise=st.lists(st.sampled_from([0.0, 1e-9, 1e-7, 1e-5, 1e-3, 1e-2, 3e-2, 1.0]),
                      min_size=0, max_size=4))
def test_many_rows_agree_with_the_sequential_test_through_the_gram_matrix(seed, free, noise):
    # from GRAM_ROWS rows a clearly conditioned X passes on its Gram matrix's pivots
    rng = np.random.default_rng(seed)
    n = GRAM_ROWS
    base = rng.normal(size=(n, free)) * 10.0 ** rng.integers(-3, 4, size=free)
    mixed = [base @ rng.normal(size=free) + level * rng.normal(size=n) for level in noise]
    x = np.column_stack([np.ones(n), base, *mixed])
    assert independent_columns(x) == sequential_columns(x)


@pytest.mark.parametrize("n", [12, 2000, GRAM_ROWS])
def test_independent_columns_on_square_and_tall_matrices(n):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(2, n))
    x = np.column_stack([np.ones(n), a, b, a + b, np.zeros(n), 3 * b + 1,
                         b + 1e-9 * rng.normal(size=n), b + 1e-3 * rng.normal(size=n)])
    assert independent_columns(x) == [0, 1, 2, 7]


@pytest.mark.parametrize("response, offset, exact", [
    ("3.0", None, True),
    ("2 * x - 1", None, True),
    ("2 * x - 1 + 1e-12 * y", None, True),
    ("2 * x - 1 + 1e-3 * y", None, False),
    ("x + w", "w", True),   # exact once the offset is taken off
    ("x + w", None, False),
    ("y", None, False),
])
def test_a_response_the_fixed_effects_reproduce_is_refused(frame, response, offset, exact):
    data = frame.assign(w=np.linspace(0.0, 1.0, len(frame)))
    data = data.assign(r=data.eval(response) if response != "3.0" else 3.0)
    if exact:
        with pytest.raises(DataError, match="fit it exactly"):
            design("r ~ x + (1 | g)", data, offset=offset)
    else:
        d = design("r ~ x + (1 | g)", data, offset=offset)
        assert d.fixed.reproduces_target is False


def test_polars_input_gives_the_same_design(frame):
    pl = pytest.importorskip("polars")
    d_pandas = design("y ~ x + f + (x | g)", frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d_polars = design("y ~ x + f + (x | g)", pl.from_pandas(frame))
    np.testing.assert_array_equal(d_pandas.fixed.matrix, d_polars.fixed.matrix)
    np.testing.assert_array_equal(d_pandas.random[0].z, d_polars.random[0].z)
    assert d_pandas.random[0].levels == d_polars.random[0].levels


def test_weights_and_offset_by_name_or_array(frame):
    frame["w"] = np.linspace(1, 2, 24)
    by_name = design("y ~ x + (1 | g)", frame, weights="w", offset="x")
    by_array = design("y ~ x + (1 | g)", frame, weights=frame["w"].to_numpy(),
                      offset=frame["x"].to_numpy())
    np.testing.assert_array_equal(by_name.weights, by_array.weights)
    np.testing.assert_array_equal(by_name.offset, by_array.offset)


def test_wrong_length_weights(frame):
    with pytest.raises(DataError, match="weights has 3 values but the data has 24 rows"):
        design("y ~ x + (1 | g)", frame, weights=[1, 2, 3])


def test_data_must_be_a_frame():
    with pytest.raises(TypeError, match="data must be a data frame"):
        design("y ~ x + (1 | g)", {"y": [1, 2]})


MISSING_KINDS = {
    "float": pd.Series([1.0, np.nan, 3.0, 4.0]),
    "int": pd.Series([1, 2, 3, 4]),
    "bool": pd.Series([True, False, True, False]),
    "object": pd.Series(["a", None, "b", np.nan], dtype=object),
    "string": pd.Series(["a", "b", pd.NA, "c"], dtype="string"),
    "categorical": pd.Series(pd.Categorical(["a", np.nan, "b", "a"])),
    "datetime": pd.Series(pd.to_datetime(["2020-01-01", None, "2020-01-03", "2020-01-04"])),
    "nullable int": pd.Series([1, pd.NA, 3, pd.NA], dtype="Int64"),
}


@pytest.mark.parametrize("kind", list(MISSING_KINDS))
def test_complete_rows_agree_with_pandas_isna(kind):
    from mixed_models.design.frame import complete_rows

    column = MISSING_KINDS[kind]
    expected = ~column.isna().to_numpy()
    np.testing.assert_array_equal(complete_rows([column], len(column)), expected)


@pytest.mark.parametrize("values", [[30, 2, -5, 2, 30], np.array([7, 3, 7], dtype=np.uint8)])
def test_integer_grouping_levels_are_sorted_numbers(values):
    frame = pd.DataFrame({"g": values})
    codes, labels = grouping_codes(frame, ("g",))
    expected_codes, uniques = pd.factorize(frame["g"], sort=True)
    assert labels == [str(v) for v in uniques]
    np.testing.assert_array_equal(codes, expected_codes)


def test_selected_rows_of_an_indexed_frame_get_a_fresh_index():
    frame = pd.DataFrame({"y": [1.0, 2.0, np.nan, 4.0, 5.0, 7.0], "x": [1.0, 3, 2, 5, 4, 6],
                          "g": ["a", "b", "a", "b", "a", "b"], "other": range(6)},
                         index=[10, 11, 12, 13, 14, 15])
    design = build_design(parse_formula("y ~ x + (1 | g)"), frame)
    assert list(design.frame.data.index) == [0, 1, 2, 3, 4]
    assert list(design.frame.data.columns) == ["y", "x", "g"]
    np.testing.assert_array_equal(design.frame.rows, [0, 1, 3, 4, 5])
    assert list(frame.index) == [10, 11, 12, 13, 14, 15]  # the user's frame is untouched
