"""The lme4-specific part of the formula language, table-driven."""

from __future__ import annotations

import pytest

from mixed_models.errors import FormulaError
from mixed_models.formula import parse_formula

# formula -> (fixed part, [(expr, grouping, correlated)])
VALID = [
    ("Aggression ~ Age + Species + (Age | Location)", "Age + Species",
     [("Age", ("Location",), True)]),
    ("y ~ (1 | g)", "1", [("1", ("g",), True)]),
    ("y ~ 1 + (1 | g)", "1", [("1", ("g",), True)]),
    ("y ~ 0 + (1 | g)", "0", [("1", ("g",), True)]),
    ("y ~ x + (1 | g) - 1", "x - 1", [("1", ("g",), True)]),
    ("y ~ (x || g) + x", "x", [("x", ("g",), False)]),
    ("y ~ x + (1 | a:b)", "x", [("1", ("a", "b"), True)]),
    ("y ~ x + (1 | a/b)", "x", [("1", ("a",), True), ("1", ("b", "a"), True)]),
    ("y ~ x + (x | a/b/c)", "x",
     [("x", ("a",), True), ("x", ("b", "a"), True), ("x", ("c", "b", "a"), True)]),
    ("y ~ x*z + (x | g) + (1 | h)", "x*z", [("x", ("g",), True), ("1", ("h",), True)]),
    ("y ~ (0 + a:b | gr)", "1", [("0 + a:b", ("gr",), True)]),
    ("log(y) ~ log(x) + (I(x**2) | g)", "log(x)", [("I(x**2)", ("g",), True)]),
    ("y~x+(1|g)", "x", [("1", ("g",), True)]),
    ("y ~ x + (1 | `my group`)", "x", [("1", ("my group",), True)]),
    ("y ~ (1|g) + (0 + x|g)", "1", [("1", ("g",), True), ("0 + x", ("g",), True)]),
]


@pytest.mark.parametrize("formula, fixed, random", VALID)
def test_valid_formulas(formula, fixed, random):
    parsed = parse_formula(formula)
    assert parsed.fixed_formula == fixed
    assert [(t.expr, t.grouping, t.correlated) for t in parsed.random] == random


def test_blanked_fixed_part_keeps_positions():
    formula = "y ~ x + (1 | g) + z"
    parsed = parse_formula(formula)
    start = parsed.fixed_offset
    assert formula[start + parsed.fixed.index("z")] == "z"
    assert len(parsed.fixed) == len(formula) - start


def test_expression_offsets_point_into_the_formula():
    formula = "y ~ x + (  log(z) | g)"
    term = parse_formula(formula).random[0]
    assert formula[term.expr_offset:].startswith("log(z)")
    assert formula[term.span[0]:term.span[1]] == "(  log(z) | g)"


# formula -> (message fragment, position or None)
INVALID = [
    ("y ~ x | g", "must be in parentheses", 6),
    ("y ~ x - (1|g)", "cannot be subtracted", 6),
    ("y ~ (|g)", "nothing left of the bar", 5),
    ("y ~ (1|g+h)", "grouping factor must be", 7),
    ("y ~ x", "no random-effects term", None),
    ("~ (1|g)", "no response", 0),
    ("y ~ (1|g", "unmatched '('", 4),
    ("y ~ (1|g))", "unmatched ')'", 9),
    ("y ~ x:(1|g)", "cannot be combined with ':'", 5),
    ("y ~ (1|g)*x", "cannot be combined with '*'", 9),
    ("y ~ (1|g|h)", "one bar", 8),
    ("y ~ (1|)", "grouping factor must be", 7),
    ("y (1|g)", "no '~'", None),
    ("y ~ x ~ (1|g)", "more than one '~'", 6),
    ("y ~ x + 'a (1|g)", "unclosed quote", 8),
    ("y ~ x + (z ~ x | g)", "'~' inside a random-effects term", 11),
    ("y ~\n f + (f~| g)", "'~' inside a random-effects term", 11),
]


@pytest.mark.parametrize("formula, fragment, position", INVALID)
def test_invalid_formulas_name_the_position(formula, fragment, position):
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert isinstance(info.value, ValueError)
    if position is not None:
        pointer_line = str(info.value).splitlines()[-1]
        formula_line = str(info.value).splitlines()[-2]
        assert formula_line[pointer_line.index("^")] == formula[position]


def test_non_string_formula():
    with pytest.raises(FormulaError, match="must be a string"):
        parse_formula(42)


def test_a_formula_is_parsed_once_and_errors_are_raised_every_time():
    formula = "Reaction ~ Days + (Days | Subject)"
    assert parse_formula(formula) is parse_formula(formula)
    assert parse_formula(formula) == parse_formula("".join(formula))  # another string object
    for _ in range(2):
        with pytest.raises(FormulaError, match="no random-effects term"):
            parse_formula("y ~ x")
