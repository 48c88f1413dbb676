"""Checked formula pieces evaluated by formulaic, on data whose columns it cannot confuse.

formulaic looks a name up in the data first, then in the context it is given, then in
its own transforms (which include ``numpy`` as ``np``). Here it is given:

- a text rendered from the checked tree of :mod:`mixed_models.formula.safe`;
- the data with every column that is not a plain name renamed to an internal identifier
  (``_mm0``, ``_mm1``...): names with dots or spaces, names of functions (``log``, ``C``,
  ``Treatment``...), ``Intercept``, Python keywords. A column called ``log`` then stays a
  column and ``log(x)`` the function;
- an explicit context holding exactly the whitelisted functions (never the caller's
  variables, which formulaic would capture by default).

Column names formulaic makes are mapped back to the user's names.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Iterable

import numpy as np
import pandas as pd

from mixed_models.core.lazy import lazy_module
from mixed_models.design.columns import refuse_duplicates
from mixed_models.design.arithmetic import arithmetic_values
from mixed_models.design.frame import missing_column_error
from mixed_models.design.names import gem_name, split_interaction
from mixed_models.errors import DataError, FormulaError
from mixed_models.formula.calls import CALLS, CONTRASTS, contrast_identifier
from mixed_models.formula.parse import formulaic_failure
from mixed_models.formula.safe import check_offset, check_piece

# formulaic is imported when a piece is first evaluated, not with the package.
formulaic = lazy_module("formulaic")
formulaic_errors = lazy_module("formulaic.errors")

#: Names formulaic resolves by itself (its ``TRANSFORMS``, formulaic 1.x); a column with
#: one of these names is renamed, so that formulaic reads the column. Written out here so
#: that deciding a name's identifier needs no formulaic import; a test checks the list
#: against the installed formulaic.
FORMULAIC_NAMES = frozenset({
    "C", "Diff", "Helmert", "I", "Poly", "Q", "Sum", "Treatment", "bs", "cc", "center",
    "contr", "cr", "cs", "exp", "exp10", "exp2", "hashed", "lag", "log", "log10", "log2",
    "np", "poly", "scale", "standardize"})


@cache
def safe_context() -> dict[str, Any]:
    """The functions formulaic may call, and nothing else (see formula.calls.CALLS)."""
    from formulaic.transforms import C, basis_spline, center, identity, poly, scale
    from formulaic.transforms import cyclic_cubic_spline, natural_cubic_spline
    from formulaic.transforms.contrasts import ContrastsRegistry
    context: dict[str, Any] = {
        "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p,
        "exp": np.exp, "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs,
        "I": identity, "C": C, "scale": scale, "center": center, "poly": poly,
        "bs": basis_spline, "cr": natural_cubic_spline, "cc": cyclic_cubic_spline,
        **{contrast_identifier(name): getattr(ContrastsRegistry, name)() for name in CONTRASTS},
    }
    assert set(CALLS) <= set(context)
    return context


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
#: Every name the evaluation context or formulaic gives a meaning (a superset of
#: ``safe_context()``'s keys, checked by a test).
RESERVED = frozenset({*CALLS, *(contrast_identifier(name) for name in CONTRASTS),
                      *FORMULAIC_NAMES, "log1p", "expm1", "sqrt", "abs", "Intercept", "Q",
                      "offset", "None"})
_INTERNAL = re.compile(r"(?<![A-Za-z0-9_])_mm[0-9]+(?![A-Za-z0-9_])")


def is_plain(name: str) -> bool:
    """True for a column formulaic can be given under its own name."""
    return bool(_PLAIN.fullmatch(name)) and not keyword.iskeyword(name) \
        and name not in RESERVED


def identifiers(names: Iterable[str]) -> dict[str, str]:
    """The identifier formulaic sees for each column (itself when plain)."""
    out: dict[str, str] = {}
    for name in names:
        out[name] = name if is_plain(name) else f"_mm{len(out)}"
    return out


class SafeSpec:
    """formulaic's model spec, evaluated on the identifiers of the fit's columns.

    Attributes other than :meth:`get_model_matrix` are formulaic's own.
    """

    def __init__(self, spec: Any, idents: dict[str, str], factors: set[str]):
        self.spec = spec
        self.idents = idents
        self.factors = factors

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("spec", "idents", "factors"):  # e.g. while unpickling
            raise AttributeError(name)
        return getattr(self.spec, name)

    def get_model_matrix(self, data: pd.DataFrame, **kwargs: Any) -> Any:
        """The same columns on new data (same coding, same transforms' state)."""
        return self.spec.get_model_matrix(_renamed(data, self.idents, self.factors),
                                          context=safe_context(), **kwargs)

    def matrix_of(self, text: str, data: pd.DataFrame) -> Any:
        """A fresh matrix of ``text`` written in this spec's own terms (e.g. one of its
        term labels), on ``data`` with the user's column names."""
        return formulaic.model_matrix(text, _renamed(data, self.idents, self.factors),
                                      context=safe_context(), na_action="ignore")

    def term_alone(self, label: str, data: pd.DataFrame) -> Evaluated:
        """One of this spec's terms (its label, e.g. ``f`` or ``x:f``) as a matrix of its
        own with every column it has alone: all levels of a factor, as in ``0 + f``."""
        text = label if label == "1" else f"0 + {label}"
        return _evaluated(self.matrix_of(text, data), self.idents, self.factors)


@dataclass(frozen=True, eq=False)
class Evaluated:
    """What formulaic made of one piece, with the user's column names.

    ``columns`` are formulaic's names with the user's names put back (as formulaic would
    name them); ``names`` are the same in the gem's vocabulary (``intercept``,
    ``f_lvl_b``), where only formulaic's own intercept is ``intercept``.
    """

    values: Any  # formulaic's matrix, or an array for columns built without it
    columns: list[str]
    names: list[str]
    model_spec: SafeSpec

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.values, dtype=dtype)


