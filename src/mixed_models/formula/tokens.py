"""The tokens of one piece of a formula (a response, a fixed part, a bar's left side).

One left-to-right pass with a single compiled pattern, so the cost is linear in the
length of the text. Only ASCII is accepted outside backticks: a look-alike letter from
another alphabet could otherwise name something other than what the reader sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mixed_models.errors import FormulaError

#: Characters a quoted string may hold: a contrast name or a column name for Q().
STRING_CHARS = re.compile(r"^[A-Za-z0-9_ .:,;+*/()\-]*$")

_PATTERN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![A-Za-z0-9_.]))"
    r"|(?P<name>[A-Za-z.][A-Za-z0-9._]*|_[A-Za-z0-9._]*)"
    r"|(?P<quoted>`[^`]*`)"
    r"|(?P<string>'[^'\\\n]*'|\"[^\"\\\n]*\")"
    r"|(?P<op>%in%|\*\*|==|!=|<=|>=|[-+*/^:(),=<>~])",
    re.ASCII,
)

_LOGICAL = {"TRUE": True, "FALSE": False, "True": True, "False": False}


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text (a name without its backticks) and its offset.

    ``kind`` is ``name``, ``number``, ``string``, ``logical`` or ``op``; ``quoted``
    says the name was written in backticks (then it is always a column).
    """

    kind: str
    text: str
    position: int
    quoted: bool = False


def tokenize(text: str, formula: str, offset: int) -> list[Token]:
    """The tokens of ``text``, the piece of ``formula`` that starts at ``offset``.

    Raises
    ------
    FormulaError
        At the first character that starts no token.
    """
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end:
        match = _PATTERN.match(text, pos)
        if match is None:
            raise _bad_character(text, pos, formula, offset)
        kind = match.lastgroup
        value = match.group()
        where = offset + pos
        if kind == "name":
            _check_name(value, formula, where)
            if value in _LOGICAL:
                tokens.append(Token("logical", value, where))
            else:
                tokens.append(Token("name", value, where))
        elif kind == "quoted":
            if len(value) == 2:
                raise FormulaError("empty backticks: a quoted name needs at least one "
                                   "character", formula, where)
            tokens.append(Token("name", value[1:-1], where, quoted=True))
        elif kind == "string":
            if not STRING_CHARS.match(value[1:-1]):
                raise FormulaError(
                    f"the string {value} has characters a formula string may not hold; "
                    "strings may hold letters, digits, spaces and . _ : , ; + - * / ( )",
                    formula, where)
            tokens.append(Token("string", value[1:-1], where))
        elif kind != "space":
            tokens.append(Token(kind, value, where))
        pos = match.end()
    return tokens


def _check_name(name: str, formula: str, where: int) -> None:
    """Refuse Python's special names and attribute chains written without backticks."""
    if "__" in name:
        raise FormulaError(
            f"'{name}' is not allowed: names with a double underscore reach Python's "
            "internals; quote a column with such a name in backticks", formula, where)


def _bad_character(text: str, pos: int, formula: str, offset: int) -> FormulaError:
    ch = text[pos]
    if ch in "'\"":
        reason = (f"a {ch} string must close on the same line and may not hold a "
                  "backslash or the other quote")
    elif ch == "`":
        reason = "unclosed backtick: quote a column name as `name`"
    elif ch in "[]":
        reason = "subscripts ([...]) are not allowed in a formula"
    elif ch in "{}":
        reason = "{...} blocks are not allowed; use I(...) for arithmetic"
    elif ch == "%":
        reason = "the only %...% operator is %in%"
    elif ch.isascii():
        reason = f"the character {ch!r} is not allowed in a formula"
    else:
        reason = (f"the character {ch!r} (U+{ord(ch):04X}) is not allowed outside "
                  "backticks; formulas are written in ASCII")
    return FormulaError(reason, formula, offset + pos)
