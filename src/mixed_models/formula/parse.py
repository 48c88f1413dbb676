"""Split an lme4 formula into response, fixed part and random-effects terms.

Only the lme4-specific syntax is handled here: the tilde, the parenthesized bar terms
``(expr | g)`` / ``(expr || g)``, lme4 2.x's covariance wrappers around them (``us(expr |
g)``, ``diag(...)``, ``cs(...)``, ``ar1(...)``, with an optional ``hom = TRUE/FALSE``)
and their grouping expressions (``a``, ``a:b``, ``a/b``), and the ``offset(expr)`` terms of
the fixed part. The response, the fixed part, the left side of each bar and each offset's
expression stay strings; each is checked here by :mod:`mixed_models.formula.safe`
(formulaic only ever evaluates a rendering of that checked tree).
"""

from __future__ import annotations

import re
from functools import lru_cache

from mixed_models.errors import FormulaError
from mixed_models.formula.response import checked_pieces
from mixed_models.formula.safe import check_offset
from mixed_models.formula.terms import OffsetTerm, ParsedFormula, RandomTerm

STRUCTURES = ("us", "diag", "cs", "ar1")
_LOGICAL = {"TRUE": True, "T": True, "True": True, "FALSE": False, "F": False, "False": False}

_QUOTES = "'\"`"
_NAME = r"(?:`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*)"
_GROUP_RE = re.compile(rf"^\s*{_NAME}(?:\s*[:/]\s*{_NAME})*\s*$")


def parse_formula(formula: str) -> ParsedFormula:
    """Parse an lme4 formula such as ``"y ~ x + (x | g) + (1 | a/b)"``.

    Parameters
    ----------
    formula
        The model formula. The response is required; the fixed part may be empty
        (an intercept is then implied) and at least one random term is required.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    FormulaError
        With the position of the offending character.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"the formula must be a string, got {type(formula).__name__}")
    return _parsed(formula)


# A ParsedFormula is immutable, so a formula fitted again (simulations, bootstraps, one
# formula over many data sets) is parsed once; errors are raised on every call.
@lru_cache(maxsize=256)
def _parsed(formula: str) -> ParsedFormula:
    tilde = _find_tilde(formula)
    response = formula[:tilde].strip()
    if not response:
        raise FormulaError("the formula has no response left of '~'", formula, 0)
    rhs = formula[tilde + 1 :]
    offset = tilde + 1
    pairs = _check_balanced(rhs, formula, offset)
    fixed, random, offsets = _extract_random_terms(rhs, formula, offset, pairs)
    if not random:
        raise FormulaError(
            "the formula has no random-effects term; add one such as (1 | group), "
            "or use a linear model for fixed effects only",
            formula,
        )
    parsed = ParsedFormula(formula, response, fixed, offset, tuple(random), tuple(offsets))
    checked_pieces(parsed)
    for term in offsets:
        check_offset(term.expr, formula, term.expr_offset)
    return parsed


def _scan(text: str):
    """Yield (index, char, depth) for characters outside quotes; depth before the char."""
    depth = 0
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in _QUOTES:
            quote = ch
            continue
        if ch == "(":
            yield i, ch, depth
            depth += 1
        elif ch == ")":
            depth -= 1
            yield i, ch, depth
        else:
            yield i, ch, depth


def _find_tilde(formula: str) -> int:
    tildes = [i for i, ch, depth in _scan(formula) if ch == "~" and depth == 0]
    if not tildes:
        raise FormulaError(
            "the formula has no '~'; write it as 'response ~ predictors + (terms | group)'",
            formula,
        )
    if len(tildes) > 1:
        raise FormulaError("the formula has more than one '~'", formula, tildes[1])
    return tildes[0]


def _check_balanced(rhs: str, formula: str, offset: int) -> dict[int, int]:
    """Refuse unbalanced parentheses and quotes; return each '(' -> its ')'."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    quote_at = None
    quote = None
    for i, ch in enumerate(rhs):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in _QUOTES:
            quote, quote_at = ch, i
        elif ch == "(":
            opened.append(i)
        elif ch == ")":
            if not opened:
                raise FormulaError("unmatched ')'", formula, offset + i)
            pairs[opened.pop()] = i
    if quote:
        raise FormulaError(f"unclosed quote {quote}", formula, offset + quote_at)
    if opened:
        raise FormulaError("unmatched '('", formula, offset + opened[-1])
    return pairs