def evaluate_piece(text: str, data: pd.DataFrame, formula: str, offset: int, *,
                   response: bool = False, as_offset: bool = False) -> Evaluated:
    """Check ``text`` (a piece of ``formula`` starting at ``offset``) and evaluate it.

    ``response`` evaluates it as the left side of ``~``; ``as_offset`` as the
    expression of ``offset()``.
    """
    piece = (check_offset if as_offset else check_piece)(text, formula, offset)
    idents = identifiers(piece.column_names)
    for name, position in piece.columns:
        if name not in data.columns:
            raise missing_column_error(name, [str(c) for c in data.columns], formula, position)
    rendered = piece.render(idents.__getitem__)
    spec_text = f"{rendered} ~ 1" if response else (f"0 + {rendered}" if as_offset else rendered)
    frame = _renamed(data, idents, piece.factor_columns)
    try:
        matrices = formulaic.model_matrix(spec_text, frame, context=safe_context(),
                                          na_action="ignore")
    except (formulaic_errors.FormulaicError, SyntaxError) as exc:
        raise formulaic_failure(exc, formula, offset, text) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise DataError(f"cannot evaluate '{text.strip()}' on the data: {exc}") from None
    matrix = matrices.lhs if response else matrices
    return _evaluated(matrix, idents, piece.factor_columns)


def formulaic_spec(text: str, data: pd.DataFrame, reads: Iterable[str]) -> SafeSpec:
    """formulaic's spec of ``text`` (a checked piece whose columns ``reads`` all have
    plain names, see :func:`is_plain`) built on ``data``."""
    idents = {name: name for name in reads}
    matrix = formulaic.model_matrix(text, _renamed(data, idents, set()), context=safe_context(),
                                    na_action="ignore")
    return SafeSpec(matrix.model_spec, idents, set())


def plain_evaluated(values: np.ndarray, internal: list[str], spec: Any) -> Evaluated:
    """Columns built without formulaic from plain column names, named as formulaic names
    them (``internal``), with their gem names."""
    return Evaluated(values, list(internal), list(_plain_gem_names(tuple(internal))), spec)


