"""The matrices of simple formulas, built with numpy instead of formulaic.

Most models are written with plain columns: numbers, text or categorical factors with
treatment contrasts, an intercept, products of numeric columns, and bars such as
``(1 + Days | Subject)``. For such a formula this module builds the response, X and
each bar's columns directly, with exactly the columns, names and order formulaic gives
(a table of formulas in the tests compares the two). Anything else (calls, ``*``,
``/``, ``^``, interactions with a factor, booleans, extension dtypes, names formulaic
would need renamed) is left to formulaic: :func:`plan` returns None.

Each matrix keeps a :class:`FastSpec`: it knows its column names, and builds formulaic's
spec from the fit's data on first use (predictions on new data, term-wise tests), so
that new data are answered exactly as for a formula formulaic built.

Unstable: which formulas qualify may widen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mixed_models.design.columns import small_as_objects, sorted_codes
from mixed_models.design.evaluation import Evaluated, SafeSpec, formulaic_spec, is_plain
from mixed_models.design.evaluation import plain_evaluated
from mixed_models.design.frame import ModelFrame
from mixed_models.design.memo import per_object
from mixed_models.formula.response import response_piece
from mixed_models.formula.safe import Chain, Column, Number, Piece, check_piece
from mixed_models.formula.terms import ParsedFormula, RandomTerm


@dataclass(frozen=True)
class SimpleFormula:
    """A piece as an intercept flag and its terms (tuples of column names), in
    formulaic's order: by number of columns, then as written."""

    intercept: bool
    terms: tuple[tuple[str, ...], ...]

    def label(self, term: tuple[str, ...]) -> str:
        """formulaic's label of a term."""
        return ":".join(term)


@per_object
def simple_formula(piece: Piece) -> SimpleFormula | None:
    """The piece as a :class:`SimpleFormula`, or None when it is not one."""
    tree = piece.tree
    items = tree.items if isinstance(tree, Chain) and tree.level == 1 else (("", tree),)
    intercept, numbers, terms = True, 0, []
    for op, node in items:
        if isinstance(node, Number):
            numbers += 1
            if op == "-" and node.text != "1":
                return None
            intercept = node.text == "1" and op != "-"
        elif op == "-":
            return None
        elif isinstance(node, Column):
            terms.append((node.name,))
        elif isinstance(node, Chain) and node.level == 4 \
                and all(isinstance(item, Column) for _, item in node.items):
            terms.append(tuple(item.name for _, item in node.items))
        else:
            return None
    distinct = {frozenset(term) for term in terms}
    if numbers > 1 or len(distinct) != len(terms) or any(len(set(t)) != len(t) for t in terms):
        return None
    if not all(is_plain(name) for term in terms for name in term):
        return None
    return SimpleFormula(intercept, tuple(sorted(terms, key=len)))


def _numeric(column: pd.Series) -> bool:
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu"


