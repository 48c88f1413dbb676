"""The response of a formula: cbind(successes, failures) on the left of '~' only."""

from __future__ import annotations

import pytest

from mixed_models.errors import FormulaError
from mixed_models.formula import parse_formula
from mixed_models.formula.calls import Cbind
from mixed_models.formula.response import checked_pieces, response_piece

ACCEPTED = {
    # formula: (argument texts, their offsets, columns read)
    "cbind(incidence, size - incidence) ~ period + (1 | herd)":
        (("incidence", "size - incidence"), (6, 17), ["incidence", "size"]),
    "cbind( a ,`b c` ) ~ x + (1 | g)": (("a", "`b c`"), (7, 10), ["a", "b c"]),
    'cbind(Q("a b"), log(n) - 1) ~ x + (1 | g)':
        (('Q("a b")', "log(n) - 1"), (6, 16), ["a b", "n"]),
}


@pytest.mark.parametrize("formula", ACCEPTED)
def test_cbind_response_pieces(formula):
    texts, offsets, columns = ACCEPTED[formula]
    parsed = parse_formula(formula)
    piece = response_piece(parsed)
    assert isinstance(piece.tree, Cbind)
    assert piece.tree.texts == texts and piece.tree.offsets == offsets
    assert [formula[o:o + len(t)] for t, o in zip(texts, offsets)] == list(texts)
    assert piece.column_names == columns
    assert checked_pieces(parsed)[0] is piece


def test_a_plain_response_is_a_formula_piece():
    piece = response_piece(parse_formula("log(y) ~ x + (1 | g)"))
    assert not isinstance(piece.tree, Cbind) and piece.column_names == ["y"]


def test_cbind_arguments_hold_only_whitelisted_calls():
    with pytest.raises(FormulaError, match="'round' is not a function"):
        parse_formula('cbind(Q("a b"), round(n * 0.5, 0) - 1) ~ x + (1 | g)')


FORMULA_ERRORS = {
    # formula: (pattern, position)
    "y ~ cbind(a, b) + (1 | g)": ("allowed only as the whole response", 4),
    "y ~ x + (cbind(a, b) | g)": ("allowed only as the whole response", 9),
    "y ~ I(cbind(a, b)) + (1 | g)": ("allowed only as the whole response", 6),
    "log(cbind(a, b)) ~ x + (1 | g)": ("allowed only as the whole response", 4),
    "cbind(a, cbind(b, c)) ~ x + (1 | g)": ("allowed only as the whole response", 9),
    "cbind(a) ~ x + (1 | g)": ("takes two arguments.*got 1", 0),
    "cbind(a, b, c) ~ x + (1 | g)": ("takes two arguments.*got 3", 0),
    "cbind(a, b) + 1 ~ x + (1 | g)": ("must be the whole response; '\\+' follows", 12),
    "cbind(a, ) ~ x + (1 | g)": ("no failures", 9),
    "cbind(a, b:c) ~ x + (1 | g)": ("formula operator", 10),
    "cbind(a, __class__) ~ x + (1 | g)": ("double underscore", 9),
    "cbind(a, b.upper()) ~ x + (1 | g)": ("'b.upper' is not a function", 9),
    "`cbind`(a, b) ~ x + (1 | g)": ("missing operator", 7),
}


@pytest.mark.parametrize("formula", FORMULA_ERRORS)
def test_cbind_elsewhere_is_a_formula_error(formula):
    pattern, position = FORMULA_ERRORS[formula]
    with pytest.raises(FormulaError, match=pattern) as info:
        parse_formula(formula)
    assert info.value.position == position
