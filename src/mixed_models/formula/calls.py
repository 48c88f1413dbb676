"""The function calls a formula may hold, checked on Python's own syntax tree.

A call such as ``log(x)`` or ``I(Days^2)`` is evaluated as Python by formulaic. Its tokens
are turned into Python source in which every name is a placeholder (``_n0``, ``_n1``...),
so that no name the user wrote can mean a Python keyword, builtin or module. That source is
parsed with :mod:`ast` and every node is checked against a whitelist: column names,
numbers, arithmetic and comparison operators and the calls of :data:`CALLS`. The tree
that passed the check is the one rendered for formulaic (names replaced by the data's
column identifiers), so what is evaluated is exactly what was checked.
"""

from __future__ import annotations

import ast
import bisect
import copy
import keyword
from dataclasses import dataclass, field
from typing import Callable

from mixed_models.errors import FormulaError
from mixed_models.formula.tokens import Token

#: Deepest syntax tree accepted inside one call (keeps every later recursion shallow).
MAX_DEPTH = 100
#: Largest exponent of a power whose exponent holds no column.
MAX_EXPONENT = 1000

_FLAG, _INT, _NUMBER = "TRUE/FALSE", "an integer", "a number"


@dataclass(frozen=True)
class CallSpec:
    """What one whitelisted function accepts besides its first argument."""

    positional: tuple[str, ...] = ()
    keywords: dict[str, str] = field(default_factory=dict)


_MATH = ("log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs")
_SPLINE = {"df": _INT, "lower_bound": _NUMBER, "upper_bound": _NUMBER}

#: The whitelist: every function a formula may call, with the extra arguments it takes.
CALLS: dict[str, CallSpec] = {
    **{name: CallSpec() for name in _MATH},
    "I": CallSpec(),
    "C": CallSpec(positional=("contrast",)),
    "scale": CallSpec(keywords={"center": _FLAG, "scale": _FLAG}),
    "center": CallSpec(),
    "poly": CallSpec(positional=(_INT,), keywords={"degree": _INT, "raw": _FLAG}),
    "bs": CallSpec(keywords={**_SPLINE, "degree": _INT, "include_intercept": _FLAG}),
    "cr": CallSpec(keywords=_SPLINE),
    "cc": CallSpec(keywords=_SPLINE),
}

#: Contrasts C() accepts, in the spellings R (contr.sum), patsy (Sum) and text ("sum") use.
CONTRASTS = ("treatment", "sum", "helmert", "poly", "diff")

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_WHAT = {ast.Attribute: "attribute access", ast.Subscript: "a subscript",
         ast.Lambda: "a lambda", ast.Starred: "a starred argument",
         ast.Tuple: "a tuple", ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set",
         ast.IfExp: "a conditional expression", ast.BoolOp: "and/or",
         ast.NamedExpr: "an assignment expression", ast.JoinedStr: "an f-string"}


#: The one call allowed only as the whole response.
CBIND = "cbind"
CBIND_ONLY = ("cbind(successes, failures) is allowed only as the whole response, left of "
              "'~' (as in cbind(incidence, size - incidence) ~ period + (1 | herd))")


def contrast_identifier(name: str) -> str:
    """The name under which the evaluation context holds a contrast coding."""
    return f"_contr_{name}"


