"""LMM.from_formula on data bigger than memory: a Parquet path, a list of frames and a dask
DataFrame give the in-memory fit's numbers through the public class."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.errors import ModelError

pytest.importorskip("pyarrow")

FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def in_memory(sleep) -> LMM:
    return LMM.from_formula(FORMULA, sleep)


@pytest.fixture(scope="module")
def parquet(sleep, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("rows") / "sleep.parquet"
    sleep.to_parquet(path, index=False)
    return str(path)


def _same(streamed: LMM, in_memory: LMM) -> None:
    assert streamed.deviance == pytest.approx(in_memory.deviance, rel=1e-10)
    np.testing.assert_allclose(streamed.theta, in_memory.theta, rtol=1e-8)
    np.testing.assert_allclose(list(streamed.fix_ef.values()), list(in_memory.fix_ef.values()),
                               rtol=1e-8)
    np.testing.assert_allclose(streamed.fix_ef_summary()["sd"].to_numpy(),
                               in_memory.fix_ef_summary()["sd"].to_numpy(), rtol=1e-8)
    assert streamed.fix_ef_names == in_memory.fix_ef_names
    assert streamed.ran_ef_names == in_memory.ran_ef_names
    assert streamed.n_obs == in_memory.n_obs


def test_a_parquet_path_is_streamed(parquet, in_memory):
    model = LMM.from_formula(FORMULA, parquet)
    _same(model, in_memory)
    text = str(model)  # the scaled residuals need the rows: the summary says so
    assert "Fixed effects:" in text
    assert "Scaled residuals:\nnot available: a streamed fit keeps no rows" in text


def test_a_list_of_frames_is_streamed(sleep, in_memory):
    model = LMM.from_formula(FORMULA, [sleep.iloc[:90], sleep.iloc[90:]])
    _same(model, in_memory)


def test_per_row_values_are_written_not_held(parquet, in_memory, tmp_path):
    model = LMM.from_formula(FORMULA, parquet)
    with pytest.raises(ModelError, match="write_rows"):
        model.fitted()
    assert model.write_rows(tmp_path / "rows.parquet") == in_memory.n_obs
    rows = pd.read_parquet(tmp_path / "rows.parquet")
    np.testing.assert_allclose(rows["fitted"], in_memory.fitted(), rtol=1e-6)
    np.testing.assert_allclose(rows["residual"], in_memory.residuals, atol=1e-5)


def test_what_needs_the_rows_says_so(parquet):
    model = LMM.from_formula(FORMULA, parquet)
    with pytest.raises(ModelError, match="streamed"):
        model.bootstrap(2, seed=1)


def test_a_dask_frame_is_summed_on_the_workers(sleep, in_memory):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        frame = dd.from_pandas(sleep, npartitions=3)
        model = LMM.from_formula(FORMULA, frame)
        _same(model, in_memory)
        fitted = model.fitted().compute()
    np.testing.assert_allclose(np.asarray(fitted), in_memory.fitted(), rtol=1e-6)


@pytest.fixture(scope="module")
def weighted_sleep(sleep) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    return sleep.assign(w=rng.uniform(0.5, 2.0, len(sleep)), o=rng.normal(0, 5, len(sleep)))


def _without_residuals(text: str) -> list[str]:
    """The summary's lines but the scaled residuals, and the optimizer's evaluations
    (the path to the same optimum may differ by a step in summed-up rounding)."""
    lines = text.splitlines()
    start = lines.index("Scaled residuals:")
    end = lines.index("Random effects:")
    return [re.sub(r"\d+ evaluations", "N evaluations", line)
            for line in lines[:start] + lines[end:]]


@pytest.mark.parametrize("reml", [True, False])
def test_a_weighted_model_with_an_offset_says_what_the_in_memory_one_says(
        weighted_sleep, tmp_path, reml):
    path = tmp_path / "weighted.parquet"
    weighted_sleep.to_parquet(path, index=False)
    kwargs = {"weights": "w", "offset": "o", "reml": reml}
    model = LMM.from_formula(FORMULA, str(path), **kwargs)
    memory = LMM.from_formula(FORMULA, weighted_sleep, **kwargs)
    _same(model, memory)
    text = str(model)
    assert "Weights: prior weights given" in text and "Offset: given" in text
    assert _without_residuals(text) == _without_residuals(str(memory))
    assert "not available: a streamed fit keeps no rows" in text
