"""Binomial responses: every form lme4 accepts, what each becomes, and what is refused."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models.design import build_design
from mixed_models.design.fast import FastSpec
from mixed_models.errors import DataError, DataWarning, ModelError
from mixed_models.formula import parse_formula

CBPP = Path(__file__).parents[1] / "data" / "reference_glmm" / "data" / "cbpp.csv"
CBIND = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def design(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # a case that warns says so
        return build_design(parse_formula(formula), data, **kwargs)


@pytest.fixture(scope="module")
def cbpp():
    return pd.read_csv(CBPP, dtype={"herd": str, "period": str})


def small(y):
    """Eight rows in four groups with the response ``y``."""
    return pd.DataFrame({"y": y, "x": [0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 1.0, -2.0],
                         "g": list("aabbccdd")})


ZERO_ONE = [0, 1, 1, 0, 1, 0, 0, 1]
CASES = {
    # name: (formula, response values, weights, y, kind, levels)
    "0/1 numbers": ("y ~ x + (1 | g)", ZERO_ONE, None, ZERO_ONE, "numeric", None),
    "booleans": ("y ~ x + (1 | g)", np.array(ZERO_ONE, dtype=bool), None, ZERO_ONE,
                 "logical", None),
    "nullable booleans": ("y ~ x + (1 | g)", pd.array(np.array(ZERO_ONE, dtype=bool),
                                                      dtype="boolean"), None, ZERO_ONE,
                          "logical", None),
    "text, sorted: first is failure": ("y ~ x + (1 | g)",
                                       ["no", "yes", "yes", "no", "yes", "no", "no", "yes"],
                                       None, ZERO_ONE, "factor", ("no", "yes")),
    "categorical: first category is failure": (
        "y ~ x + (1 | g)", pd.Categorical(list("YNNYNYYN"), categories=["Y", "N"]), None,
        ZERO_ONE, "factor", ("Y", "N")),
    "proportion with weights": ("y ~ x + (1 | g)", [0.25, 0.5, 1, 0, 0.75, 0.5, 0, 1],
                                [4, 2, 3, 5, 4, 2, 1, 1], [0.25, 0.5, 1, 0, 0.75, 0.5, 0, 1],
                                "numeric", None),
    "a comparison": ("I(y > 2) ~ x + (1 | g)", [1, 3, 4, 0, 5, 2, 1, 3], None, ZERO_ONE,
                     "numeric", None),
}


@pytest.mark.parametrize("case", CASES)
def test_accepted_responses(case):
    formula, values, weights, y, kind, levels = CASES[case]
    d = design(formula, small(values), weights=weights, binomial=True)
    np.testing.assert_array_equal(d.y, np.asarray(y, dtype=float))
    assert d.response_kind == kind and d.response_levels == levels and d.trials is None
    expected = None if weights is None else np.asarray(weights, dtype=float)
    np.testing.assert_array_equal(d.weights, expected)


def test_cbind_is_proportions_weighted_by_trials(cbpp):
    d = design(CBIND, cbpp, binomial=True)
    assert d.response_kind == "cbind" and len(d.y) == len(cbpp) == 56
    np.testing.assert_allclose(d.y, cbpp.incidence / cbpp["size"], rtol=1e-15)
    np.testing.assert_array_equal(d.trials, cbpp["size"])
    np.testing.assert_array_equal(d.weights, cbpp["size"])
    assert d.prior_weights is None
    assert d.fixed.names == ["intercept", "period_lvl_2", "period_lvl_3", "period_lvl_4"]
    assert [r.n_levels for r in d.random] == [15]


@pytest.mark.parametrize("prior", [None, "w"])
def test_cbind_equals_proportion_with_weights_exactly(cbpp, prior):
    data = cbpp.assign(w=np.linspace(0.5, 2.0, len(cbpp)))
    by_counts = design(CBIND, data, weights=prior, binomial=True)
    trials = data["size"] * (1.0 if prior is None else data["w"])
    # the proportion spelling: numbers of successes that are not whole numbers warn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        by_share = build_design(parse_formula("I(incidence / size) ~ period + (1 | herd)"),
                                data, weights=trials.to_numpy(), binomial=True)
    np.testing.assert_array_equal(by_counts.y, by_share.y)
    np.testing.assert_array_equal(by_counts.weights, by_share.weights)
    np.testing.assert_array_equal(by_counts.fixed.matrix, by_share.fixed.matrix)
    if prior is not None:
        np.testing.assert_array_equal(by_counts.prior_weights, data["w"])


def test_rows_missing_in_a_cbind_argument_are_dropped(cbpp):
    data = cbpp.astype({"incidence": float, "size": float})
    data.loc[[3, 7], "incidence"] = np.nan
    data.loc[10, "size"] = np.nan
    d = design(CBIND, data, binomial=True)
    kept = np.delete(np.arange(len(cbpp)), [3, 7, 10])
    np.testing.assert_array_equal(d.frame.rows, kept)
    assert d.frame.n_dropped == 3
    np.testing.assert_array_equal(d.trials, cbpp["size"].to_numpy()[kept])
    with pytest.raises(DataError, match="missing values"):
        design(CBIND, data, binomial=True, na_action="raise")


def test_binomial_designs_keep_the_fast_path_for_their_matrices(cbpp):
    fast = design(CBIND, cbpp, binomial=True)
    slow = design(CBIND, cbpp, binomial=True, fast=False)
    assert isinstance(fast.fixed.spec, FastSpec) and not isinstance(slow.fixed.spec, FastSpec)
    np.testing.assert_array_equal(fast.fixed.matrix, slow.fixed.matrix)
    np.testing.assert_array_equal(fast.y, slow.y)
    np.testing.assert_array_equal(fast.weights, slow.weights)


def test_a_linear_model_is_unchanged():
    data = small([0.3, 1.2, -0.4, 2.2, 0.1, 0.9, 1.7, -1.1])
    d = design("y ~ x + (1 | g)", data, weights=np.arange(1.0, 9.0))
    assert d.response_kind == "numeric" and d.trials is None and d.response_levels is None
    assert d.weights is d.frame.weights and d.prior_weights is d.frame.weights
    assert isinstance(d.fixed.spec, FastSpec)


ERRORS = {
    # name: (formula, response values, weights, error, pattern)
    "three levels": ("y ~ x + (1 | g)", list("abcabcab"), None, DataError,
                     r"has 3 level\(s\) \('a', 'b', 'c'\).*exactly two levels"),
    "one level": ("y ~ x + (1 | g)", ["a"] * 8, None, DataError, r"1 level\(s\) \('a'\)"),
    "2 without cbind": ("y ~ x + (1 | g)", [0, 1, 2, 0, 1, 0, 2, 1], None, DataError,
                        r"2 value\(s\) outside \[0, 1\] \(2; first at row 2\).*"
                        r"cbind\(y, n - y\)"),
    "negative proportion": ("y ~ x + (1 | g)", [0, 1, -0.5, 0, 1, 0, 1, 1], None, DataError,
                            r"outside \[0, 1\] \(-0.5; first at row 2\)"),
    "all failures": ("y ~ x + (1 | g)", [0] * 8, None, DataError, "all failures"),
    "all successes": ("y ~ x + (1 | g)", [True] * 8, None, DataError, "all successes"),
    "dates": ("y ~ x + (1 | g)", pd.date_range("2020-01-01", periods=8), None, DataError,
              "holds date-times.*a binomial response is"),
    "a two-column expression": ("C(y) ~ x + (1 | g)", list("ababcbab"), None, DataError,
                                "gives 3 columns"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_refused_responses(case):
    formula, values, weights, error, pattern = ERRORS[case]
    with pytest.raises(error, match=pattern):
        design(formula, small(values), weights=weights, binomial=True)


COUNT_ERRORS = {
    # name: (formula, change to cbpp, pattern)
    "negative successes": (CBIND, {"incidence": (4, -1)},
                           r"successes 'incidence' of cbind\(\) are -1 at row 4"),
    "negative failures": (CBIND, {"size": (5, 0)},
                          r"failures 'size - incidence' of cbind\(\) are -\d+ at row 5"),
    "no trials": (CBIND, {"incidence": (6, 0), "size": (6, 0)},
                  r"1 row\(s\) have no trials .* rows 6\. Such rows"),
    "infinite count": ("cbind(incidence, log(size - incidence)) ~ period + (1 | herd)",
                       {"size": (2, 4)}, "not finite"),
}


@pytest.mark.parametrize("case", COUNT_ERRORS)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_refused_counts(cbpp, case):
    formula, changes, pattern = COUNT_ERRORS[case]
    data = cbpp.copy()
    for column, (row, value) in changes.items():
        data.loc[row, column] = value
    with pytest.raises(DataError, match=pattern):
        design(formula, data, binomial=True)


WARNINGS = {
    # name: (formula, response values, weights, pattern)
    "proportions without weights": ("y ~ x + (1 | g)", [0.5, 1, 0, 0, 1, 0.25, 0, 1], None,
                                    r"successes \(response x weights\).*2 row\(s\) \(first "
                                    r"0.5 at row 0\)"),
    "proportions times weights": ("y ~ x + (1 | g)", [0.5, 1, 0, 0, 1, 0.5, 0, 1],
                                  [2, 1, 1, 1, 1, 3, 1, 1], r"1 row\(s\) \(first 1.5 at row 5"),
}


@pytest.mark.parametrize("case", WARNINGS)
def test_fractional_successes_warn(case):
    formula, values, weights, pattern = WARNINGS[case]
    with pytest.warns(DataWarning, match=pattern):
        build_design(parse_formula(formula), small(values), weights=weights, binomial=True)


def test_fractional_cbind_counts_warn(cbpp):
    data = cbpp.astype({"incidence": float})
    data.loc[1, "incidence"] = 2.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_design(parse_formula(CBIND), data, binomial=True)
    assert len(caught) == 1 and caught[0].category is DataWarning
    assert "successes or failures of cbind(incidence, size - incidence) are not whole " \
        "numbers in 1 row(s) (first 2.5 at row 1)" in str(caught[0].message)


def test_cbind_in_a_linear_model_is_refused(cbpp):
    with pytest.raises(ModelError, match="only a binomial GLMM can fit"):
        design(CBIND, cbpp)


def test_cbind_arguments_are_arithmetic(cbpp):
    data = cbpp.assign(**{"n trials": cbpp["size"]})
    d = design('cbind(incidence, Q("n trials") - incidence) ~ period + (1 | herd)', data,
               binomial=True)
    np.testing.assert_array_equal(d.trials, cbpp["size"])
