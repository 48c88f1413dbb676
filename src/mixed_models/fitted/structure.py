"""What a fitted model knows of its model's shape besides the numbers: one interface,
two kinds.

A model fitted from a formula keeps its design (:class:`~mixed_models.design.ModelDesign`:
the formula, the specs that evaluate new data, the grouping factors and their levels); a
model given as raw matrices keeps only the names of its columns and its function theta ->
Lambda'. Both answer the same questions (names, covariance blocks and their labels, rows
dropped, the design when there is one), so code above never asks which kind it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mixed_models.design import ModelDesign
from mixed_models.errors import ModelError

# The grouping label of a raw-matrix model's random effects in tables.
RAW_GROUP = "Z"


@dataclass(frozen=True, eq=False)
class Block:
    """One covariance block of the random effects (a term, or all of a raw model's).

    Attributes
    ----------
    group
        Grouping factor (``RAW_GROUP`` for a raw-matrix model).
    columns
        Names of the block's columns (``intercept``, ``Age``...; Z's names for raw).
    labels
        The gem's labels of the columns in summaries (``Location``, ``Location_Age``).
    linked
        Which pairs of columns have a reported covariance (False off the diagonal of a
        diagonal term, and everywhere for a raw model, whose full covariance is in
        ``sigma_mat``).
    """

    group: str
    columns: list[str]
    labels: list[str]
    linked: np.ndarray


def summary_label(group: str, column: str) -> str:
    """The gem's label of a random effect in summaries: ``g`` or ``g_x``."""
    return group if column == "intercept" else f"{group}_{column}"


def ran_ef_keys(design: ModelDesign) -> list[str]:
    """Keys of ``ran_ef``: ``<column>_<level>`` (``intercept_Asylum``, ``Age_Asylum``).

    When two grouping factors share a level label these keys would clash; every key
    then names its grouping factor too: ``<column>_<group>_<level>``.
    """
    random = design.random
    plain = [f"{col}_{lvl}" for r in random for lvl in r.levels for col in r.columns]
    if len(set(plain)) == len(plain):
        return plain
    return [f"{col}_{r.group}_{lvl}" for r in random for lvl in r.levels for col in r.columns]


@dataclass(frozen=True, eq=False)
class FormulaStructure:
    """The structure of a model fitted from a formula: its design."""

    design: ModelDesign

    @property
    def formula(self) -> str | None:
        """The formula as given."""
        return self.design.parsed.formula

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects (aliased columns excluded)."""
        return list(self.design.fixed.names)

    @property
    def ran_ef_names(self) -> list[str]:
        """Keys of the random effects, see :func:`ran_ef_keys`."""
        return ran_ef_keys(self.design)

    @property
    def n_dropped(self) -> int:
        """Rows of the data dropped for missing values."""
        return self.design.frame.n_dropped

    @property
    def n_groups(self) -> dict[str, int]:
        """Number of levels of each grouping factor."""
        return {r.group: r.n_levels for r in self.design.random}

    def blocks(self) -> list[Block]:
        """One block per random-effects term, in the fit's order."""
        return [Block(r.group, list(r.columns), [summary_label(r.group, c) for c in r.columns],
                      r.covariance.linked()) for r in self.design.random]

    def require_design(self, what: str) -> ModelDesign:
        """The design (a formula model has one)."""
        return self.design

    def require_rows(self, what: str) -> None:
        """The rows are in memory: anything that needs them can be computed."""

    def lazy_rows(self, beta: np.ndarray, b: list[np.ndarray], kind: str,
                  with_ran_ef: bool) -> None:
        """None: per-row values are computed in memory."""
        return None

    def align(self, values: np.ndarray) -> np.ndarray:
        """Per-row values padded to the input's rows (NaN for dropped ones) under
        ``na_action="exclude"``; as they are otherwise."""
        frame = self.design.frame
        return frame.pad(values) if frame.na_action == "exclude" else values

    def row_labels(self) -> pd.Index:
        """The user's row labels of :meth:`align`'s values."""
        return self.design.frame.row_labels()

    def ran_ef_frame(self, values: list[np.ndarray], cond_sd: list[np.ndarray]) -> pd.DataFrame:
        """One row per (grouping factor, level, column): value and conditional SD."""
        frames = [pd.DataFrame({
            "group": r.group,
            "level": np.repeat(r.levels, len(r.columns)),
            "term": np.tile(r.columns, r.n_levels),
            "value": b.ravel(),
            "cond_sd": sd.ravel(),
        }) for r, b, sd in zip(self.design.random, values, cond_sd)]
        return pd.concat(frames, ignore_index=True)

    def with_response(self, y: np.ndarray) -> FormulaStructure:
        """The same structure for another response on the same rows (the design's data
        frame still holds the original response column)."""
        return FormulaStructure(replace(self.design, y=y))


@dataclass(frozen=True, eq=False)
class RawStructure:
    """The structure of a model given as matrices: the names of X's and Z's columns and
    the user's function theta -> Lambda'."""

    x_col_names: list[str]
    z_col_names: list[str]
    lambdat: Callable[[np.ndarray], object]

    formula = None
    n_dropped = 0

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects (X's columns)."""
        return list(self.x_col_names)

    @property
    def ran_ef_names(self) -> list[str]:
        """Names of the random effects (Z's columns)."""
        return list(self.z_col_names)

    @property
    def n_groups(self) -> dict[str, int]:
        """No grouping factors."""
        return {}

    def blocks(self) -> list[Block]:
        """One block holding every random effect (they may all covary)."""
        k = len(self.z_col_names)
        return [Block(RAW_GROUP, list(self.z_col_names), list(self.z_col_names),
                      np.zeros((k, k), dtype=bool))]

    def require_design(self, what: str) -> ModelDesign:
        """A raw-matrix model has no design: ``what`` needs a formula model."""
        raise ModelError(f"{what} needs the model's terms, and a model built from raw "
                         "matrices has none; fit it with LMM.from_formula or LMM.from_frame")

    def require_rows(self, what: str) -> None:
        """The rows are in memory: anything that needs them can be computed."""

    def lazy_rows(self, beta: np.ndarray, b: list[np.ndarray], kind: str,
                  with_ran_ef: bool) -> None:
        """None: per-row values are computed in memory."""
        return None

    def align(self, values: np.ndarray) -> np.ndarray:
        """Per-row values as they are (every row was used)."""
        return values

    def row_labels(self) -> None:
        """None: the rows are numbered 0..n-1 (matrices carry no labels)."""
        return None

    def ran_ef_frame(self, values: list[np.ndarray], cond_sd: list[np.ndarray]) -> pd.DataFrame:
        """One row per random effect: value and conditional SD."""
        return pd.DataFrame({
            "group": RAW_GROUP, "level": self.z_col_names, "term": self.z_col_names,
            "value": values[0].ravel(), "cond_sd": cond_sd[0].ravel(),
        })

    def with_response(self, y: np.ndarray) -> RawStructure:
        """The same structure (it holds no response)."""
        return self


Structure = FormulaStructure | RawStructure  # and fitted.streamed.StreamedStructure
