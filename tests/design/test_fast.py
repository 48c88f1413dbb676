"""The design's fast path gives exactly the matrices, names and order formulaic gives."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from mixed_models.design import build_design
from mixed_models.design.fast import FastSpec
from mixed_models.errors import DataError
from mixed_models.formula import parse_formula


def _frame(seed: int = 1, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "y": rng.normal(size=n),
        "iy": rng.integers(0, 50, size=n),               # an integer response
        "x": rng.normal(size=n),
        "k": rng.integers(-3, 9, size=n),                # integers become floats
        "z": rng.uniform(1, 2, size=n).astype(np.float32),
        "f": rng.choice(["b", "a", "c"], size=n),         # text: levels sorted
        "h": pd.Categorical(rng.choice(["lo", "mid", "hi"], size=n),
                            categories=["mid", "unused", "lo", "hi"]),  # order kept, unused dropped
        "s": rng.choice(["p", "q"], size=n),
        "g": rng.choice([f"G{i}" for i in range(8)], size=n),
        "gi": rng.integers(1, 6, size=n),                 # numeric grouping
        "b": rng.choice([True, False], size=n),
        "one": ["only"] * n,                              # a factor of one level
    })
    frame.loc[[3, n - 2], "x"] = np.nan                  # incomplete rows are dropped
    frame.loc[[5], "f"] = None
    return frame


FAST = [
    "y ~ x + (1 | g)",
    "y ~ 1 + x + (x | g)",
    "y ~ x + f + (1 | g)",
    "y ~ f + x + (1 + x | g)",
    "y ~ 0 + f + (1 | g)",
    "y ~ 0 + x + f + h + (1 | g)",
    "y ~ x - 1 + h + (1 | g)",
    "y ~ h + f + (0 + x | g)",
    "y ~ x + k + z + (k || g)",
    "y ~ x:z + f + x + (1 | g)",
    "y ~ z:x + x + k:x:z + (1 | g) + (1 | gi)",
    "y ~ 1 + (1 | g)",
    "iy ~ k + (1 | gi) + (0 + x | gi)",
    "y ~ x + (1 | g:s) + (1 | gi)",
    "y ~ x + (x + k || g)",
    "y ~ x + (0 + x + k || g)",
    "y ~ x + (1 + f | g)",
    "y ~ x + (0 + f | g)",
    "y ~ x + (f || g)",
    "y ~ x + diag(1 + x | g)",
    "y ~ x + (1 | g/s)",
    "z ~ x + (1 | g)",
    "y ~ x + one + (1 | g)",
    "y ~ 0 + one + f + (1 | g)",
    "y ~ 0 + (1 | g)",
    "y ~ (1 | g)",
    "y ~ x + (1 | g) + (0 + k | g) + (1 | s)",
]

SLOW = [
    "y ~ x * f + (1 | g)",          # an interaction with a factor
    "y ~ x:f + (1 | g)",
    "y ~ log(z) + (1 | g)",          # a call
    "y ~ b + (1 | g)",               # booleans
    "y ~ x + (1 + b | g)",
    "log(z) ~ x + (1 | g)",
    "y ~ (x + k)^2 + (1 | g)",
    "y ~ x * k + (1 | g)",
    "y ~ C(k) + (1 | g)",
    "y ~ x + x + (1 | g)",
]


def _both(formula: str, data: pd.DataFrame):
    parsed = parse_formula(formula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (build_design(parsed, data, fast=True), build_design(parsed, data, fast=False))


def _assert_same(fast, slow) -> None:
    np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.y.dtype == slow.y.dtype
    np.testing.assert_array_equal(fast.fixed.matrix, slow.fixed.matrix)
    assert fast.fixed.names == slow.fixed.names
    assert fast.fixed.dropped == slow.fixed.dropped
    np.testing.assert_array_equal(fast.fixed.kept, slow.fixed.kept)
    assert fast.fixed.empty == slow.fixed.empty
    assert fast.fixed.spec.column_names == slow.fixed.spec.column_names
    assert len(fast.random) == len(slow.random)
    for a, b in zip(fast.random, slow.random):
        assert (a.group, a.grouping, a.levels, a.keys, a.columns) == \
            (b.group, b.grouping, b.levels, b.keys, b.columns)
        np.testing.assert_array_equal(a.codes, b.codes)
        np.testing.assert_array_equal(a.z, b.z)
        assert a.z.dtype == b.z.dtype
        assert a.covariance.n_theta == b.covariance.n_theta
        np.testing.assert_array_equal(a.covariance.initial(), b.covariance.initial())
        assert [p.block_sizes for p in a.parts] == [p.block_sizes for p in b.parts]
        assert [p.columns for p in a.parts] == [p.columns for p in b.parts]
        assert [[str(t) for t in p.spec.terms] for p in a.parts] == \
            [[str(t) for t in p.spec.terms] for p in b.parts]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("formula", FAST)
def test_fast_path_matches_formulaic(formula, seed):
    fast, slow = _both(formula, _frame(seed))
    assert isinstance(fast.fixed.spec, FastSpec)
    assert all(isinstance(p.spec, FastSpec) for r in fast.random for p in r.parts)
    _assert_same(fast, slow)


@pytest.mark.parametrize("formula", SLOW)
def test_other_formulas_are_left_to_formulaic(formula):
    fast, slow = _both(formula, _frame())
    assert not isinstance(fast.fixed.spec, FastSpec)
    _assert_same(fast, slow)


@pytest.mark.parametrize("formula", FAST[:12])
def test_new_data_is_answered_as_by_formulaic(formula):
    data = _frame(1)
    fast, slow = _both(formula, data)
    new = _frame(7, n=15).dropna()
    new = new[new["f"].isin(data["f"].dropna().unique())]
    np.testing.assert_array_equal(fast.fixed.for_data(new), slow.fixed.for_data(new))
    for a, b in zip(fast.random, slow.random):
        np.testing.assert_array_equal(a.z_for_data(new), b.z_for_data(new))
        np.testing.assert_array_equal(a.codes_for_data(new), b.codes_for_data(new))


def test_term_wise_spec_questions_match_formulaic():
    fast, slow = _both("y ~ x + f + h + (1 | g)", _frame())
    assert [str(t) for t in fast.fixed.spec.term_indices] == \
        [str(t) for t in slow.fixed.spec.term_indices]
    assert list(fast.fixed.spec.term_indices.values()) == \
        list(slow.fixed.spec.term_indices.values())
    block = fast.fixed.spec.matrix_of("0 + f", fast.frame.data)
    np.testing.assert_array_equal(np.asarray(block),
                                  np.asarray(slow.fixed.spec.matrix_of("0 + f", slow.frame.data)))


def test_an_unseen_level_in_new_data_is_refused_as_for_formulaic():
    from mixed_models.design.newdata import unseen_as_error
    fast, _ = _both("y ~ x + f + (1 | g)", _frame())
    new = _frame(3, n=6).dropna().assign(f="zzz")
    with pytest.raises(DataError, match="did not see"):
        unseen_as_error(fast.fixed.for_data, new)


def test_a_fast_design_pickles():
    fast, _ = _both("y ~ x + f + (x || g)", _frame())
    again = pickle.loads(pickle.dumps(fast))
    new = _frame(5, n=10).dropna()
    new = new[new["f"].isin(["a", "b", "c"])]
    np.testing.assert_array_equal(again.fixed.for_data(new), fast.fixed.for_data(new))
    np.testing.assert_array_equal(again.random[0].z_for_data(new), fast.random[0].z_for_data(new))


def test_sleepstudy_design_needs_no_formulaic():
    import subprocess
    import sys
    code = ("import sys\nfrom mixed_models import datasets\n"
            "from mixed_models.design import build_design\n"
            "from mixed_models.formula import parse_formula\n"
            "build_design(parse_formula('Reaction ~ Days + (Days | Subject)'), "
            "datasets.load('sleepstudy'))\nprint('formulaic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
