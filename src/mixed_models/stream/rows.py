"""Per-row results of a streamed fit, computed chunk by chunk through its fixed spec.

:func:`write_rows` writes the fitted values and residuals of every input row to a
Parquet file, one row group per chunk (NaN at rows dropped for missing values);
:func:`fitted_rows` returns them as a lazy dask series for a dask source. Only one
chunk's rows are in memory at a time.

Unstable: the column names of the written file may change.
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import pandas as pd

from mixed_models.stream.sources import DaskSource, RowSource, row_source
from mixed_models.stream.spec import StreamSpec

KINDS = ("fitted", "residual")


def chunk_rows(chunk: pd.DataFrame, start: int | None, spec: StreamSpec, kept: np.ndarray,
               beta: np.ndarray, b: list[np.ndarray], with_ran_ef: bool = True
               ) -> pd.DataFrame:
    """Fitted values and residuals of one chunk's rows (NaN where a row was dropped).

    ``beta`` are the fixed effects of the ``kept`` columns of the spec's X; ``b`` the
    (levels x S) random effects of each term in the spec's order.
    """
    a = spec.arrays(chunk, start)
    fitted = a.x[:, kept] @ beta
    if a.offset is not None:
        fitted = fitted + a.offset
    if with_ran_ef:
        for codes, z, b_i in zip(a.codes, a.z, b):
            fitted += np.einsum("ns,ns->n", z, b_i[codes])
    out = np.full((len(chunk), 2), np.nan)
    out[a.rows, 0] = fitted
    out[a.rows, 1] = a.y - fitted
    return pd.DataFrame(out, columns=list(KINDS), index=chunk.index)


def write_rows(path: str | os.PathLike, source: object, spec: StreamSpec, kept: np.ndarray,
               beta: np.ndarray, b: list[np.ndarray], with_ran_ef: bool = True) -> int:
    """Write ``fitted`` and ``residual`` of every row of ``source`` (in its order) to a
    Parquet file at ``path``; returns the number of rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: RowSource = row_source(source)
    writer, count = None, 0
    try:
        for chunk, start in rows.chunks(spec.plan.columns):
            frame = chunk_rows(chunk, start, spec, kept, beta, b, with_ran_ef)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(os.fspath(path), table.schema)
            writer.write_table(table)
            count += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return count


def fitted_rows(source: object, spec: StreamSpec, kept: np.ndarray, beta: np.ndarray,
                b: list[np.ndarray], kind: str = "fitted", with_ran_ef: bool = True):
    """A lazy dask series of ``kind`` (``fitted`` or ``residual``) for a dask source,
    partition by partition, with the source's index."""
    rows = row_source(source)
    if not isinstance(rows, DaskSource):
        raise TypeError("fitted_rows needs a dask source; use write_rows for the others")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    function = partial(_partition_values, spec=spec, kept=kept, beta=beta, b=b,
                       kind=kind, with_ran_ef=with_ran_ef)
    return rows.map_partitions(function, spec.plan.columns)


def _partition_values(part: pd.DataFrame, spec: StreamSpec, kept: np.ndarray,
                      beta: np.ndarray, b: list[np.ndarray], kind: str,
                      with_ran_ef: bool) -> pd.Series:
    if len(part) == 0:
        return pd.Series([], dtype=float, index=part.index, name=kind)
    return chunk_rows(part, None, spec, kept, beta, b, with_ran_ef)[kind].rename(kind)
