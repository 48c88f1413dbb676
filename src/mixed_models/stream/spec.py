"""The fixed spec of a streamed design: every chunk's X, y, weights, offset, codes and Z.

Built once after pass one from its levels and a prototype chunk: categorical columns
are given the full level set as pandas categories, so formulaic codes every chunk with
the same columns as the whole data; grouping codes index the full level list. The
specs of the fixed part and of each random term are formulaic's, evaluated with
:mod:`mixed_models.design`'s safe evaluator; transforms whose state depends on the
whole column (``scale(x)``, ``center(x)``, ``poly(x, 2)``) are refused, since a chunk
would compute that state from its own rows.

Unstable: the fields may change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mixed_models.design.checks import check_finite, check_weights
from mixed_models.design.evaluation import offset_values
from mixed_models.design.fixed import evaluate, response_vector
from mixed_models.design.names import level_label
from mixed_models.design.random import RandomDesign, level_labels, random_designs
from mixed_models.errors import DataError
from mixed_models.formula.terms import ParsedFormula
from mixed_models.stream.scan import Scan, ScanPlan, category_columns, ordered_keys, \
    ordered_levels, selected_rows


@dataclass(frozen=True, eq=False)
class ChunkArrays:
    """One chunk's complete rows as the arrays of the model (all of formulaic's X
    columns; ``rows`` are their positions within the chunk)."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    offset: np.ndarray | None
    codes: list[np.ndarray]
    z: list[np.ndarray]
    rows: np.ndarray


@dataclass(frozen=True, eq=False)
class StreamSpec:
    """How every chunk becomes arrays.

    Attributes
    ----------
    parsed, plan
        The formula and what the passes read.
    levels
        Level values of each categorical or grouping column, in design order.
    x_names, x_spec
        Names and formulaic spec of all the fixed-effects columns (before the rank test).
    random
        Random terms (largest first, as build_design sorts them) with their full levels
        and keys; their codes and z are empty.
    """

    parsed: ParsedFormula
    plan: ScanPlan
    levels: dict[str, list]
    x_names: list[str]
    x_spec: object
    random: list[RandomDesign]
    key_index: list[dict[tuple, int]] = field(default_factory=list)

    def frame(self, chunk: pd.DataFrame, start: int | None
              ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(complete rows with the full categories, their positions, weights, offset)."""
        selected, complete = selected_rows(chunk, self.plan, start)
        rows = np.flatnonzero(complete)
        data = selected.iloc[rows].reset_index(drop=True)
        data = data.assign(**{name: pd.Categorical(data[name], categories=values)
                              for name, values in self.levels.items()
                              if name in self.plan.predictors or name in self.plan.factors})
        w = None if self.plan.weights is None else data[self.plan.weights].to_numpy(float)
        o = None if self.plan.offset is None else data[self.plan.offset].to_numpy(float)
        in_formula = offset_values(self.parsed.offsets, data, self.parsed.formula)
        if in_formula is not None:
            o = in_formula if o is None else o + in_formula
        where = rows + (start or 0)
        check_finite(data[list(self.plan.needed)], w, o, where)
        check_weights(w, where)
        return data, rows, w, o

    def arrays(self, chunk: pd.DataFrame, start: int | None) -> ChunkArrays:
        """The model's arrays of one chunk's complete rows."""
        data, rows, w, o = self.frame(chunk, start)
        if not len(data):  # formulaic needs rows; an empty chunk adds nothing
            return ChunkArrays(np.zeros((0, len(self.x_names))), np.zeros(0), w, o,
                               [np.zeros(0, np.intp) for _ in self.random],
                               [np.zeros((0, t.z.shape[1])) for t in self.random], rows)
        y = response_vector(self.parsed, data)
        x = np.asarray(self.x_spec.get_model_matrix(data, na_action="ignore"), dtype=float)
        codes = [self.codes(term, keys, data) for term, keys in zip(self.random, self.key_index)]
        z = [term.z_for_data(data) for term in self.random]
        return ChunkArrays(x.reshape(len(data), len(self.x_names)), y, w, o, codes, z, rows)

    def codes(self, term: RandomDesign, index: dict[tuple, int], data: pd.DataFrame
              ) -> np.ndarray:
        """Level codes of the rows in the term's full level list."""
        if len(term.grouping) == 1:
            values = self.levels[term.grouping[0]]
            column = data[term.grouping[0]]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            return pd.Categorical(column, categories=values).codes.astype(np.intp)
        rows = data[list(term.grouping)].astype(object).itertuples(index=False)
        return np.fromiter((index[tuple(r)] for r in rows), dtype=np.intp, count=len(data))


def build_spec(parsed: ParsedFormula, plan: ScanPlan, scan: Scan,
               prototype: pd.DataFrame) -> StreamSpec:
    """The spec of every chunk from pass one's scan and some rows of the source."""
    if scan.n_complete == 0:
        raise DataError(f"no complete rows: every one of the {scan.n_input} rows has a "
                        f"missing value in the model's columns {list(plan.needed)}")
    levels = {name: ordered_levels(scan, name) for name in category_columns(plan, scan.kinds)}
    spec = StreamSpec(parsed, plan, levels, [], None, [])
    data, _, _, _ = spec.frame(prototype, 0)
    if not len(data):
        raise DataError("the first chunk of rows has no complete row; put complete rows "
                        "first or use larger chunks")
    text = parsed.fixed if parsed.fixed.strip() else "1"
    fixed = evaluate(text, data, parsed.formula, parsed.fixed_offset)
    response = evaluate(parsed.response, data, parsed.formula, parsed.response_offset,
                        response=True)
    terms = [_full_levels(term, scan, levels) for term in random_designs(parsed, data)]
    terms = sorted(terms, key=lambda r: -r[0].n_levels)
    random = [t for t, _ in terms]
    for what, s in [("the response", response.model_spec), ("the fixed effects", fixed.model_spec)] + \
            [(f"the random effects of '{r.group}'", b) for r in random
             for p in r.parts for b in p.builders]:
        _refuse_stateful(s, what)
    return replace(spec, x_names=list(fixed.names), x_spec=fixed.model_spec, random=random,
                   key_index=[k for _, k in terms])


def _full_levels(term: RandomDesign, scan: Scan, levels: dict[str, list]
                 ) -> tuple[RandomDesign, dict[tuple, int]]:
    """The term with every level of the data, and its levels' index by value tuple."""
    keys = ordered_keys(scan, term.grouping, levels)
    labels = [tuple(level_label(v) for v in key) for key in keys]
    full = replace(term, levels=level_labels(labels), keys=labels,
                   codes=np.zeros(0, dtype=np.intp), z=np.zeros((0, term.z.shape[1])))
    return full, {key: i for i, key in enumerate(keys)}


def _refuse_stateful(spec: object, what: str) -> None:
    state = getattr(getattr(spec, "spec", spec), "transform_state", None)
    if state:
        names = ", ".join(sorted(state))
        raise DataError(
            f"{what} use(s) {names}, whose centre or scale comes from the whole column; a "
            "streamed fit sees the rows a chunk at a time. Compute the transformed column "
            "before fitting (e.g. with the data set's mean and SD) and use it instead")
