"""The response of a formula: a formula-language piece, or ``cbind(successes, failures)``.

``cbind()`` is allowed only as the whole response (a binomial model's counts). Its two
arguments are arithmetic, as R evaluates them (``size - incidence`` subtracts), so each
is checked as the expression of ``offset()`` is; anywhere else a ``cbind`` call is a
FormulaError at its position.
"""

from __future__ import annotations

from functools import lru_cache

from mixed_models.errors import FormulaError
from mixed_models.formula.calls import CBIND, Cbind, PythonCall
from mixed_models.formula.safe import Piece, check_offset, check_piece
from mixed_models.formula.terms import ParsedFormula
from mixed_models.formula.tokens import Token, tokenize


@lru_cache(maxsize=256)
def check_response(text: str, formula: str, offset: int) -> Piece:
    """Check the response: ``cbind(successes, failures)`` or any formula-language piece.

    Raises
    ------
    FormulaError
        For a malformed ``cbind()`` (not two arguments, something after it) and, as
        :func:`check_piece`, for anything outside the whitelist.
    """
    tokens = tokenize(text, formula, offset)
    if len(tokens) < 2 or tokens[0].kind != "name" or tokens[0].quoted \
            or tokens[0].text != CBIND or tokens[1].text != "(":
        return check_piece(text, formula, offset)
    commas, close = _cbind_commas(tokens, formula)
    if close != len(tokens) - 1:
        raise FormulaError("cbind(successes, failures) must be the whole response; "
                           f"'{tokens[close + 1].text}' follows it", formula,
                           tokens[close + 1].position)
    if len(commas) != 1:
        raise FormulaError("cbind() takes two arguments, the successes and the failures, "
                           f"as cbind(incidence, size - incidence); got {len(commas) + 1}",
                           formula, tokens[0].position)
    bounds = ((1, commas[0]), (commas[0], close))
    args = [_cbind_argument(tokens, a, b, formula, what)
            for (a, b), what in zip(bounds, ("successes", "failures"))]
    (s_text, s_at, s_call), (f_text, f_at, f_call) = args
    node = Cbind(s_call, f_call, (s_text, f_text), (s_at, f_at), tokens[0].position)
    return Piece(node, (*s_call.columns, *f_call.columns))


def _cbind_commas(tokens: list[Token], formula: str) -> tuple[list[int], int]:
    """Indices of the commas between cbind's arguments and of its closing parenthesis."""
    nesting, commas = 0, []
    for k, token in enumerate(tokens[1:], start=1):
        if token.kind != "op":
            continue
        nesting += (token.text == "(") - (token.text == ")")
        if nesting == 0:
            return commas, k
        if nesting == 1 and token.text == ",":
            commas.append(k)
    raise FormulaError("'cbind(' without its ')'", formula, tokens[0].position)


def _cbind_argument(tokens: list[Token], before: int, after: int, formula: str,
                    what: str) -> tuple[str, int, PythonCall]:
    """The argument between the tokens ``before`` and ``after`` (a comma or a
    parenthesis): its text, where it starts and its checked call."""
    if after == before + 1:
        raise FormulaError(f"cbind() has no {what} before this", formula,
                           tokens[after].position)
    start = tokens[before + 1].position
    text = formula[start:tokens[after].position].rstrip()
    checked = check_offset(text, formula, start).tree
    assert isinstance(checked, PythonCall)
    return text, start, checked


def response_piece(parsed: ParsedFormula) -> Piece:
    """The checked response of ``parsed`` (a :class:`Cbind` tree for ``cbind()``)."""
    return check_response(parsed.response, parsed.formula, parsed.response_offset)


def checked_pieces(parsed: ParsedFormula) -> list[Piece]:
    """Every formula-language piece of ``parsed`` checked: the response (which may be
    ``cbind()``), the fixed part when not empty and each bar's left side."""
    (_, _), *rest = parsed.pieces()
    return [response_piece(parsed),
            *(check_piece(text, parsed.formula, start) for text, start in rest)]