def _extract_random_terms(rhs: str, formula: str, offset: int, pairs: dict[int, int]):
    """Blank out the bar terms and ``offset()`` terms of ``rhs``.

    Returns (fixed, random terms, offset terms).
    """
    chars = list(rhs)
    terms: list[RandomTerm] = []
    offsets: list[OffsetTerm] = []
    for i, ch, depth in list(_scan(rhs)):
        if ch == "|" and depth == 0:
            raise FormulaError(
                "a random-effects term must be in parentheses, e.g. (1 + x | g)",
                formula,
                offset + i,
            )
        if ch != "(" or depth != 0:
            continue
        end = pairs[i]
        bars = [j for j, c, d in _scan(rhs[i + 1 : end]) if c == "|" and d == 0]
        word, start = _preceding_word(rhs, i)
        if not bars:
            if word == "offset":
                offsets.append(_offset_term(rhs, (start, i, end), formula, offset))
                _blank_term(chars, rhs, start, end, formula, offset, "an offset() term")
            continue
        if word and word not in STRUCTURES:
            raise FormulaError(
                f"unknown covariance structure '{word}(...)' around a random-effects term; "
                f"write the term as (expr | group) or wrap it in one of "
                f"{', '.join(w + '()' for w in STRUCTURES)}",
                formula,
                offset + start,
            )
        terms.extend(_random_term(rhs, (start, i, end), i + 1 + bars[0], formula, offset,
                                  word or None))
        _blank_term(chars, rhs, start, end, formula, offset)
    return "".join(chars), terms, offsets


def _offset_term(rhs: str, where: tuple[int, int, int], formula: str,
                 offset: int) -> OffsetTerm:
    """``offset(expr)``: the expression, checked like any other piece."""
    first, start, end = where
    raw = rhs[start + 1 : end]
    expr = raw.strip()
    if not expr:
        raise FormulaError("offset() needs an expression, as offset(log(exposure))",
                           formula, offset + start)
    expr_offset = offset + start + 1 + len(raw) - len(raw.lstrip())
    return OffsetTerm(expr, expr_offset, (offset + first, offset + end + 1))


def _preceding_word(text: str, start: int) -> tuple[str, int]:
    """The name right before the '(' at ``start`` and where it begins (``start`` if none).

    Reads backwards only over the gap before ``start``, so that all calls together
    read each character a bounded number of times.
    """
    j = start
    while j > 0 and text[j - 1] in " \t\r\n":
        j -= 1
    stop = j
    while j > 0 and (text[j - 1].isascii() and (text[j - 1].isalnum() or text[j - 1] in "_.")):
        j -= 1
    while j < stop and not (text[j].isalpha() or text[j] in "_."):
        j += 1  # a name starts with a letter, '_' or '.'
    if j == stop or (j > 0 and text[j - 1] == "`"):
        return "", start
    return text[j:stop], j


def _skip_space(text: str, i: int, step: int) -> int:
    """The first index from ``i`` (moving by ``step``) that is not whitespace, or -1/len."""
    while 0 <= i < len(text) and text[i].isspace():
        i += step
    return i


def _blank_term(chars: list[str], rhs: str, start: int, end: int, formula: str, offset: int,
                what: str = "a random-effects term") -> None:
    """Replace a term and the '+' joining it to the rest with spaces."""
    before = _skip_space(rhs, start - 1, -1)
    after = _skip_space(rhs, end + 1, 1)
    if before >= 0 and rhs[before] != "+":
        how = "subtracted" if rhs[before] == "-" else f"combined with '{rhs[before]}'"
        raise FormulaError(f"{what} cannot be {how}; join terms with '+'", formula,
                           offset + before)
    if after < len(rhs) and rhs[after] not in "+-":
        raise FormulaError(f"{what} cannot be combined with '{rhs[after]}'; join terms "
                           "with '+'", formula, offset + after)
    for k in range(start, end + 1):
        chars[k] = " "
    if before >= 0:
        chars[before] = " "
    elif after < len(rhs) and rhs[after] == "+":
        chars[after] = " "


