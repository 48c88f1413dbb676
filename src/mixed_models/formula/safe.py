"""Formula pieces checked before formulaic sees them, and rendered for it.

formulaic evaluates the names and calls of a formula as Python against the data. A
formula is untrusted input, so every piece (the response, the fixed part, each bar's left
side, each ``offset()``) is parsed here first: formula operators by the small parser
below (R's precedence: ``^`` > ``:`` > ``%in%`` > ``* /`` > ``+ -``), each call by
:mod:`mixed_models.formula.calls` on Python's syntax tree. formulaic then receives a text
*rendered from that checked tree*, never the user's text: names become the identifiers
the data was given (so a column called ``log`` or ``C`` is a column and ``log(x)`` stays
the function), ``^`` inside a call becomes ``**``, ``%in%`` becomes ``:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Union

from mixed_models.errors import FormulaError
from mixed_models.formula.calls import CALLS, CBIND, CBIND_ONLY, Cbind, PythonCall, check_call
from mixed_models.formula.tokens import Token, tokenize

#: Deepest nesting of parentheses accepted in one piece.
MAX_NESTING = 50
#: Largest power of a formula term: (a + b + ...)^k makes all interactions up to order k.
MAX_POWER = 10

# operator -> (precedence, what formulaic is given)
_LEVELS = {"+": 1, "-": 1, "*": 2, "/": 2, "%in%": 3, ":": 4}
_RENDER = {"%in%": ":"}


@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Number:
    text: str


@dataclass(frozen=True)
class Chain:
    """Operands joined by operators of one precedence level; the first op is ''."""

    level: int
    items: tuple[tuple[str, "Node"], ...]


@dataclass(frozen=True)
class Power:
    base: "Node"
    exponent: str


@dataclass(frozen=True)
class Group:
    inner: "Node"


Node = Union[Column, Number, Chain, Power, Group, PythonCall, Cbind]


@dataclass(frozen=True)
class Piece:
    """A checked piece of a formula.

    Attributes
    ----------
    tree
        The formula-level syntax tree.
    columns
        (column name, position in the formula) for every name read, in order.
    """

    tree: Node
    columns: tuple[tuple[str, int], ...]

    def render(self, ident: Callable[[str], str]) -> str:
        """The text formulaic evaluates, each column written as ``ident(name)``."""
        return _render(self.tree, ident)

    @property
    def factor_columns(self) -> set[str]:
        """Columns read inside ``C()`` (their values name levels)."""
        found: set[str] = set()
        stack = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, PythonCall):
                found |= node.factors
            elif isinstance(node, Cbind):
                stack.extend((node.successes, node.failures))
            elif isinstance(node, Chain):
                stack.extend(item for _, item in node.items)
            elif isinstance(node, (Group, Power)):
                stack.append(node.inner if isinstance(node, Group) else node.base)
        return found

    @property
    def column_names(self) -> list[str]:
        """Distinct column names, in order of first use."""
        return list(dict.fromkeys(name for name, _ in self.columns))


# A formula's pieces are checked by the parser, the model frame and the design: each is
# parsed once. A Piece is immutable; errors are raised again on every call (not cached).
@lru_cache(maxsize=256)
def check_piece(text: str, formula: str, offset: int) -> Piece:
    """Parse and check ``text``, the piece of ``formula`` that starts at ``offset``.

    Raises
    ------
    FormulaError
        At the first construct outside the formula language or the whitelist.
    """
    tokens = _resolve_q(tokenize(text, formula, offset), formula)
    if not tokens:
        raise FormulaError("an empty expression", formula, offset)
    parser = _Parser(tokens, formula, offset + len(text))
    tree = parser.sum(0)
    if parser.i < len(tokens):
        token = tokens[parser.i]
        if token.text == ")":
            message = "unexpected ')' without its '('"
        elif token.kind in ("name", "number") or token.text == "(":
            message = (f"missing operator before '{token.text}'; join terms with + "
                       "(or * : / %in% ^)")
        else:
            message = f"unexpected '{token.text}'"
        raise FormulaError(message, formula, token.position)
    return Piece(tree, tuple(parser.columns))


@lru_cache(maxsize=256)
def check_offset(text: str, formula: str, offset: int) -> Piece:
    """Check the expression of ``offset(expr)``: arithmetic, evaluated as ``I(expr)``."""
    tokens = _resolve_q(tokenize(text, formula, offset), formula)
    if not tokens:
        raise FormulaError("offset() needs an expression", formula, offset)
    end = offset + len(text)
    wrapped = [Token("name", "I", offset), Token("op", "(", offset), *tokens,
               Token("op", ")", end)]
    nesting = 0
    for token in tokens:
        if token.kind == "op":
            nesting += (token.text == "(") - (token.text == ")")
        if nesting > MAX_NESTING:
            raise FormulaError(f"parentheses nested more than {MAX_NESTING} deep", formula,
                               token.position)
    checked = check_call(wrapped, formula)
    return Piece(checked, tuple(checked.columns))


def _resolve_q(tokens: list[Token], formula: str) -> list[Token]:
    """``Q("a b")`` names the column ``a b``: one quoted-name token."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "name" and token.text == "Q" and not token.quoted \
                and i + 1 < len(tokens) and tokens[i + 1].text == "(":
            inner = tokens[i + 2: i + 4]
            if len(inner) < 2 or inner[0].kind != "string" or inner[1].text != ")":
                raise FormulaError('Q() takes one column name in quotes, as Q("a b")',
                                   formula, token.position)
            out.append(Token("name", inner[0].text, token.position, quoted=True))
            i += 4
            continue
        out.append(token)
        i += 1
    return out


class _Parser:
    """Recursive descent over one piece's tokens; recursion only for parentheses."""

    def __init__(self, tokens: list[Token], formula: str, end: int):
        self.tokens, self.formula, self.end = tokens, formula, end
        self.i = 0
        self.columns: list[tuple[str, int]] = []

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, message: str, token: Token | None) -> FormulaError:
        return FormulaError(message, self.formula, self.end if token is None else token.position)

    def sum(self, depth: int) -> Node:
        items: list[tuple[str, Node]] = []
        token = self.peek()
        if token is not None and token.text in "+-" and token.kind == "op":
            self.i += 1
            items.append((token.text, self.level(2, depth)))
        else:
            items.append(("", self.level(2, depth)))
        while (token := self.peek()) is not None and _LEVELS.get(token.text) == 1:
            self.i += 1
            items.append((token.text, self.level(2, depth)))
        return items[0][1] if len(items) == 1 and not items[0][0] else Chain(1, tuple(items))

    def level(self, level: int, depth: int) -> Node:
        """Operands joined by the operators of ``level`` (2 ``* /``, 3 ``%in%``, 4 ``:``)."""
        def operand() -> Node:
            return self.power(depth) if level == 4 else self.level(level + 1, depth)
        items: list[tuple[str, Node]] = [("", operand())]
        while (token := self.peek()) is not None and token.kind == "op" \
                and _LEVELS.get(token.text) == level:
            self.i += 1
            items.append((token.text, operand()))
        return items[0][1] if len(items) == 1 else Chain(level, tuple(items))

    def power(self, depth: int) -> Node:
        base = self.atom(depth)
        token = self.peek()
        if token is None or token.text not in ("^", "**"):
            return base
        self.i += 1
        exponent = self.peek()
        if exponent is None or exponent.kind != "number" or not exponent.text.isdigit() \
                or not 1 <= int(exponent.text) <= MAX_POWER:
            raise self.fail(f"the power of a formula term, as in (a + b)^2, must be a whole "
                            f"number from 1 to {MAX_POWER}; use I(x^2) for arithmetic",
                            exponent or token)
        self.i += 1
        return Power(base, exponent.text)

    def atom(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("the formula ends where a term was expected", None)
        self.i += 1
        if token.text == "(" and token.kind == "op":
            if depth >= MAX_NESTING:
                raise self.fail(f"parentheses nested more than {MAX_NESTING} deep", token)
            inner = self.sum(depth + 1)
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise self.fail("'(' without its ')'", token)
            self.i += 1
            return Group(inner)
        if token.kind == "name":
            following = self.peek()
            if following is not None and following.text == "(" and not token.quoted:
                return self.call(token)
            return self.column(token)
        if token.kind == "number":
            if token.text not in ("0", "1"):
                raise self.fail(f"the number {token.text} cannot be a formula term (only 0 "
                                "and 1, the intercept); use I(...) for arithmetic", token)
            return Number(token.text)
        raise self.fail(f"unexpected '{token.text}' where a term was expected", token)

    def column(self, token: Token) -> Column:
        if token.text == "." and not token.quoted:
            raise self.fail("'.' (all other columns) is not supported; list the columns", token)
        self.columns.append((token.text, token.position))
        return Column(token.text, token.position)

    def call(self, name: Token) -> PythonCall:
        if name.text == CBIND:
            raise self.fail(CBIND_ONLY, name)
        if name.text not in CALLS:
            hint = ("; offset() is a term of its own in the fixed part, joined with +"
                    if name.text == "offset" else "")
            raise self.fail(f"'{name.text}' is not a function a formula may call; the "
                            f"functions are {', '.join(CALLS)}{hint}", name)
        start, nesting = self.i - 1, 0
        while self.i < len(self.tokens):
            text = self.tokens[self.i].text if self.tokens[self.i].kind == "op" else ""
            nesting += (text == "(") - (text == ")")
            self.i += 1
            if nesting > MAX_NESTING:
                raise self.fail(f"parentheses nested more than {MAX_NESTING} deep",
                                self.tokens[self.i - 1])
            if nesting == 0:
                break
        else:
            raise self.fail(f"'{name.text}(' without its ')'", name)
        checked = check_call(self.tokens[start: self.i], self.formula)
        self.columns.extend(checked.columns)
        return checked


def _render(node: Node, ident: Callable[[str], str]) -> str:
    if isinstance(node, Column):
        return ident(node.name)
    if isinstance(node, Number):
        return node.text
    if isinstance(node, PythonCall):
        return node.render(ident)
    if isinstance(node, Cbind):
        raise FormulaError("cbind(successes, failures) gives two columns and is evaluated "
                           "argument by argument, never as one piece", None)
    if isinstance(node, Group):
        return f"({_render(node.inner, ident)})"
    if isinstance(node, Power):
        return f"{_operand(node.base, 5, ident)} ** {node.exponent}"
    parts = []
    for op, item in node.items:
        text = _operand(item, node.level + 1, ident)
        parts.append(f"{_RENDER.get(op, op)} {text}" if op else text)
    return " ".join(parts)


def _operand(node: Node, level: int, ident: Callable[[str], str]) -> str:
    """An operand of an operator of ``level``, in parentheses when it binds less."""
    text = _render(node, ident)
    if isinstance(node, Chain) and node.level < level:
        return f"({text})"
    return text