@lru_cache(maxsize=1024)
def _plain_gem_names(internal: tuple[str, ...]) -> tuple[str, ...]:
    """The gem's names of columns named by plain column names (the same for every fit
    of a formula: worked out once)."""
    return tuple(_gem(c, {}) for c in internal)


def _evaluated(matrix: Any, idents: dict[str, str], factors: set[str]) -> Evaluated:
    """formulaic's matrix with the user's column names put back."""
    reverse = {ident: name for name, ident in idents.items() if ident != name}
    internal = [str(c) for c in matrix.columns]
    columns = [restore(c, reverse) for c in internal]
    names = [_gem(c, reverse) for c in internal]
    return Evaluated(matrix, columns, names, SafeSpec(matrix.model_spec, idents, factors))


def _renamed(data: pd.DataFrame, idents: dict[str, str], factors: set[str]) -> pd.DataFrame:
    """The columns a piece reads, under their identifiers (other columns left out).

    Integer columns become floats, as every number is in R: numpy's integer arithmetic
    would wrap around silently (``I(Days^30)``). Columns read inside ``C()`` keep their
    type, since their values name the levels.
    """
    present = [name for name in idents if name in data.columns]
    refuse_duplicates(data.columns, present)
    frame = data.loc[:, present].copy()
    for name in present:
        column = frame[name]
        if name not in factors and pd.api.types.is_integer_dtype(column) \
                and not pd.api.types.is_bool_dtype(column):
            frame[name] = column.astype(float)
    frame.columns = [idents[name] for name in present]
    return frame


def restore(internal: str, reverse: dict[str, str]) -> str:
    """A formulaic column name with the user's column names put back.

    Only the factor part of each ``:``-separated part is rewritten, never a level label
    (``_mm0[T._mm1]`` -> ``f[T._mm1]``).
    """
    if not reverse:
        return internal
    parts = []
    for part in split_interaction(internal):
        bracket = part.find("[")
        head, tail = (part, "") if bracket < 0 else (part[:bracket], part[bracket:])
        parts.append(_INTERNAL.sub(lambda m: reverse.get(m.group(), m.group()), head) + tail)
    return ":".join(parts)


def _gem(internal: str, reverse: dict[str, str]) -> str:
    """The gem's name of a column: only formulaic's intercept becomes ``intercept``."""
    parts = []
    for part in split_interaction(internal):
        restored = restore(part, reverse)
        parts.append("intercept" if part == "Intercept"
                     else restored if restored == "Intercept" else gem_name(restored))
    return ":".join(parts)


def expression_values(text: str, data: pd.DataFrame, formula: str, offset: int) -> np.ndarray:
    """The expression of an ``offset()`` or a ``cbind()`` argument (``text``, a piece of
    ``formula`` starting at ``offset``) on the rows of ``data``, as an n x k array.
    Plain arithmetic of numeric columns is evaluated directly (:mod:`.arithmetic`),
    anything else by formulaic; both check the piece first."""
    piece = check_offset(text, formula, offset)
    for name, position in piece.columns:
        if name not in data.columns:
            raise missing_column_error(name, [str(c) for c in data.columns], formula, position)
    values = arithmetic_values(text, data)
    if values is not None:
        return values[:, None]
    return np.asarray(evaluate_piece(text, data, formula, offset, as_offset=True), dtype=float)


def offset_values(parsed_offsets: Iterable[Any], data: pd.DataFrame,
                  formula: str) -> np.ndarray | None:
    """The sum of the formula's ``offset()`` expressions on the rows of ``data``."""
    total = None
    for term in parsed_offsets:
        array = expression_values(term.expr, data, formula, term.expr_offset)
        if array.ndim != 2 or array.shape[1] != 1:
            raise FormulaError("offset() must give one numeric value per row; "
                               f"'{term.expr}' gives {array.shape[1]} columns", formula,
                               term.span[0])
        bad = np.flatnonzero(~np.isfinite(array[:, 0]))
        if len(bad):
            raise DataError(f"offset({term.expr}) is {array[bad[0], 0]} at row {bad[0]} of the "
                            "model's rows; an offset must be a finite number on every row")
        total = array[:, 0] if total is None else total + array[:, 0]
    return total