def _random_term(rhs: str, where: tuple[int, int, int], bar: int, formula: str, offset: int,
                 wrapper: str | None = None) -> list[RandomTerm]:
    """The term(s) of one bar; ``where`` is (term start, '(' position, ')' position)."""
    first, start, end = where
    double = rhs[bar + 1 : bar + 2] == "|"
    expr = rhs[start + 1 : bar].strip()
    group_start = bar + (2 if double else 1)
    group_text, homogeneous = _wrapper_arguments(rhs, group_start, end, formula, offset,
                                                 wrapper)
    if not expr:
        raise FormulaError(
            "nothing left of the bar; write (1 | g) for a random intercept",
            formula,
            offset + bar,
        )
    if "~" in expr:
        raise FormulaError(
            "a '~' inside a random-effects term: left of the bar goes an expression such "
            "as 1 + x, with no response",
            formula,
            offset + start + 1 + rhs[start + 1 : bar].index("~"),
        )
    if "|" in group_text:
        raise FormulaError(
            "a random-effects term has one bar (or one double bar)",
            formula,
            offset + group_start + group_text.index("|"),
        )
    if not _GROUP_RE.match(group_text):
        pos = group_start + len(group_text) - len(group_text.lstrip())
        raise FormulaError(
            f"the grouping factor must be a column name, an interaction a:b or a nesting "
            f"a/b; got '{group_text.strip()}'",
            formula,
            offset + pos,
        )
    structure = _structure(wrapper, double, formula, offset + bar)
    span = (offset + first, offset + end + 1)
    raw = rhs[start + 1 : bar]
    expr_offset = offset + start + 1 + len(raw) - len(raw.lstrip())
    return [
        RandomTerm(expr, grouping, structure != "diag", span, expr_offset, structure,
                   homogeneous, double_bar=double and wrapper is None)
        for grouping in _expand_grouping(group_text)
    ]


def _structure(wrapper: str | None, double: bool, formula: str, position: int) -> str:
    """The covariance structure of a bar: the wrapper's, ``diag`` for a double bar."""
    if not double:
        return wrapper or "us"
    if wrapper in (None, "diag"):
        return "diag"
    raise FormulaError(
        f"a double bar already means diag(); {wrapper}(... || ...) asks for two structures. "
        f"Write {wrapper}(expr | group) or (expr || group)",
        formula,
        position,
    )


def _wrapper_arguments(rhs: str, group_start: int, end: int, formula: str, offset: int,
                       wrapper: str | None) -> tuple[str, bool | None]:
    """Split ``g, hom = TRUE`` into the grouping text and the ``hom`` value."""
    text = rhs[group_start:end]
    if "," not in text:
        return text, None
    comma = text.index(",")
    if wrapper is None:
        raise FormulaError("a comma is allowed only inside a covariance wrapper such as "
                           "cs(x | g, hom = TRUE)", formula, offset + group_start + comma)
    homogeneous = None
    for arg in text[comma + 1:].split(","):
        name, _, value = (part.strip() for part in arg.partition("="))
        if name != "hom" or value not in _LOGICAL:
            raise FormulaError(
                f"{wrapper}() takes one optional argument, hom = TRUE or hom = FALSE; got "
                f"'{arg.strip()}'", formula, offset + group_start + comma + 1)
        homogeneous = _LOGICAL[value]
    if wrapper == "us" and homogeneous:
        raise FormulaError("us() has no homogeneous variant; use cs(..., hom = TRUE)",
                           formula, offset + group_start + comma + 1)
    return text[:comma], homogeneous


def _expand_grouping(text: str) -> list[tuple[str, ...]]:
    """``a/b`` -> [("a",), ("b", "a")], as lme4 expands it to ``(1 | a) + (1 | b:a)``.

    Names lose their backticks; each deeper level puts its own factor first.
    """
    groupings = []
    prefix: tuple[str, ...] = ()
    for level in text.split("/"):
        names = tuple(name.strip().strip("`") for name in level.split(":"))
        prefix = names + prefix
        groupings.append(prefix)
    return groupings


def formulaic_failure(exc: Exception, formula: str, offset: int, text: str) -> FormulaError:
    """The FormulaError for an error formulaic (or Python, parsing a term) raised on
    ``text``, the piece of ``formula`` that starts at ``offset``."""
    if isinstance(exc, SyntaxError):
        code = (exc.text or "").strip()
        where = text.find(code) if code else -1
        return FormulaError(
            f"'{code}' is not a valid expression ({exc.msg})", formula,
            offset + where if where >= 0 else None,
        )
    if isinstance(exc, AttributeError):  # formulaic's parser failing on its own
        return FormulaError(f"'{text.strip()}' is not a valid formula expression", formula,
                            offset)
    position = formulaic_error_position(str(exc))
    return FormulaError(formulaic_error_reason(str(exc)), formula,
                        None if position is None else offset + position)


def formulaic_error_position(message: str) -> int | None:
    """Offset of the first character that formulaic marked in an error message."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", message)
    last = plain.rstrip("\n").split("\n")[-1]
    if "⧛" not in last:
        return None
    return last.index("⧛")


def formulaic_error_reason(message: str) -> str:
    """The first line of a formulaic error, without its drawing."""
    return re.sub(r"\x1b\[[0-9;]*m", "", message).split("\n")[0].strip().rstrip(".")