@dataclass
class PythonCall:
    """A checked call: its syntax tree and the columns it reads.

    ``columns`` lists (column name, position in the formula) in order of appearance;
    ``factors`` are the columns read inside ``C()``.
    """

    tree: ast.Expression
    columns: list[tuple[str, int]]
    position: int
    _names: dict[str, str] = field(default_factory=dict)
    factors: set[str] = field(default_factory=set)

    def render(self, ident: Callable[[str], str]) -> str:
        """Python source for formulaic with each column written as ``ident(name)``."""
        # a copy: checked pieces are cached and shared (threads may render one at once)
        tree = copy.deepcopy(self.tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in self._names:
                node.id = ident(self._names[node.id])
        return ast.unparse(tree)


@dataclass(frozen=True)
class Cbind:
    """``cbind(successes, failures)``, a binomial response (the whole left side of ``~``).

    Each argument is arithmetic (``size - incidence`` subtracts), checked as the
    expression of ``offset()`` is: ``texts`` are the arguments as written and
    ``offsets`` where each starts in the formula, to evaluate them the same way.
    """

    successes: PythonCall
    failures: PythonCall
    texts: tuple[str, str]
    offsets: tuple[int, int]
    position: int


def check_call(tokens: list[Token], formula: str) -> PythonCall:
    """Check the tokens of one call ``name(...)`` (balanced parentheses)."""
    source, starts, names = _python_source(tokens, formula)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        _check_adjacent(tokens, formula)  # the usual mistake, with a better position
        col = getattr(exc, "offset", None)
        where = _position(starts, tokens, (col or 1) - 1)
        raise FormulaError("this is not a valid function call (check its arguments and "
                           "parentheses)", formula, where) from None
    checker = _Checker(tokens, starts, names, formula)
    checker.check(tree)
    factors = {checker.column_names[n.id] for call in ast.walk(tree)
               if isinstance(call, ast.Call) and call.func.id == "C"
               for n in ast.walk(call.args[0])
               if isinstance(n, ast.Name) and n.id in checker.column_names}
    return PythonCall(tree, checker.columns, tokens[0].position, checker.column_names,
                      factors)


_ENDS = ("name", "number", "string", "logical")


def _check_adjacent(tokens: list[Token], formula: str) -> None:
    """Refuse an operand right after an operand (``Days .to_csv``, ``(x)(y)``), with the
    position of the second one."""
    for before, token in zip(tokens, tokens[1:]):
        ends = before.kind in _ENDS or before.text == ")"
        if ends and token.kind in _ENDS:
            raise FormulaError(f"missing operator before '{token.text}'", formula,
                               token.position)
        if before.text == ")" and token.text == "(":
            raise FormulaError("calling the result of a call is not allowed", formula,
                               token.position)


def _python_source(tokens: list[Token], formula: str) -> tuple[str, list[int], dict]:
    """Python text of the tokens, where each token starts in it, and the placeholders."""
    parts, starts, names = [], [], {}
    length = 0
    for k, token in enumerate(tokens):
        following = tokens[k + 1].text if k + 1 < len(tokens) else ""
        if token.kind == "name" and following == "=" and not token.quoted \
                and token.text.isidentifier() and not keyword.iskeyword(token.text):
            text = token.text  # a keyword argument's name; checked against the whitelist
        elif token.kind == "name":
            text = f"_n{k}"
            names[text] = k
        elif token.kind == "string":
            text = repr(token.text)
        elif token.kind == "logical":
            text = str(token.text in ("TRUE", "True"))
        elif token.text == "^":
            text = "**"  # R's power; Python's ^ would be a bitwise xor
        elif token.text in ("%in%", ":", "~"):
            raise FormulaError(f"'{token.text}' is a formula operator and cannot appear "
                               "inside a function call", formula, token.position)
        else:
            text = token.text
        starts.append(length)
        parts.append(text)
        length += len(text) + 1
    return " ".join(parts), starts, names


def _position(starts: list[int], tokens: list[Token], col: int) -> int:
    """Position in the formula of the token at ``col`` of the Python source."""
    k = max(0, bisect.bisect_right(starts, col) - 1)
    return tokens[min(k, len(tokens) - 1)].position


class _Checker:
    """Walks a parsed call and refuses anything outside the whitelist."""

    def __init__(self, tokens: list[Token], starts: list[int], names: dict[str, int],
                 formula: str):
        self.tokens, self.starts, self.names = tokens, starts, names
        self.formula = formula
        self.columns: list[tuple[str, int]] = []
        self.column_names: dict[str, str] = {}

    def where(self, node: ast.AST) -> int:
        return _position(self.starts, self.tokens, getattr(node, "col_offset", 0))

    def fail(self, message: str, node: ast.AST) -> FormulaError:
        return FormulaError(message, self.formula, self.where(node))

    def check(self, tree: ast.Expression) -> None:
        stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(f"the expression is nested more than {MAX_DEPTH} levels deep",
                                node)
            stack.extend((child, depth + 1) for child in self.children(node))

    def children(self, node: ast.AST) -> list[ast.AST]:
        """Check one node; return the sub-expressions still to check."""
        if isinstance(node, ast.Name):
            self.column(node, self.tokens[self.names[node.id]].text)
            return []
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                raise self.fail("a string is allowed only as Q(\"column name\") or as the "
                                "contrast of C(f, \"sum\")", node)
            if not isinstance(node.value, (bool, int, float)):
                raise self.fail(f"the constant {node.value!r} is not allowed", node)
            return []
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY):
            if isinstance(node.op, ast.Pow):
                self.power(node)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            return [node.operand]
        if isinstance(node, ast.Compare) and all(isinstance(o, _COMPARE) for o in node.ops):
            return [node.left, *node.comparators]
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _WHAT.get(type(node), f"'{type(node).__name__}'")
        raise self.fail(f"{what} is not allowed in a formula; allowed are column names, "
                        "numbers, + - * / ^ **, comparisons and the functions "
                        f"{', '.join(CALLS)}", node)

    def power(self, node: ast.BinOp) -> None:
        """A power of numbers alone is computed in Python's unbounded integers
        (9 ** 9 ** 9 would run for ever): its exponent must be a small literal."""
        if any(isinstance(n, ast.Name) for n in ast.walk(node.right)):
            return  # a column: numpy computes it in floating point
        value = node.right.operand if isinstance(node.right, ast.UnaryOp) else node.right
        if not (isinstance(value, ast.Constant) and abs(value.value) <= MAX_EXPONENT):
            raise self.fail(f"a power of numbers needs a number from -{MAX_EXPONENT} to "
                            f"{MAX_EXPONENT} as its exponent", node.right)

    def column(self, node: ast.Name, name: str) -> None:
        self.columns.append((name, self.where(node)))
        self.column_names[node.id] = name

    def call(self, node: ast.Call) -> list[ast.AST]:
        func = node.func
        token = self.tokens[self.names[func.id]] if isinstance(func, ast.Name) else None
        if token is not None and not token.quoted and token.text == CBIND:
            raise self.fail(CBIND_ONLY, node)
        if token is None or token.quoted or token.text not in CALLS:
            shown = token.text if token is not None else ast.unparse(func)
            raise self.fail(f"'{shown}' is not a function a formula may call; the functions "
                            f"are {', '.join(CALLS)}", node)
        name = token.text
        func.id = name  # a whitelisted function: keep its own name
        spec = CALLS[name]
        args, keywords = node.args, node.keywords
        if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in keywords):
            raise self.fail(f"{name}() takes no *args or **kwargs", node)
        if not 1 <= len(args) <= 1 + len(spec.positional):
            raise self.fail(f"{name}() takes {_arity(spec)}; got {len(args)} positional "
                            "argument(s)", node)
        for kind, arg in zip(spec.positional, args[1:]):
            if kind == "contrast":
                node.args[1] = self.contrast(arg)
            else:
                self.constant(arg, kind, name)
        for keyword in keywords:
            if keyword.arg not in spec.keywords:
                allowed = ", ".join(spec.keywords) or "none"
                raise self.fail(f"{name}() has no argument '{keyword.arg}'; its keyword "
                                f"arguments are: {allowed}", keyword.value)
            self.constant(keyword.value, spec.keywords[keyword.arg], name)
        return [args[0]]

    def contrast(self, arg: ast.AST) -> ast.AST:
        """The contrast of C(f, contrast) as the name the context holds it under."""
        text = None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = arg.value
        elif isinstance(arg, ast.Name) and not self.tokens[self.names[arg.id]].quoted:
            text = self.tokens[self.names[arg.id]].text
            text = text[len("contr."):] if text.startswith("contr.") else text.lower()
        if text not in CONTRASTS:
            raise self.fail(f"the contrast of C() must be one of "
                            f"{', '.join('contr.' + c for c in CONTRASTS)} (or the same "
                            "name in quotes)", arg)
        return ast.copy_location(ast.Name(contrast_identifier(text), ast.Load()), arg)

    def constant(self, arg: ast.AST, kind: str, name: str) -> None:
        value = arg
        if isinstance(arg, ast.UnaryOp) and isinstance(arg.op, (ast.UAdd, ast.USub)):
            value = arg.operand
        ok = isinstance(value, ast.Constant) and not isinstance(value.value, str)
        if ok and kind == _FLAG:
            ok = value is arg and isinstance(value.value, bool)
        elif ok and kind == _INT:
            ok = isinstance(value.value, int) and not isinstance(value.value, bool)
        elif ok:
            ok = not isinstance(value.value, bool)
        if not ok:
            raise self.fail(f"this argument of {name}() must be {kind}", arg)


def _arity(spec: CallSpec) -> str:
    extra = len(spec.positional)
    return "one argument" if not extra else f"one to {1 + extra} positional arguments"
