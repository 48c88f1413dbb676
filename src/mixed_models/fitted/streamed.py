"""The structure of a model fitted from streamed rows (a Parquet file or directory, a
dask DataFrame, a list of frames): the design's names and levels, and the source, from
which per-row results are computed chunk by chunk. The rows themselves are never held.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mixed_models.errors import DataTypeError, ModelError
from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel
from mixed_models.fitted.structure import Block, summary_label
from mixed_models.stream import StreamedDesign
from mixed_models.stream.rows import fitted_rows, write_rows


@dataclass(frozen=True, eq=False)
class StreamedStructure:
    """A streamed model's design (no rows) and its row source."""

    design: StreamedDesign
    source: object

    @property
    def formula(self) -> str | None:
        """The formula as given."""
        return self.design.parsed.formula

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects."""
        return list(self.design.fixed.names)

    @property
    def ran_ef_names(self) -> list[str]:
        """Keys of the random effects (as a formula model's)."""
        random = self.design.random
        plain = [f"{c}_{lvl}" for r in random for lvl in r.levels for c in r.columns]
        if len(set(plain)) == len(plain):
            return plain
        return [f"{c}_{r.group}_{lvl}" for r in random for lvl in r.levels for c in r.columns]

    @property
    def weighted(self) -> bool:
        """Whether prior weights were given (a column of the source)."""
        return bool(self.design.weighted)

    @property
    def has_offset(self) -> bool:
        """Whether an offset was given (a column, a number or offset() terms)."""
        return bool(self.design.has_offset)

    @property
    def n_dropped(self) -> int:
        """Rows of the source dropped for missing values."""
        return int(self.design.n_dropped)

    @property
    def n_groups(self) -> dict[str, int]:
        """Number of levels of each grouping factor."""
        return {r.group: r.n_levels for r in self.design.random}

    def blocks(self) -> list[Block]:
        """One block per random-effects term."""
        return [Block(r.group, list(r.columns), [summary_label(r.group, c) for c in r.columns],
                      r.covariance.linked()) for r in self.design.random]

    def require_design(self, what: str) -> None:
        """A streamed model keeps no data frame to evaluate terms on."""
        raise ModelError(f"{what} needs the model's rows in memory; this model was fitted "
                         "from streamed data. Fit a sample in memory for it, or use what "
                         "needs only the cross-products (Wald and Satterthwaite tests, "
                         "likelihood ratio tests)")

    def require_rows(self, what: str) -> None:
        """Per-row results of a streamed model are computed from its source."""
        raise ModelError(f"{what} needs the model's rows, which were streamed and not kept; "
                         "model.write_rows(path) writes fitted values and residuals to "
                         "Parquet chunk by chunk")

    def lazy_rows(self, beta: np.ndarray, b: list[np.ndarray], kind: str,
                  with_ran_ef: bool) -> object:
        """Per-row ``kind`` ("fitted" or "residual") as a lazy dask series for a dask
        source; other sources write them with ``write_rows``."""
        if not (type(self.source).__module__.startswith("dask")
                and hasattr(self.source, "to_delayed")):
            self.require_rows(f"{kind} values")
        return fitted_rows(self.source, self.design.spec, self.design.fixed.kept, beta, b,
                           kind, with_ran_ef)

    def align(self, values: np.ndarray) -> np.ndarray:
        """Not reached: per-row values need the rows."""
        self.require_rows("per-row values")
        return values

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

    def with_response(self, y: np.ndarray) -> StreamedStructure:
        """A streamed model cannot be refitted to another response."""
        raise ModelError("a model fitted from streamed data cannot be refitted to another "
                         "response (bootstrap, simulation): the rows are not kept")


def write_streamed_rows(fit: FittedModel, path: str | Path, with_ran_ef: bool = True) -> int:
    """Write the fitted values and residuals of every row of a streamed model's source to
    a Parquet file; returns the number of rows written."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataTypeError(f"path must be a file path (text), got {type(path).__name__}")
    structure = fit.structure
    if not isinstance(structure, StreamedStructure):  # rows in memory: write them at once
        frame = pd.DataFrame({"fitted": results.fitted(fit, with_ran_ef),
                              "residual": results.residuals(fit)})
        frame.to_parquet(path, index=False)
        return len(frame)
    return write_rows(path, structure.source, structure.design.spec,
                      structure.design.fixed.kept, fit.estimates.beta, fit.estimates.b,
                      with_ran_ef)

