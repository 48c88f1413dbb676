"""The reference grid of a fitted model, as R's emmeans builds it.

The grid crosses the levels of every factor of the fixed part (the levels that had rows
in the fit); each numeric covariate is held at its mean over the rows of the fit (or at
the values given in ``at``). A marginal mean of some factors is the average of the grid's
predictions over the combinations of the other factors, each combination weighted
equally (emmeans' default ``weights = "equal"``), so the result does not depend on how
many rows each cell had.

Unstable: only the fixed part's own columns are grid variables; a covariate that enters
through a transformation (``log(x)``) is held at the mean of ``x``, as emmeans does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.design.columns import CATEGORICAL, LOGICAL, NUMERIC, column_kind
from mixed_models.design.frame import formula_variables
from mixed_models.errors import InvalidArgumentError, NotFoundError
from mixed_models.fitted.record import FittedModel

OVERALL = "1"


@dataclass(frozen=True, eq=False)
class Means:
    """The rows of marginal means: their labels and their linear functions of beta.

    Attributes
    ----------
    labels
        One row per mean: the ``specs`` columns, then the ``by`` columns.
    linfct
        (means, p): each mean is ``linfct @ beta``.
    specs, by
        The variables the means are of, and those they are grouped by.
    """

    labels: pd.DataFrame
    linfct: np.ndarray
    specs: list[str]
    by: list[str]


def parse_specs(specs: str | Sequence[str]) -> list[str]:
    """``"A"``, ``"A:B"``, ``["A", "B"]`` or ``"1"`` (the overall mean) as a list."""
    if isinstance(specs, str):
        names = [s.strip() for s in specs.split(":")]
    elif isinstance(specs, Sequence) and all(isinstance(s, str) for s in specs):
        names = [s.strip() for s in specs]
    else:
        raise InvalidArgumentError(
            f"specs must be a variable's name, 'A:B' or a list of names, got {specs!r}")
    if names == [OVERALL]:
        return []
    if not names or any(not n for n in names):
        raise InvalidArgumentError(f"specs must name at least one variable, got {specs!r}")
    return names


def grid_values(fit: FittedModel, at: Mapping[str, object] | None = None
                ) -> dict[str, list[object]]:
    """Each variable of the fixed part with its grid values: a factor's levels, a
    covariate's mean (or the values of ``at``)."""
    design = fit.structure.require_design("marginal means")
    parsed = design.parsed
    data = design.frame.data
    names = formula_variables(parsed.fixed, parsed.formula, parsed.fixed_offset) \
        if parsed.fixed.strip() else set()
    names = [c for c in data.columns if c in names]
    at = dict(at or {})
    unknown = sorted(set(at) - set(names))
    if unknown:
        raise NotFoundError(f"at names {unknown}, which are not variables of the fixed "
                            f"effects; they are {names}")
    values = {}
    for name in names:
        series = data[name]
        if name in at:
            given = at[name]
            values[name] = list(np.atleast_1d(given)) if not isinstance(given, str) else [given]
        elif column_kind(series) == NUMERIC:
            values[name] = [float(series.mean())]
        else:
            values[name] = _levels(series)
    return values


def _levels(series: pd.Series) -> list[object]:
    """The levels that had rows, in the order of the fit's coding."""
    kind = column_kind(series)
    if kind == CATEGORICAL and isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    if kind == LOGICAL:
        return sorted(set(series.dropna().astype(bool)))
    return sorted(series.dropna().unique(), key=lambda v: (str(type(v)), v))


def _grid_frame(values: dict[str, list[object]], data: pd.DataFrame) -> pd.DataFrame:
    """Every combination, the first variable varying fastest (emmeans' order)."""
    names = list(values)
    combos = list(itertools.product(*[values[n] for n in reversed(names)]))
    frame = pd.DataFrame([tuple(reversed(c)) for c in combos], columns=names)
    for name in names:
        if isinstance(data[name].dtype, pd.CategoricalDtype):
            frame[name] = pd.Categorical(frame[name], categories=data[name].cat.categories)
        elif column_kind(data[name]) == NUMERIC:
            frame[name] = frame[name].astype(float)
    return frame


def marginal_means(fit: FittedModel, specs: str | Sequence[str],
                   by: str | Sequence[str] | None = None,
                   at: Mapping[str, object] | None = None) -> Means:
    """The linear functions of the marginal means of ``specs`` (within ``by`` groups)."""
    design = fit.structure.require_design("marginal means")
    names, by_names = parse_specs(specs), ([] if by is None else parse_specs(by))
    values = grid_values(fit, at)
    for name in names + by_names:
        if name not in values:
            raise NotFoundError(f"'{name}' is not a variable of the fixed effects; they are "
                                f"{list(values)}")
    if set(names) & set(by_names):
        raise InvalidArgumentError(f"a variable cannot be in both specs and by: {names}, "
                                   f"{by_names}")
    grid = _grid_frame(values, design.frame.data)
    x = design.fixed.for_data(grid)
    keys = names + by_names
    if not keys:
        labels = pd.DataFrame({OVERALL: ["overall"]})
        return Means(labels, x.mean(axis=0, keepdims=True), [OVERALL], [])
    cells = _grid_frame({k: values[k] for k in keys}, design.frame.data)
    rows = []
    for _, cell in cells.iterrows():
        match = np.all([grid[k].astype(object).to_numpy() == cell[k] for k in keys], axis=0)
        rows.append(x[match].mean(axis=0))
    return Means(cells.reset_index(drop=True), np.array(rows), names, by_names)
