"""Random-effects terms: grouping-factor codes, per-row z columns, labels.

Bars on the same grouping factor are amalgamated into one term (as MixedModels.jl
does): ``(1 | g) + (0 + x | g)`` is one two-column term whose covariance factor is
diagonal, which is exactly ``(x || g)``. The fit is the same as lme4's separate terms.
Each bar keeps its own covariance structure (``us``, ``diag``, ``cs``, ``ar1``); the
term's structure is their block-diagonal combination. A double bar ``(expr || g)`` is
split as lme4 splits it, by the terms of ``expr``: ``(x + f || g)`` is ``(1 | g) + (0 + x
| g) + (0 + f | g)``, so a factor's indicator columns stay one correlated block (the fully
diagonal model is ``diag(x + f | g)``).

Levels of an interaction grouping ``a:b`` are keyed by the tuple of their parts, so that
(``p:q``, ``r``) and (``p``, ``q:r``) stay two levels; their printed labels join the
parts with ':' and put a part that itself contains ':' in backticks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData
from mixed_models.design.columns import small_as_objects, sorted_text_codes
from mixed_models.design.evaluation import Evaluated, SafeSpec, formulaic_errors
from mixed_models.design.fixed import evaluate
from mixed_models.design.names import gem_names, level_label
from mixed_models.errors import DataError, FormulaError, ModelError
from mixed_models.formula.terms import ParsedFormula, RandomTerm

#: A bar's matrix and the pieces its covariance blocks are made of.
Bar = tuple[Evaluated, list[Evaluated]]


@dataclass(frozen=True, eq=False)
class RandomPart:
    """One bar of the formula within an amalgamated term.

    ``blocks`` are the specs of a split double bar's pieces, one per term of its left
    side (lme4's expansion of ``||``); empty for a bar that is one block.
    """

    term: RandomTerm
    spec: SafeSpec
    columns: slice
    blocks: tuple[SafeSpec, ...] = ()

    @property
    def builders(self) -> tuple[SafeSpec, ...]:
        """The specs that make the part's columns: the bar's own spec, or one per term
        of a split double bar (``spec`` then lists the terms as written)."""
        return self.blocks or (self.spec,)

    @property
    def block_sizes(self) -> list[int]:
        """Number of columns of each covariance block of the part."""
        return [len(b.column_names) for b in self.builders]


@dataclass(frozen=True, eq=False)
class RandomDesign:
    """One grouping factor with all the random effects attached to it.

    Attributes
    ----------
    group
        Name of the grouping factor (``a:b`` for an interaction).
    grouping
        The data columns whose interaction is the grouping factor.
    levels
        Level labels, in code order (unique).
    codes
        Level code of each row.
    z
        n x S array of the term's columns.
    columns
        Names of the S columns (gem vocabulary: ``intercept``, ``Age``...).
    parts
        The formula bars that make up the term.
    covariance
        Pattern of the relative covariance factor.
    keys
        Each level as the tuple of its grouping columns' labels, in code order.
    """

    group: str
    grouping: tuple[str, ...]
    levels: list[str]
    codes: np.ndarray
    z: np.ndarray
    columns: list[str]
    parts: list[RandomPart]
    covariance: CovarianceStructure
    keys: list[tuple[str, ...]]

    @property
    def n_levels(self) -> int:
        """Number of levels of the grouping factor."""
        return len(self.levels)

    def term_data(self) -> TermData:
        """The arrays the numeric core works with."""
        return TermData(self.codes, self.z, self.n_levels, self.covariance)

    def z_for_data(self, data: pd.DataFrame) -> np.ndarray:
        """The term's columns evaluated on new data."""
        try:
            blocks = [np.asarray(b.get_model_matrix(data, na_action="ignore"), dtype=float)
                      for p in self.parts for b in p.builders]
        except formulaic_errors.FormulaicError as exc:
            raise DataError(f"cannot evaluate the random effects of '{self.group}' on the "
                            f"new data: {str(exc).splitlines()[0]}") from None
        return np.column_stack(blocks)

    def codes_for_data(self, data: pd.DataFrame) -> np.ndarray:
        """Level codes of new data; -1 where the level was not seen in the fit."""
        index = {key: i for i, key in enumerate(self.keys)}
        return np.array([index.get(key, -1) for key in _row_keys(data, self.grouping)],
                        dtype=np.intp)


def random_designs(parsed: ParsedFormula, data: pd.DataFrame | None,
                   built: Callable[[RandomTerm], Bar] | None = None,
                   columns: Mapping[str, pd.Series] | None = None) -> list[RandomDesign]:
    """One amalgamated term per grouping factor, in order of first appearance.

    ``built(term)``, when given, is a bar's matrix and its pieces as the design's fast
    path made them; ``columns`` are ``data``'s columns by name, when the caller has them.
    With both, ``data`` (the model frame) is not read and may be None.
    """
    by_group: dict[tuple[str, ...], list[RandomTerm]] = {}
    for term in parsed.random:
        by_group.setdefault(term.grouping, []).append(term)
    evaluate_bar = built or (lambda term: _evaluate_bar(term, parsed.formula, data))
    grouping = data if columns is None else columns
    return [_design(terms, parsed.formula, grouping, evaluate_bar)
            for terms in by_group.values()]


def _evaluate_bar(term: RandomTerm, formula: str, data: pd.DataFrame) -> Bar:
    """A bar's matrix by formulaic, and its pieces (a double bar split by terms)."""
    mm = evaluate(term.expr, data, formula, term.expr_offset)
    return mm, _split_by_terms(mm, data) if term.double_bar else [mm]


def _design(terms: list[RandomTerm], formula: str,
            data: pd.DataFrame | Mapping[str, pd.Series],
            evaluate_bar: Callable[[RandomTerm], Bar]) -> RandomDesign:
    parts, blocks, names, structures = [], [], [], []
    for term in terms:
        mm, pieces = evaluate_bar(term)
        start = len(names)
        for piece in pieces:
            cols = piece.names if len(set(piece.names)) == len(piece.names) \
                else gem_names(piece.columns)
            if not cols:
                raise FormulaError("the random-effects term has no columns", formula,
                                   term.span[0])
            clash = set(cols) & set(names)
            if clash:
                raise FormulaError(
                    f"random effect {sorted(clash)} appears twice for grouping factor "
                    f"'{term.group_name}'", formula, term.span[0],
                )
            block = np.asarray(piece, dtype=float)
            _refuse_zero_columns(block, cols, term, formula)
            shape = replace(term, structure="us", correlated=True, double_bar=False) \
                if term.double_bar else term
            structures.append(_structure(shape, len(cols), formula))
            blocks.append(block)
            names += cols
        split = tuple(p.model_spec for p in pieces) if term.double_bar else ()
        parts.append(RandomPart(term, mm.model_spec, slice(start, len(names)), split))
    codes, keys = grouping_levels(data, terms[0].grouping)
    covariance = CovarianceStructure.block_diagonal(structures)
    return RandomDesign(terms[0].group_name, terms[0].grouping, level_labels(keys), codes,
                        np.column_stack(blocks), names, parts, covariance, keys)


def _split_by_terms(mm: Evaluated, data: pd.DataFrame) -> list[Evaluated]:
    """A double bar's pieces as lme4 splits it: each term of the left side alone, with
    all its columns (``(x + f || g)`` is ``(1 | g) + (0 + x | g) + (0 + f | g)``, a
    factor's indicator columns one block)."""
    return [mm.model_spec.term_alone(str(term), data)
            for term, cols in mm.model_spec.term_slices.items() if cols.stop > cols.start]


def _refuse_zero_columns(block: np.ndarray, names: list[str], term: RandomTerm,
                         formula: str) -> None:
    """A column that is zero in every row adds nothing to the likelihood: its variance
    would be reported at whatever value the optimizer started from."""
    zero = [name for name, col in zip(names, block.T) if not np.any(col)]
    if zero:
        bar = formula[term.span[0]:term.span[1]] or f"({term.expr} | {term.group_name})"
        raise ModelError(
            f"random-effects column(s) {zero} of the term {bar} are zero in every row: the "
            "data say nothing about their variance. Remove them from the term (or check "
            "the data)"
        )


def _structure(term: RandomTerm, size: int, formula: str) -> CovarianceStructure:
    """The term's covariance structure (lme4 2.x's wrappers; ``us`` by default)."""
    try:
        return CovarianceStructure.named(term.structure, size, term.homogeneous)
    except ValueError as exc:
        raise FormulaError(str(exc), formula, term.span[0]) from None


def grouping_codes(data: pd.DataFrame, grouping: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of the (interaction of the) grouping columns.

    Levels are sorted (a categorical keeps its category order); unused levels are
    dropped; an interaction's label joins its parts with ':' (see :func:`level_labels`).
    """
    codes, keys = grouping_levels(data, grouping)
    return codes, level_labels(keys)


def grouping_levels(data: pd.DataFrame | Mapping[str, pd.Series],
                    grouping: tuple[str, ...]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Codes of the rows and each level as the tuple of its columns' labels (``data``
    is a frame or its columns by name)."""
    per_column = [_column_codes(data[name], name) for name in grouping]
    if len(per_column) == 1:
        codes, labels = per_column[0]
        return codes, [(label,) for label in labels]
    stacked = np.column_stack([c for c, _ in per_column])
    unique, codes = np.unique(stacked, axis=0, return_inverse=True)
    keys = [tuple(per_column[k][1][code] for k, code in enumerate(row)) for row in unique]
    return codes.ravel().astype(np.intp), keys


def level_labels(keys: list[tuple[str, ...]]) -> list[str]:
    """Printed labels of levels: the parts joined by ':', a part containing ':' (or a
    backtick) in backticks so that no two levels print the same."""
    if all(len(key) == 1 for key in keys):
        return [key[0] for key in keys]
    labels = [":".join(_quote_part(part) for part in key) for key in keys]
    if len(set(labels)) != len(labels):
        first = next(label for label in labels if labels.count(label) > 1)
        raise DataError(f"two levels of an interaction grouping print as {first!r}; rename "
                        "the levels (e.g. without ':' and backticks)")
    return labels


def _quote_part(part: str) -> str:
    return f"`{part}`" if ":" in part or "`" in part else part


def _column_codes(column: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
        codes = column.cat.codes.to_numpy().astype(np.intp)
        labels = [level_label(v) for v in column.cat.categories]
    elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu":
        # integers sort and compare as numbers either way: numpy's unique is pandas'
        # sorted factorize without its overhead
        uniques, codes = np.unique(column.to_numpy(), return_inverse=True)
        return codes.ravel().astype(np.intp), list(map(str, uniques.tolist()))  # distinct
    else:
        values = small_as_objects(column)
        text = sorted_text_codes(values)
        if text is not None:  # distinct texts: distinct labels
            return text[0], list(map(str, text[1]))
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # mixed types cannot be sorted: sort their text
            codes, uniques = pd.factorize(column.astype(str), sort=True)
        codes, labels = codes.astype(np.intp), [level_label(v) for v in uniques]
    if len(set(labels)) != len(labels):
        same = next(label for label in labels if labels.count(label) > 1)
        raise DataError(
            f"grouping column '{name}' has different values that print as {same!r} (e.g. "
            "the number 1 and the text '1'); levels are matched by their labels, so make "
            f"the column one type (e.g. df[{name!r}].astype(str))"
        )
    return codes, labels


def _row_keys(data: pd.DataFrame, grouping: tuple[str, ...]) -> list[tuple[str, ...]]:
    columns = [[level_label(v) for v in data[name].tolist()] for name in grouping]
    return list(zip(*columns))
