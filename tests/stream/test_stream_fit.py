"""Streamed fits (Parquet, a list of frames, dask on two workers) equal the in-memory fit.

The in-memory reference is built as the model layer builds it (build_design +
LmmProblem) and fitted once per model; each source's problem is fitted the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models.core.fit import FitSettings, fit_theta
from mixed_models.core.problem import LmmProblem
from mixed_models.design import build_design
from mixed_models.errors import ModelError
from mixed_models.formula import parse_formula
from mixed_models.stream import streamed_fit_inputs

pytest.importorskip("pyarrow")

MODELS = {
    "crossed": "y ~ x + f + (1 | g) + (1 | h)",
    "nested": "y ~ x + f + (1 | g/f)",
    "slope": "y ~ x + f + (x | g)",
}


def _data(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 30, n)
    h = rng.integers(0, 12, n)
    x = rng.normal(20.0, 3.0, n)
    f = rng.choice(["lo", "mid", "hi"], n)
    y = (50 + 0.4 * x + rng.normal(0, 1.0, 30)[g] + rng.normal(0, 0.7, 30)[g] * (x - 20)
         + rng.normal(0, 0.8, 12)[h] + rng.normal(0, 1.0, n))
    data = pd.DataFrame({"y": y, "x": x, "f": f, "g": [f"g{i:02d}" for i in g], "h": h,
                         "w": rng.uniform(0.5, 2.0, n), "o": rng.normal(0, 0.2, n)})
    data.loc[[7, 400], "x"] = np.nan  # dropped rows, as in memory
    data.loc[900, "w"] = np.nan
    return data


def _fit(problem: LmmProblem) -> dict:
    """The library's fit of theta (optimizer, polish and the gradient's refinement),
    then the estimates and SEs at its optimum."""
    result = fit_theta(problem, FitSettings())
    est = problem.estimates(result.final)
    se = np.sqrt(problem.sigma2(est) * np.diag(est.beta_cov_unscaled))
    return {"objective": result.objective, "theta": result.final, "beta": est.beta,
            "se": se}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


@pytest.fixture(scope="module")
def reference(data):
    fits = {}
    for name, formula in MODELS.items():
        design = build_design(parse_formula(formula), data, "w", "o")
        problem = LmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                             design.y, design.weights, design.offset, reml=False)
        fits[name] = (_fit(problem), design)
    return fits


@pytest.fixture(scope="module")
def parquet_path(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "rows.parquet"
    data.to_parquet(path, row_group_size=400)
    return path


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _source(kind: str, data: pd.DataFrame, parquet_path, request):
    if kind == "parquet":
        return str(parquet_path)
    if kind == "frames":
        return [data.iloc[i:i + 333] for i in range(0, len(data), 333)]
    request.getfixturevalue("dask_client")
    import dask.dataframe as dd

    return dd.from_pandas(data, npartitions=5)


def _dense(block) -> np.ndarray:
    return block.toarray() if hasattr(block, "toarray") else np.asarray(block)


def _check(problem: LmmProblem, want: dict) -> None:
    """Each fit's own optimum: the objective to 1e-10, estimates and SEs to 1e-8."""
    got = _fit(problem)
    assert got["objective"] == pytest.approx(want["objective"], rel=1e-10)
    np.testing.assert_allclose(got["theta"], want["theta"], rtol=1e-8)
    np.testing.assert_allclose(got["beta"], want["beta"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], want["se"], rtol=1e-8)


@pytest.mark.parametrize("kind", ["parquet", "frames", "dask"])
@pytest.mark.parametrize("model", list(MODELS))
def test_streamed_fit_equals_in_memory(model, kind, data, reference, parquet_path, request):
    want, design = reference[model]
    source = _source(kind, data, parquet_path, request)
    problem, streamed = streamed_fit_inputs(parse_formula(MODELS[model]), source, "w", "o",
                                            reml=False, batch_rows=400)
    assert streamed.fixed.names == design.fixed.names
    assert [r.levels for r in streamed.random] == [r.levels for r in design.random]
    assert [r.columns for r in streamed.random] == [r.columns for r in design.random]
    assert (streamed.n_obs, streamed.n_dropped) == (len(design.y), design.frame.n_dropped)
    _check(problem, want)


@pytest.mark.parametrize("formula", [MODELS["slope"], "y ~ x + f + (1 | g) + (x | h)",
                                     "y ~ x + offset(2 * o) + (1 | g:f)"])
def test_same_blocks_and_objective_at_any_theta(data, formula):
    """Away from the optimum too, and the original columns' blocks (which inference
    reads) mapped back from the internal ones."""
    problem, _ = streamed_fit_inputs(parse_formula(formula), data, "w", "o", reml=True,
                                     batch_rows=250)
    design = build_design(parse_formula(formula), data, "w", "o")
    memory = LmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                        design.y, design.weights, design.offset, reml=True)
    np.testing.assert_allclose(problem.start(), memory.start(), rtol=1e-12)
    for theta in (memory.start(), memory.start() * 1.7 + 0.1):
        assert problem.objective(theta) == pytest.approx(memory.objective(theta), rel=1e-11)
    for name in ("avv", "ax1", "a11", "ar1"):
        got, want = (_dense(getattr(p.cp, name)) for p in (problem, memory))
        scale = np.abs(want).max() if want.size else 1.0  # X'y of the LS residual is ~0
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * scale, err_msg=name)


def test_sparse_lead_to_rest_block():
    """Many levels on both sides: the lead-to-rest block is sparse, and is mapped back
    to the original columns as a sparse matrix."""
    rng = np.random.default_rng(8)
    n = 3000
    data = pd.DataFrame({"g": rng.integers(0, 1000, n), "h": rng.integers(0, 600, n),
                         "x": rng.normal(5, 1, n)})
    data["y"] = data.x + rng.normal(0, 1, 1000)[data.g] + rng.normal(0, 1, n)
    formula = "y ~ x + (1 | g) + (x | h)"
    problem, _ = streamed_fit_inputs(parse_formula(formula), data, batch_rows=700)
    design = build_design(parse_formula(formula), data)
    memory = LmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                        design.y)
    assert hasattr(memory.cp.ar1, "toarray") and hasattr(problem.cp.ar1, "toarray")
    theta = memory.start() + 0.2
    assert problem.objective(theta) == pytest.approx(memory.objective(theta), rel=1e-11)
    np.testing.assert_allclose(problem.cp.ar1.toarray(), memory.cp.ar1.toarray(),
                               rtol=1e-9, atol=1e-12)
    for name in ("indices", "indptr"):  # the factor reads blocks by their stored order
        np.testing.assert_array_equal(getattr(problem.cp.ar1, name),
                                      getattr(memory.cp.ar1, name))
    np.testing.assert_array_equal(problem.cp.ar1_level, memory.cp.ar1_level)
    from mixed_models.core.factor import BlockedCholesky, profiled_objective

    factors = [BlockedCholesky(p.cp) for p in (problem, memory)]
    theta = memory.theta_to_original(memory.internal.start()) + 0.1
    values = [profiled_objective(f, True, None) for f in factors if f.update(theta)]
    assert values[0] == pytest.approx(values[1], rel=1e-10)


def test_cbind_response_is_refused():
    data = pd.DataFrame({"s": [1, 2, 0, 3], "n": [4, 4, 3, 5], "g": list("aabb")})
    with pytest.raises(ModelError, match="only a binomial GLMM can fit"):
        streamed_fit_inputs(parse_formula("cbind(s, n - s) ~ 1 + (1 | g)"), data)
