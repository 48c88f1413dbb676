"""Per-row results chunk by chunk, and the sources' and passes' refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models.core.problem import LmmProblem
from mixed_models.design import build_design
from mixed_models.errors import DataError, DataTypeError
from mixed_models.formula import parse_formula
from mixed_models.stream import streamed_fit_inputs
from mixed_models.stream.rows import write_rows

pytest.importorskip("pyarrow")

FORMULA = "y ~ x + f + (x | g)"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 600
    g = rng.integers(0, 15, n)
    frame = pd.DataFrame({"x": rng.normal(0, 1, n), "f": rng.choice(list("abc"), n),
                          "g": g, "o": rng.normal(0, 0.1, n)})
    frame["y"] = frame.x + rng.normal(0, 1, 15)[g] + rng.normal(0, 1, n)
    frame.loc[3, "y"] = np.nan
    return frame


@pytest.fixture(scope="module")
def fit(data):
    problem, design = streamed_fit_inputs(parse_formula(FORMULA), data, offset="o",
                                          batch_rows=128)
    theta = problem.optimize().final
    return problem.estimates(theta), design


def test_write_rows_equals_in_memory_fitted_values(data, fit, tmp_path):
    est, design = fit
    path = tmp_path / "rows.parquet"
    n = write_rows(path, data, design.spec, design.fixed.kept, est.beta, est.b)
    rows = pd.read_parquet(path)
    assert n == len(data) == len(rows)
    memory = build_design(parse_formula(FORMULA), data, offset="o")
    z_b = sum(np.einsum("ns,ns->n", r.z, b[r.codes]) for r, b in zip(memory.random, est.b))
    want = memory.fixed.matrix @ est.beta + memory.offset + z_b
    np.testing.assert_allclose(rows["fitted"].to_numpy()[memory.frame.rows], want, rtol=1e-12)
    np.testing.assert_allclose(rows["residual"].to_numpy()[memory.frame.rows],
                               memory.y - want, rtol=1e-10, atol=1e-12)
    assert np.isnan(rows["fitted"][3])


def test_dask_fitted_rows(data, fit):
    dd = pytest.importorskip("dask.dataframe")
    from mixed_models.stream.rows import fitted_rows

    est, design = fit
    series = fitted_rows(dd.from_pandas(data, npartitions=3), design.spec,
                         design.fixed.kept, est.beta, est.b, kind="residual")
    values = series.compute(scheduler="sync").to_numpy()
    memory = build_design(parse_formula(FORMULA), data, offset="o")
    z_b = sum(np.einsum("ns,ns->n", r.z, b[r.codes]) for r, b in zip(memory.random, est.b))
    want = memory.y - (memory.fixed.matrix @ est.beta + memory.offset + z_b)
    np.testing.assert_allclose(values[memory.frame.rows], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("source, weights, error, text", [
    (iter([]), None, DataTypeError, "one-shot iterator"),
    (42, None, DataTypeError, "cannot stream rows"),
    ("DATA", np.ones(3), DataError, "must be a column name"),
])
def test_refusals(data, source, weights, error, text):
    source = data if isinstance(source, str) else source
    with pytest.raises(error, match=text):
        streamed_fit_inputs(parse_formula(FORMULA), source, weights=weights)


def test_stateful_transform_refused(data):
    with pytest.raises(DataError, match="scale"):
        streamed_fit_inputs(parse_formula("y ~ scale(x) + (1 | g)"), data)


def test_missing_rows_raise(data):
    with pytest.raises(DataError, match="row 3"):
        streamed_fit_inputs(parse_formula(FORMULA), data, na_action="raise")


def test_accumulators_merge_like_one_pass(data):
    """Chunk sizes change only the order of the sums."""
    small, _ = streamed_fit_inputs(parse_formula(FORMULA), data, batch_rows=50)
    large, _ = streamed_fit_inputs(parse_formula(FORMULA), data, batch_rows=10_000)
    theta = large.start()
    assert small.objective(theta) == pytest.approx(large.objective(theta), rel=1e-12)
    memory = build_design(parse_formula(FORMULA), data)
    problem = LmmProblem([r.term_data() for r in memory.random], memory.fixed.matrix,
                         memory.y)
    assert small.objective(theta) == pytest.approx(problem.objective(theta), rel=1e-12)


def test_dask_is_imported_only_when_used():
    import subprocess
    import sys

    code = "import sys, mixed_models.stream; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_empty_and_incomplete_chunks_add_nothing(data):
    formula = parse_formula("y ~ x + f + (1 | g)")
    holes = data.iloc[:40].copy()
    holes["x"] = np.nan
    chunks = [data.iloc[:200], data.iloc[200:200], holes, data.iloc[200:]]
    with_holes, design = streamed_fit_inputs(formula, chunks)
    plain, _ = streamed_fit_inputs(formula, data)
    theta = plain.start()
    assert with_holes.objective(theta) == pytest.approx(plain.objective(theta), rel=1e-12)
    assert design.n_dropped == 41  # the 40 rows without x and the row without y
