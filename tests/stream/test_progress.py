"""Progress of a streamed fit's passes: every source counts its rows (a dask frame its
partitions) into the bar, and a fit with progress=True shows one bar per pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM
from mixed_models.errors import InvalidArgumentError
from mixed_models.stream.sources import row_source

pytest.importorskip("pyarrow")

FORMULA = "y ~ x + (1 | g)"


class Counter:
    """A bar that records its updates."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def update(self, n: int = 1) -> None:
        self.steps.append(n)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    g = rng.integers(0, 8, 500)
    return pd.DataFrame({"y": rng.normal(0, 1, 8)[g] + rng.normal(0, 1, 500),
                         "x": rng.normal(0, 1, 500), "g": g})


def _sources(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("progress") / "rows.parquet"
    data.to_parquet(path, row_group_size=120)
    yield "parquet", str(path), len(data), 5
    yield "frames", [data.iloc[:200], data.iloc[200:]], len(data), 2
    yield "frame", data, len(data), 5


@pytest.mark.parametrize("kind", ["parquet", "frames", "frame"])
def test_a_pass_counts_every_row(kind, data, tmp_path_factory):
    sources = {k: (s, total, chunks) for k, s, total, chunks
               in _sources(data, tmp_path_factory)}
    source, total, chunks = sources[kind]
    rows = row_source(source, batch_rows=100 if kind == "frame" else 120)
    bar = Counter()
    rows.reduce(lambda chunk, start: _Rows(len(chunk)), ["y"], bar)
    assert rows.progress_total() == total
    assert sum(bar.steps) == total and len(bar.steps) >= 2


def test_a_dask_pass_counts_partitions(data):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        rows = row_source(dd.from_pandas(data, npartitions=4))
        bar = Counter()
        merged = rows.reduce(lambda chunk, start: _Rows(len(chunk)), ["y"], bar)
    assert rows.progress_total() == 4 and bar.steps == [1, 1, 1, 1]
    assert merged.n == len(data)


class _Rows:
    def __init__(self, n: int) -> None:
        self.n = n

    def merge(self, other: _Rows) -> _Rows:
        return _Rows(self.n + other.n)


def test_a_streamed_fit_shows_a_bar_per_pass(data, capsys):
    pytest.importorskip("tqdm")
    LMM.from_formula(FORMULA, [data.iloc[:250], data.iloc[250:]], progress=True)
    err = capsys.readouterr().err
    for label in ("pass 1/3", "pass 2/3", "pass 3/3"):
        assert label in err
    assert "500/500" in err


@pytest.mark.parametrize("progress, shown", [(False, False), ("auto", False)])
def test_no_bar_unless_asked_or_on_a_terminal(data, capsys, progress, shown):
    LMM.from_formula(FORMULA, [data.iloc[:250], data.iloc[250:]], progress=progress)
    assert ("pass 1/3" in capsys.readouterr().err) is shown


@pytest.mark.parametrize("progress", ["yes", 1, None])
def test_other_values_are_refused(data, progress):
    with pytest.raises(InvalidArgumentError, match="progress must be"):
        LMM.from_formula(FORMULA, data, progress=progress)