def _levels(column: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Codes and levels of a text or categorical column (formulaic's order: the
    categories of a categorical, else sorted); None for other columns."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
        if not all(isinstance(level, str) for level in levels):
            return None
        return column.cat.codes.to_numpy(), levels
    text = isinstance(column.dtype, pd.StringDtype) or (
        column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string")
    if not text:
        return None
    codes, uniques = sorted_codes(small_as_objects(column))
    return codes, list(uniques)


#: The model frame's columns by name (a frame, or its columns already taken out).
Columns = pd.DataFrame | Mapping[str, pd.Series]


def _columns(formula: SimpleFormula, data: Columns,
             n: int) -> tuple[np.ndarray, list[str]] | None:
    """X of the formula on the ``n`` rows and formulaic's names of its columns; None
    when a column is of a kind this module leaves to formulaic."""
    blocks, names = [], []
    if formula.intercept:
        blocks.append(np.ones((n, 1)))
        names.append("Intercept")
    reduced = formula.intercept  # the first factor is coded in full without an intercept
    for term in formula.terms:
        columns = [data[name] for name in term]
        if all(_numeric(c) for c in columns):
            product = columns[0].to_numpy(dtype=float)
            for column in columns[1:]:
                product = product * column.to_numpy(dtype=float)
            blocks.append(product[:, None])
            names.append(formula.label(term))
            continue
        coded = _levels(columns[0]) if len(term) == 1 else None
        if coded is None:
            return None
        codes, levels = coded
        first = 1 if reduced else 0
        blocks.append((codes[:, None] == np.arange(first, len(levels))[None, :]).astype(float))
        form = "{}[T.{}]" if reduced else "{}[{}]"
        names += [form.format(term[0], level) for level in levels[first:]]
        reduced = True
    matrix = np.hstack(blocks) if blocks else np.zeros((n, 0))
    return matrix, names


class FastSpec:
    """The spec of a matrix built here: its column names, and formulaic's spec built
    from the fit's data when anything else is asked (new data, terms, encoders).

    Parameters
    ----------
    column_names
        formulaic's names of the columns.
    frame
        The fit's model frame (its ``data`` is read when formulaic's spec is built).
    text
        The piece formulaic would have been given.
    reads
        The data columns the piece reads.
    parent, label
        For one term of a split double bar: the bar's spec and the term's label.
    """

    _OWN = ("column_names", "frame", "text", "reads", "parent", "label", "_built")

    def __init__(self, column_names: list[str], frame: ModelFrame, text: str = "",
                 reads: tuple[str, ...] = (), parent: FastSpec | None = None,
                 label: str = "") -> None:
        self.column_names = tuple(column_names)
        self.frame = frame
        self.text = text
        self.reads = reads
        self.parent = parent
        self.label = label
        self._built: SafeSpec | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in self._OWN:  # e.g. while unpickling
            raise AttributeError(name)
        return getattr(self.formulaic(), name)

    @property
    def data(self) -> pd.DataFrame:
        """The fit's data (the model frame's rows and columns)."""
        return self.frame.data

    def formulaic(self) -> SafeSpec:
        """formulaic's spec of the same columns, built from the fit's data once."""
        if self._built is None:
            if self.parent is None:
                self._built = formulaic_spec(self.text, self.data, self.reads)
            else:
                self._built = self.parent.formulaic().term_alone(self.label, self.data).model_spec
        return self._built

    def get_model_matrix(self, data: pd.DataFrame, **kwargs: Any) -> Any:
        """The same columns on new data, as formulaic's spec gives them."""
        return self.formulaic().get_model_matrix(data, **kwargs)


@dataclass(frozen=True, eq=False)
class FastPlan:
    """The response, X and every bar's matrices of a formula that qualifies.

    ``bars`` holds, for each random term in the parsed formula's order, its matrix and,
    for a double bar, its pieces (each term of the left side alone).
    """

    y: np.ndarray | None
    fixed: Evaluated
    bars: tuple[tuple[Evaluated, tuple[Evaluated, ...]], ...]

    def bar(self, parsed: ParsedFormula, term: RandomTerm) -> tuple[Evaluated, list[Evaluated]]:
        """The matrix of ``term`` and the pieces the design uses (itself, or a double
        bar's terms)."""
        matrix, split = self.bars[parsed.random.index(term)]
        return matrix, list(split) if term.double_bar else [matrix]


def plan(parsed: ParsedFormula, frame: ModelFrame, response: bool = True) -> FastPlan | None:
    """The matrices of the formula on the model frame, or None when formulaic is needed
    (the frame's columns are read, not its ``data``).

    A response that is not a plain numeric column (booleans, text, ``cbind()``, an
    expression) needs formulaic; without ``response`` (a binomial response, which the
    design builds itself) the plan has no ``y`` and only the matrices decide.
    """
    y = None
    cols = frame.columns
    if response:
        tree = response_piece(parsed).tree
        if not isinstance(tree, Column) or not is_plain(tree.name) \
                or not _numeric(cols[tree.name]):
            return None
        y = cols[tree.name].to_numpy(dtype=float)
    text = parsed.fixed if parsed.fixed.strip() else "1"
    fixed = _evaluate(check_piece(text, parsed.formula, parsed.fixed_offset), frame, cols)
    if fixed is None:
        return None
    bars = []
    for term in parsed.random:
        bar = _bar(term, parsed.formula, frame, cols)
        if bar is None:
            return None
        bars.append(bar)
    return FastPlan(y, fixed, tuple(bars))


def _evaluate(piece: Piece, frame: ModelFrame, cols: Columns) -> Evaluated | None:
    formula = simple_formula(piece)
    built = None if formula is None else _columns(formula, cols, len(frame.rows))
    if built is None:
        return None
    matrix, names = built
    spec = FastSpec(names, frame, piece.render(str), tuple(piece.column_names))
    return plain_evaluated(matrix, names, spec)


def _bar(term: RandomTerm, formula: str,
         frame: ModelFrame, cols: Columns) -> tuple[Evaluated, tuple[Evaluated, ...]] | None:
    piece = check_piece(term.expr, formula, term.expr_offset)
    whole = _evaluate(piece, frame, cols)
    if whole is None or not term.double_bar:
        return None if whole is None else (whole, ())
    simple = simple_formula(piece)
    assert simple is not None
    pieces = [SimpleFormula(True, ())] if simple.intercept else []
    pieces += [SimpleFormula(False, (t,)) for t in simple.terms]
    split = []
    for one in pieces:
        built = _columns(one, cols, len(frame.rows))
        assert built is not None  # the same columns as in the whole bar
        label = "1" if one.intercept else one.label(one.terms[0])
        spec = FastSpec(built[1], frame, parent=whole.model_spec, label=label)
        split.append(plain_evaluated(built[0], built[1], spec))
    return whole, tuple(split)
