"""Random-effects terms: grouping-factor codes, per-row z columns, labels.

Bars on the same grouping factor are amalgamated into one term (as MixedModels.jl
does): ``(1 | g) + (0 + x | g)`` is one two-column term whose covariance factor is
diagonal, which is exactly ``(x || g)``. The fit is the same as lme4's separate terms.
Each bar keeps its own covariance structure (``us``, ``diag``, ``cs``, ``ar1``); the
term's structure is their block-diagonal combination.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic.model_spec import ModelSpec

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData
from mixed_models.design.fixed import evaluate
from mixed_models.design.names import gem_names, level_label
from mixed_models.errors import FormulaError
from mixed_models.formula.terms import ParsedFormula, RandomTerm


@dataclass(frozen=True, eq=False)
class RandomPart:
    """One bar of the formula within an amalgamated term."""

    term: RandomTerm
    spec: ModelSpec
    columns: slice


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
        Level labels, in code order.
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
    """

    group: str
    grouping: tuple[str, ...]
    levels: list[str]
    codes: np.ndarray
    z: np.ndarray
    columns: list[str]
    parts: list[RandomPart]
    covariance: CovarianceStructure

    @property
    def n_levels(self) -> int:
        """Number of levels of the grouping factor."""
        return len(self.levels)

    def term_data(self) -> TermData:
        """The arrays the numeric core works with."""
        return TermData(self.codes, self.z, self.n_levels, self.covariance)

    def z_for_data(self, data: pd.DataFrame) -> np.ndarray:
        """The term's columns evaluated on new data."""
        blocks = [np.asarray(p.spec.get_model_matrix(data, na_action="ignore"), dtype=float)
                  for p in self.parts]
        return np.column_stack(blocks)

    def codes_for_data(self, data: pd.DataFrame) -> np.ndarray:
        """Level codes of new data; -1 where the level was not seen in the fit."""
        labels = _row_labels(data, self.grouping)
        index = {label: i for i, label in enumerate(self.levels)}
        return np.array([index.get(label, -1) for label in labels], dtype=np.intp)


def random_designs(parsed: ParsedFormula, data: pd.DataFrame) -> list[RandomDesign]:
    """One amalgamated term per grouping factor, in order of first appearance."""
    by_group: dict[tuple[str, ...], list[RandomTerm]] = {}
    for term in parsed.random:
        by_group.setdefault(term.grouping, []).append(term)
    return [_design(terms, parsed.formula, data) for terms in by_group.values()]


def _design(terms: list[RandomTerm], formula: str, data: pd.DataFrame) -> RandomDesign:
    parts, blocks, names, structures = [], [], [], []
    for term in terms:
        mm = evaluate(term.expr, data, formula, term.expr_offset)
        block = np.asarray(mm, dtype=float)
        cols = mm.names if len(set(mm.names)) == len(mm.names) else gem_names(mm.columns)
        if not cols:
            raise FormulaError("the random-effects term has no columns", formula, term.span[0])
        clash = set(cols) & set(names)
        if clash:
            raise FormulaError(
                f"random effect {sorted(clash)} appears twice for grouping factor "
                f"'{term.group_name}'", formula, term.span[0],
            )
        parts.append(RandomPart(term, mm.model_spec, slice(len(names), len(names) + len(cols))))
        size = len(cols)
        structures.append(_structure(term, size, formula))
        blocks.append(block)
        names += cols
    codes, levels = grouping_codes(data, terms[0].grouping)
    covariance = CovarianceStructure.block_diagonal(structures)
    return RandomDesign(terms[0].group_name, terms[0].grouping, levels, codes,
                        np.column_stack(blocks), names, parts, covariance)


def _structure(term: RandomTerm, size: int, formula: str) -> CovarianceStructure:
    """The term's covariance structure (lme4 2.x's wrappers; ``us`` by default)."""
    try:
        return CovarianceStructure.named(term.structure, size, term.homogeneous)
    except ValueError as exc:
        raise FormulaError(str(exc), formula, term.span[0]) from None


def grouping_codes(data: pd.DataFrame, grouping: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of the (interaction of the) grouping columns.

    Levels are sorted (a categorical keeps its category order); unused levels are
    dropped; an interaction's label joins its parts with ':'.
    """
    per_column = [_column_codes(data[name]) for name in grouping]
    if len(per_column) == 1:
        return per_column[0]
    stacked = np.column_stack([c for c, _ in per_column])
    unique, codes = np.unique(stacked, axis=0, return_inverse=True)
    labels = [":".join(per_column[k][1][code] for k, code in enumerate(row)) for row in unique]
    return codes.ravel().astype(np.intp), labels


def _column_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
        return column.cat.codes.to_numpy().astype(np.intp), \
            [level_label(v) for v in column.cat.categories]
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # mixed types cannot be sorted: sort their text
        codes, uniques = pd.factorize(column.astype(str), sort=True)
    return codes.astype(np.intp), [level_label(v) for v in uniques]


def _row_labels(data: pd.DataFrame, grouping: tuple[str, ...]) -> list[str]:
    columns = [[level_label(v) for v in data[name].tolist()] for name in grouping]
    return [":".join(parts) for parts in zip(*columns)]
