"""The formula language as R has it: ^ is a power inside I(), %in%, offset(), names that
look like functions, backticked and dotted names, transforms of otherwise unused columns,
and parsing in linear time."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.errors import FormulaError
from mixed_models.formula import parse_formula

SLEEP = datasets.load("sleepstudy")


def _fit(formula, data, **kwargs):
    return LMM.from_formula(formula, data, **kwargs)


def test_caret_inside_i_is_a_power_as_in_r():
    caret = _fit("Reaction ~ Days + I(Days^2) + (Days | Subject)", SLEEP)
    power = _fit("Reaction ~ Days + I(Days**2) + (Days | Subject)", SLEEP)
    assert np.allclose(list(caret.fix_ef.values()), list(power.fix_ef.values()), rtol=1e-6)
    assert list(caret.fix_ef.values())[2] == pytest.approx(0.337, abs=5e-4)


def test_caret_outside_calls_crosses_terms():
    data = SLEEP.assign(D2=SLEEP["Days"] % 3, D3=SLEEP["Days"] % 4)
    crossed = _fit("Reaction ~ (Days + D2)^2 + (1 | Subject)", data)
    spelled = _fit("Reaction ~ Days + D2 + Days:D2 + (1 | Subject)", data)
    assert list(crossed.fix_ef) == list(spelled.fix_ef)
    assert np.allclose(list(crossed.fix_ef.values()), list(spelled.fix_ef.values()), rtol=1e-6)


def _frame():
    rng = np.random.default_rng(3)
    n = 90
    return pd.DataFrame({
        "y": rng.normal(size=n), "dose": rng.uniform(1, 3, n), "x": rng.normal(size=n),
        "f": np.tile(["a", "b", "c"], n // 3), "g": np.repeat(np.arange(9), n // 9),
    })


def test_in_operator_fits_the_interaction_only():
    data = _fit("y ~ x %in% f + (1 | g)", _frame())
    colon = _fit("y ~ x:f + (1 | g)", _frame())
    assert list(data.fix_ef) == ["intercept", "x:f_lvl_a", "x:f_lvl_b", "x:f_lvl_c"]
    assert np.allclose(list(data.fix_ef.values()), list(colon.fix_ef.values()), rtol=1e-6)


def test_offset_term_equals_the_offset_argument_and_they_add_up():
    term = _fit("Reaction ~ Days + offset(Days) + (Days | Subject)", SLEEP)
    argument = _fit("Reaction ~ Days + (Days | Subject)", SLEEP, offset="Days")
    assert np.allclose(list(term.fix_ef.values()), list(argument.fix_ef.values()), rtol=1e-6)
    assert term.deviance == pytest.approx(argument.deviance, rel=1e-8)
    both = _fit("Reaction ~ Days + offset(Days) + (Days | Subject)", SLEEP, offset="Days")
    twice = _fit("Reaction ~ Days + offset(2 * Days) + (Days | Subject)", SLEEP)
    assert both.deviance == pytest.approx(twice.deviance, rel=1e-8)
    slope = list(_fit("Reaction ~ Days + (Days | Subject)", SLEEP).fix_ef.values())[1]
    assert list(twice.fix_ef.values())[1] == pytest.approx(slope - 2, abs=1e-4)


def test_offset_of_a_transform():
    data = SLEEP.assign(exposure=SLEEP["Days"] + 1.0)
    term = _fit("Reaction ~ Days + offset(log(exposure)) + (1 | Subject)", data)
    argument = _fit("Reaction ~ Days + (1 | Subject)", data, offset=np.log(data["exposure"]))
    assert term.deviance == pytest.approx(argument.deviance, rel=1e-8)


def test_prediction_evaluates_offset_terms_on_the_new_rows():
    data = SLEEP.assign(exposure=SLEEP["Days"] + 1.0)
    model = _fit("Reaction ~ Days + offset(log(exposure)) + (1 | Subject)", data)
    assert np.allclose(model.predict(data.head(5)), model.fitted()[:5], rtol=1e-8)
    both = _fit("Reaction ~ Days + offset(log(exposure)) + (1 | Subject)", data, offset="Days")
    assert np.allclose(both.predict(data.head(5), offset="Days"), both.fitted()[:5], rtol=1e-8)


NAMES = ["Treatment", "C", "Q", "I", "Sum", "Poly", "scale", "log", "np", "Intercept",
         "lambda", "Sleep.Days", "a b"]


@pytest.mark.parametrize("name", NAMES)
def test_a_column_named_like_a_function_is_that_column(name):
    data = _frame().assign(**{name: _frame()["x"]})
    quoted = f"`{name}`"
    model = _fit(f"y ~ log(dose) + {quoted} + (1 | g)", data)
    plain = _fit("y ~ log(dose) + x + (1 | g)", _frame())
    assert list(model.fix_ef) == ["intercept", "log(dose)", name]
    assert np.allclose(list(model.fix_ef.values()), list(plain.fix_ef.values()), rtol=1e-6)


def test_function_names_stay_functions_next_to_such_columns():
    data = _frame().assign(Treatment=_frame()["f"], log=_frame()["x"])
    model = _fit("y ~ log(dose) * Treatment + log + (1 | g)", data)
    assert "log(dose):Treatment_lvl_b" in model.fix_ef and "log" in model.fix_ef


def test_intercept_column_is_not_the_intercept():
    data = _frame().assign(Intercept=_frame()["x"])
    model = _fit("y ~ Intercept + (1 | g)", data)
    assert list(model.fix_ef) == ["intercept", "Intercept"]
    slope = _fit("y ~ 1 + (Intercept | g)", data)
    assert slope.record.structure.design.random[0].columns == ["intercept", "Intercept"]


@pytest.mark.parametrize("transform", ["scale(x)", "center(x)", "poly(x, 2)", "bs(x, df=4)",
                                       "cr(x, df=4)", "scale(x, center=FALSE)"])
def test_transforms_of_columns_named_nowhere_else(transform):
    model = _fit(f"y ~ {transform} + (1 | g)", _frame())
    assert len(model.fix_ef) >= 2


def test_dotted_names_in_every_part():
    data = SLEEP.rename(columns={"Days": "Sleep.Days", "Subject": "Sub.ject"})
    plain = _fit("Reaction ~ Days + (Days | Subject)", SLEEP)
    for formula in ["Reaction ~ `Sleep.Days` + (`Sleep.Days` | `Sub.ject`)",
                    "Reaction ~ Sleep.Days + (Sleep.Days | Sub.ject)"]:
        model = _fit(formula, data)
        assert list(model.fix_ef) == ["intercept", "Sleep.Days"]
        assert np.allclose(list(model.fix_ef.values()), list(plain.fix_ef.values()), rtol=1e-6)


def test_prediction_on_new_data_with_renamed_columns():
    data = SLEEP.rename(columns={"Days": "Sleep.Days"})
    model = _fit("Reaction ~ log1p(`Sleep.Days`) + (1 | Subject)", data)
    assert np.allclose(model.predict(data.head(5)), model.fitted()[:5], rtol=1e-8)
    again = pickle.loads(pickle.dumps(model))  # bootstrap workers receive pickled models
    assert np.allclose(again.predict(data.head(5)), model.fitted()[:5], rtol=1e-8)


class Counting(str):
    """A string that counts the characters copied out of it by slicing."""

    copied = 0

    def __getitem__(self, key):
        piece = str.__getitem__(self, key)
        if isinstance(key, slice):
            Counting.copied += len(piece)
        return Counting(piece)


@pytest.mark.parametrize("term", ["(1 | g)", "x", "offset(x)", "log(x)"])
def test_parsing_copies_a_linear_number_of_characters(term):
    copied = []
    for n in (500, 2000):
        formula = "y ~ x + " + " + ".join([term] * n) + " + (1 | g)"
        Counting.copied = 0
        parse_formula(Counting(formula))
        copied.append(Counting.copied / len(formula))
    # characters copied per character of the formula stay bounded as it grows 4x
    assert copied[1] < 1.5 * copied[0] + 2


def test_anova_of_a_model_with_renamed_columns():
    data = _frame().assign(Treatment=_frame()["f"], **{"Sleep.Days": _frame()["x"]})
    renamed = _fit("y ~ Sleep.Days * Treatment + (1 | g)", data).anova()
    plain = _fit("y ~ x * f + (1 | g)", _frame()).anova()
    assert np.allclose(np.asarray(renamed, dtype=float), np.asarray(plain, dtype=float),
                       rtol=1e-6, equal_nan=True)


def test_integer_columns_do_not_wrap_around():
    model = _fit("Reaction ~ I(Days^20) + (1 | Subject)", SLEEP)
    as_float = SLEEP.assign(Days=SLEEP["Days"].astype(float))
    expected = _fit("Reaction ~ I(Days^20) + (1 | Subject)", as_float)
    assert SLEEP["Days"].dtype.kind == "i"
    assert np.allclose(model.record.structure.design.fixed.matrix[:, 1], as_float["Days"] ** 20)
    assert np.allclose(list(model.fix_ef.values()), list(expected.fix_ef.values()), rtol=1e-6)


@pytest.mark.parametrize("power", ["I(9^9^9)", "I(x + 2^100000)", "I(x * 10**(3**40))"])
def test_powers_of_numbers_alone_are_bounded(power):
    with pytest.raises(FormulaError, match="power of numbers"):
        parse_formula(f"y ~ {power} + (1 | g)")
