"""The argument checks of mixed_models._validate: what each accepts and refuses."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models import _validate, errors


@pytest.mark.parametrize("value", [True, False, np.True_, np.bool_(False)])
def test_booleans_are_accepted_as_python_bools(value):
    result = _validate.check_bool("reml", value)
    assert result is bool(value)


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None, 0.0, [True]])
def test_anything_else_is_not_a_boolean(value):
    with pytest.raises(errors.DataTypeError, match="reml must be True or False"):
        _validate.check_bool("reml", value)


@pytest.mark.parametrize("seed", [None, 0, 7, np.int64(3), [1, 2], (3,), np.array([4, 5]),
                                  np.random.SeedSequence(1)])
def test_reproducible_seeds_are_accepted(seed):
    assert _validate.check_seed(seed) is seed


@pytest.mark.parametrize("seed", ["abc", -1, 1.5, True, [], [1, -2], [1.0], b"x",
                                  np.random.default_rng(1)])
def test_other_seeds_are_refused(seed):
    with pytest.raises(errors.InvalidArgumentError, match="seed must be"):
        _validate.check_seed(seed)


def test_generators_are_seeds_where_allowed():
    rng = np.random.default_rng(1)
    assert _validate.check_seed(rng, generators=True) is rng


@pytest.mark.parametrize("value", [0.5, 0.95, np.float64(0.9), 1e-9])
def test_levels_inside_the_unit_interval(value):
    assert _validate.check_level(value) == pytest.approx(float(value))


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, float("nan"), "0.95", True, None])
def test_levels_outside_or_not_numbers(value):
    with pytest.raises(errors.InvalidArgumentError, match="level must be a number between"):
        _validate.check_level(value)


@pytest.mark.parametrize("value", [1, 10, np.int32(3)])
def test_positive_ints(value):
    assert _validate.check_positive_int("nsim", value) == int(value)


@pytest.mark.parametrize("value", [0, -1, 2.0, "3", True, None])
def test_not_positive_ints(value):
    with pytest.raises(errors.InvalidArgumentError, match="nsim must be a positive whole"):
        _validate.check_positive_int("nsim", value)


def test_callables_and_names():
    assert _validate.check_callable("f", len, "x -> y") is len
    assert _validate.check_callable("f", None, "x -> y") is None
    with pytest.raises(errors.DataTypeError, match="f must be a function x -> y or None, got 3"):
        _validate.check_callable("f", 3, "x -> y")
    assert _validate.check_grouping(("a", "b")) == ("a", "b")
    for value in (["a"], (), ("a", 1), 2):
        with pytest.raises(errors.DataTypeError, match="grouping must be"):
            _validate.check_grouping(value)


def test_long_values_are_cut_in_messages():
    assert len(_validate.shown("x" * 500)) == 80
