"""Row sources: where the chunks of a streamed fit come from, and how a pass is reduced.

A source hands out pandas frames of at most ``batch_rows`` rows holding only the
requested columns, any number of times (a fit reads the rows three times). A pass maps
each chunk to a partial result with a ``merge`` method and reduces the partial results:
in order on this machine (:class:`ParquetSource`, :class:`FrameSource`), or on the
workers of the current Dask client in a tree (:class:`DaskSource`), so that only the
partial results (sized by the levels and columns, never by the rows) travel.

pyarrow and dask are imported when a source needs them, never at import time.

Unstable: the classes and their methods may change.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import pandas as pd

from mixed_models.errors import DataTypeError
from mixed_models.progress import NoProgress, ProgressBar, ProgressChoice, progress_bar

DEFAULT_BATCH_ROWS = 1_000_000
# Rows of a dask frame brought to the driver to build the chunks' spec from.
_PROTOTYPE_ROWS = 10_000


class Mergeable(Protocol):
    """A partial result of a pass."""

    def merge(self, other: Any) -> Any: ...


ChunkFunction = Callable[[pd.DataFrame, int | None], Mergeable]


class RowSource:
    """Chunks of rows, readable more than once.

    Attributes
    ----------
    columns
        Names of the columns the source has.
    """

    columns: list[str]

    def chunks(self, columns: list[str]) -> Iterator[tuple[pd.DataFrame, int | None]]:
        """(chunk, position of its first row in the source, or None when unknown)."""
        raise NotImplementedError

    def first_chunk(self, columns: list[str]) -> pd.DataFrame:
        """Some rows of the source (the first chunk)."""
        return next(iter(self.chunks(columns)))[0]

    def progress_total(self) -> int | None:
        """Steps of a pass for a progress bar (rows; None when unknown)."""
        return None

    def reduce(self, function: ChunkFunction, columns: list[str],
               bar: ProgressBar | None = None) -> Mergeable:
        """``function`` on every chunk, the results merged in order; ``bar`` counts the
        rows read."""
        bar = bar or NoProgress()
        total = None
        for chunk, start in self.chunks(columns):
            part = function(chunk, start)
            total = part if total is None else total.merge(part)
            bar.update(len(chunk))
        return total


def read_pass(source: RowSource, function: ChunkFunction, columns: list[str],
              progress: ProgressChoice, desc: str) -> Mergeable:
    """One pass of ``function`` over ``source``, shown as a progress bar labelled
    ``desc`` when ``progress`` asks for one (see :mod:`mixed_models.progress`)."""
    with progress_bar(source.progress_total(), progress=progress, desc=desc) as bar:
        return source.reduce(function, columns, bar)


class FrameSource(RowSource):
    """A pandas frame cut into slices, a list of frames, or a function returning an
    iterable of frames (called once per pass)."""

    def __init__(self, frames: pd.DataFrame | list | tuple | Callable[[], Iterable],
                 batch_rows: int = DEFAULT_BATCH_ROWS):
        self.frames = frames
        self.batch_rows = batch_rows
        self.columns = [str(c) for c in self.first_chunk_all().columns]

    def first_chunk_all(self) -> pd.DataFrame:
        return next(iter(self._frames()))

    def _frames(self) -> Iterable[pd.DataFrame]:
        if isinstance(self.frames, pd.DataFrame):
            whole = self.frames
            return (whole.iloc[i:i + self.batch_rows]
                    for i in range(0, max(len(whole), 1), self.batch_rows))
        return self.frames() if callable(self.frames) else self.frames

    def progress_total(self) -> int | None:
        """Rows of a frame or a list of frames (None for a function's frames)."""
        if isinstance(self.frames, pd.DataFrame):
            return len(self.frames)
        if isinstance(self.frames, (list, tuple)):
            return sum(len(f) for f in self.frames if hasattr(f, "__len__"))
        return None

    def chunks(self, columns: list[str]) -> Iterator[tuple[pd.DataFrame, int | None]]:
        start = 0
        for frame in self._frames():
            if not isinstance(frame, pd.DataFrame):
                raise DataTypeError(f"a chunk of rows must be a pandas DataFrame, got "
                                    f"{type(frame).__name__}")
            yield frame[[c for c in columns if c in frame.columns]], start
            start += len(frame)


class ParquetSource(RowSource):
    """A Parquet file or a directory of them, read in batches of the needed columns."""

    def __init__(self, path: str | os.PathLike, batch_rows: int = DEFAULT_BATCH_ROWS):
        import pyarrow.dataset as ds

        self.path = os.fspath(path)
        self.dataset = ds.dataset(self.path, format="parquet")
        self.batch_rows = batch_rows
        self.columns = list(self.dataset.schema.names)

    def progress_total(self) -> int | None:
        """Rows of the dataset (from the files' metadata)."""
        return int(self.dataset.count_rows())

    def chunks(self, columns: list[str]) -> Iterator[tuple[pd.DataFrame, int | None]]:
        start = 0
        wanted = [c for c in columns if c in self.columns]
        for batch in self.dataset.to_batches(columns=wanted, batch_size=self.batch_rows):
            frame = batch.to_pandas()
            yield frame, start
            start += len(frame)


class DaskSource(RowSource):
    """A dask.dataframe: each partition is a chunk, processed on a worker of the
    current client (or dask's default scheduler), the results reduced in a tree."""

    def __init__(self, frame: Any, fan_in: int = 2):
        self.frame = frame
        self.fan_in = fan_in
        self.columns = [str(c) for c in frame.columns]

    def chunks(self, columns: list[str]) -> Iterator[tuple[pd.DataFrame, int | None]]:
        wanted = [c for c in columns if c in self.columns]
        for i in range(self.frame.npartitions):
            yield self.frame[wanted].get_partition(i).compute(), None

    def first_chunk(self, columns: list[str]) -> pd.DataFrame:
        wanted = [c for c in columns if c in self.columns]
        with warnings.catch_warnings():  # a first partition shorter than that is fine
            warnings.simplefilter("ignore", UserWarning)
            return self.frame[wanted].head(_PROTOTYPE_ROWS, npartitions=1)

    def progress_total(self) -> int | None:
        """Partitions (their rows are not known without reading them)."""
        return int(self.frame.npartitions)

    def reduce(self, function: ChunkFunction, columns: list[str],
               bar: ProgressBar | None = None) -> Mergeable:
        import dask

        wanted = [c for c in columns if c in self.columns]
        parts = [dask.delayed(function)(p, None) for p in self.frame[wanted].to_delayed()]
        client = None if bar is None or isinstance(bar, NoProgress) else _current_client()
        if client is not None:
            return self._reduce_on(client, parts, bar)  # type: ignore[arg-type]
        while len(parts) > 1:
            parts = [dask.delayed(_merge_all)(parts[i:i + self.fan_in])
                     for i in range(0, len(parts), self.fan_in)]
        result = parts[0].compute()
        if bar is not None:
            bar.update(int(self.frame.npartitions))
        return result

    def _reduce_on(self, client: Any, parts: list, bar: ProgressBar) -> Mergeable:
        """The tree reduction with the partitions' results counted as they finish; the
        partial results stay on the workers."""
        from distributed import as_completed

        futures = client.compute(parts)
        for _ in as_completed(futures):
            bar.update(1)
        while len(futures) > 1:
            futures = [client.submit(_merge_all, futures[i:i + self.fan_in])
                       for i in range(0, len(futures), self.fan_in)]
        return futures[0].result()

    def map_partitions(self, function: Callable[[pd.DataFrame], pd.Series],
                       columns: list[str]) -> Any:
        """A lazy dask series of ``function`` applied to each partition's columns."""
        wanted = [c for c in columns if c in self.columns]
        return self.frame[wanted].map_partitions(function, meta=("values", "f8"))


def _current_client() -> Any:
    """The current dask.distributed client, or None (dask's local scheduler)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _merge_all(parts: list[Mergeable]) -> Mergeable:
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    return total


def row_source(data: object, batch_rows: int = DEFAULT_BATCH_ROWS) -> RowSource:
    """The source for ``data``: a path to Parquet, a dask frame, a pandas frame, a list
    of frames or a function returning an iterable of frames."""
    if isinstance(data, RowSource):
        return data
    if isinstance(data, (str, os.PathLike)):
        return ParquetSource(data, batch_rows)
    if type(data).__module__.startswith("dask") and hasattr(data, "to_delayed"):
        return DaskSource(data)
    if isinstance(data, (pd.DataFrame, list, tuple)) or callable(data):
        return FrameSource(data, batch_rows)  # type: ignore[arg-type]
    if isinstance(data, Iterator):
        raise DataTypeError(
            "a streamed fit reads the rows three times, so a one-shot iterator of frames "
            f"({type(data).__name__}) cannot be used: pass a list of frames or a function "
            "that returns a fresh iterator of frames")
    raise DataTypeError(
        f"cannot stream rows from {type(data).__name__}: give a path to a Parquet file "
        "or directory, a dask DataFrame, a pandas DataFrame, a list of frames or a "
        "function returning an iterable of frames")
