"""Plain arithmetic of numeric columns, evaluated with numpy instead of formulaic.

The arguments of ``cbind()`` and of ``offset()`` are most often a column or a little
arithmetic of columns (``size - incidence``, ``log(exposure)``). formulaic builds a
whole model matrix for each, which costs milliseconds; on a small GLMM that is as much
as the fit. :func:`arithmetic_values` evaluates such an expression directly, reading
its syntax tree and nothing else (no ``eval``): numbers, numeric columns, ``+ - * /``,
unary minus and the elementwise functions of the formula language's evaluation context.
Anything else returns None, and the caller evaluates the expression with formulaic as
before (the same values: integer columns become floats, as there).

Unstable: a new module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np
import pandas as pd

_BINARY: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
}
_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "exp": np.exp,
    "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs,
}
# Longer expressions go to formulaic (they are rare, and its errors point at positions).
MAX_NODES = 64


class _NotPlain(Exception):
    """The expression is not plain arithmetic of numeric columns."""


def arithmetic_values(text: str, data: pd.DataFrame) -> np.ndarray | None:
    """The values of ``text`` on the rows of ``data`` as a float array, or None when
    ``text`` is not plain arithmetic of numeric columns (see the module's notes)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        return None
    try:
        with np.errstate(all="ignore"):  # log(0), x / 0: the values, as formulaic gives them
            value = _value(tree.body, data)
    except _NotPlain:
        return None
    return np.broadcast_to(np.asarray(value, dtype=float), (len(data),)).copy()


def _value(node: ast.AST, data: pd.DataFrame) -> np.ndarray | float:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_value(node.left, data), _value(node.right, data))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, data)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return _column(node.id, data)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in _FUNCTIONS and len(node.args) == 1 and not node.keywords:
        return _FUNCTIONS[node.func.id](_value(node.args[0], data))
    raise _NotPlain


def _column(name: str, data: pd.DataFrame) -> np.ndarray:
    """A numeric (not boolean) column as floats; anything else is not plain."""
    if name in _FUNCTIONS or name not in data.columns:
        raise _NotPlain
    column = data[name]
    if isinstance(column, pd.DataFrame) or pd.api.types.is_bool_dtype(column) \
            or not pd.api.types.is_numeric_dtype(column):
        raise _NotPlain
    return column.to_numpy(dtype=float, na_value=np.nan)
