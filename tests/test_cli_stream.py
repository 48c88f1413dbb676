"""The command line streams Parquet data (--stream, or data over STREAM_BYTES) and fits on
a Dask cluster (--scheduler): the numbers of the in-memory fit, no rows held."""

from __future__ import annotations

import json

import pytest

from mixed_models import LMM, cli, cli_data, datasets

pytest.importorskip("pyarrow")
FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def parquet(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("data") / "sleep.parquet"
    datasets.load("sleepstudy").to_parquet(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def in_memory() -> LMM:
    return LMM.from_formula(FORMULA, datasets.load("sleepstudy"))


def _json(capsys, *argv: str) -> dict:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_stream_gives_the_in_memory_fit(parquet, in_memory, capsys):
    data = _json(capsys, "fit", FORMULA, "--data", parquet, "--stream", "--json", "-")
    assert data["deviance"] == pytest.approx(in_memory.deviance, rel=1e-10)
    assert data["fix_ef"] == pytest.approx(in_memory.fix_ef, rel=1e-7)
    assert data["fitted"] is None and data["residuals"] is None  # no rows are held


def test_large_parquet_files_are_streamed_by_default(parquet, in_memory, capsys, monkeypatch):
    monkeypatch.setattr(cli_data, "STREAM_BYTES", 10)
    data = _json(capsys, "fit", FORMULA, "--data", parquet, "--json", "-")
    assert data["fitted"] is None
    assert data["deviance"] == pytest.approx(in_memory.deviance, rel=1e-10)


@pytest.mark.parametrize("extra, message", [
    (["--report", "out.html"], "--report needs the rows"),
])
def test_what_a_streamed_fit_cannot_do_is_refused(parquet, capsys, tmp_path, extra, message):
    assert cli.main(["fit", FORMULA, "--data", parquet, "--stream", *extra]) == 1
    assert message in capsys.readouterr().err


def test_only_parquet_is_streamed(tmp_path, capsys):
    csv = tmp_path / "sleep.csv"
    datasets.load("sleepstudy").to_csv(csv, index=False)
    assert cli.main(["fit", FORMULA, "--data", str(csv), "--stream"]) == 1
    assert "Parquet" in capsys.readouterr().err


def test_scheduler_fits_on_the_cluster(parquet, in_memory, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        data = _json(capsys, "fit", FORMULA, "--data", parquet, "--scheduler",
                     cluster.scheduler_address, "--json", "-")
    assert data["deviance"] == pytest.approx(in_memory.deviance, rel=1e-10)
