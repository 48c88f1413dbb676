"""The command line's input: data files (CSV, TSV, compressed, Parquet, standard input)
read into a frame, or Parquet data streamed chunk by chunk, on one machine or a Dask
cluster (``--stream``, ``--scheduler``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PARQUET_HINT = "pip install 'mixed_models[parquet]'"
STDIO = "-"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
# pandas decompresses these by the file name's last suffix
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
# Parquet data over this size are streamed (mixed_models.stream) rather than loaded.
STREAM_BYTES = 2**30


class CliError(Exception):
    """A problem to report on one line (bad arguments, unreadable file)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def read_data(path: str) -> Any:
    """Read a CSV, TSV or Parquet file into a pandas DataFrame; ``-`` reads CSV from
    standard input, and a CSV or TSV may be compressed (``.csv.gz``, ``.tsv.bz2``...)."""
    if path == STDIO:
        return _read_table(sys.stdin, ",", "standard input")
    file = Path(path)
    suffix = _data_suffix(file)
    if suffix not in TABLE_SUFFIXES + (".parquet", ".pq"):
        raise CliError(f"cannot read {path!r}: unknown file type {suffix or '(none)'!r}; "
                       "use a .csv, .tsv or .parquet file (a .csv or .tsv may be "
                       "compressed: .csv.gz, .csv.bz2, .csv.xz), or - for CSV on "
                       "standard input")
    if not file.is_file():
        raise CliError(f"no such data file: {path!r}")
    if suffix in (".parquet", ".pq"):
        try:
            return _read_parquet(file)
        except (ValueError, OSError) as exc:
            raise CliError(f"cannot read {path!r}: {first_line(exc)}") from None
    return _read_table(file, "," if suffix == ".csv" else "\t", repr(path))


def _data_suffix(file: Path) -> str:
    """The suffix that names the format, under a compression suffix."""
    suffixes = [suffix.lower() for suffix in file.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSED_SUFFIXES:
        return suffixes[-2]
    return file.suffix.lower()


def _read_table(source: Any, sep: str, name: str) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(source, sep=sep)
    except pd.errors.EmptyDataError:
        raise CliError(f"the data {'on' if source is sys.stdin else 'file'} {name} is "
                       "empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError, EOFError) as exc:
        raise CliError(f"cannot read {name}: {first_line(exc)}") from None


def _read_parquet(file: Path) -> Any:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CliError(f"reading Parquet needs pyarrow, which is not installed; install it "
                       f"with: {PARQUET_HINT}") from None
    return pd.read_parquet(file)


def streams(args: argparse.Namespace) -> bool:
    """Stream when asked, or for Parquet data bigger than STREAM_BYTES."""
    if args.stream or args.scheduler:
        return True
    path = Path(args.data)
    if args.data == STDIO or _data_suffix(path) not in (".parquet", ".pq", ""):
        return False
    files = [path] if path.is_file() else list(path.glob("**/*.parquet"))
    return sum(f.stat().st_size for f in files if f.is_file()) > STREAM_BYTES


@contextmanager
def stream_source(args: argparse.Namespace) -> Iterator[Any]:
    """The row source of a streamed fit: the Parquet path, or a dask frame of it on the
    cluster at ``--scheduler`` (connected for the fit and its outputs)."""
    path = Path(args.data)
    if args.data == STDIO or not (path.is_dir() or _data_suffix(path) in (".parquet", ".pq")):
        raise CliError(f"--stream reads a Parquet file or directory, got {args.data!r}; "
                       "convert the data to Parquet or drop --stream")
    if not path.exists():
        raise CliError(f"no such data file or directory: {args.data!r}")
    if not args.scheduler:
        yield str(path)
        return
    try:
        import dask.dataframe as dd
        from dask.distributed import Client
    except ImportError:
        raise CliError("--scheduler needs dask.distributed, which is not installed; install "
                       "it with: pip install 'mixed_models[scale]'") from None
    with Client(args.scheduler):
        yield dd.read_parquet(str(path))


