"""Plain arithmetic of columns evaluated with numpy: the values formulaic gives, and None
(formulaic's turn) for everything else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models.design.arithmetic import arithmetic_values
from mixed_models.design.evaluation import evaluate_piece


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "size": rng.integers(1, 30, 40), "incidence": rng.integers(0, 5, 40),
        "x": rng.normal(size=40), "w": rng.uniform(0.5, 2.0, 40),
        "flag": rng.integers(0, 2, 40).astype(bool), "f": list("abcd") * 10,
        "n": pd.array(list(range(39)) + [None], dtype="Int64"),
    })


@pytest.mark.parametrize("text", [
    "size", "size - incidence", "incidence + 0.5", "-x", "2 * x - w / 3", "(size - incidence) * w",
    "log(size)", "log(w) + log10(size)", "exp(x) - sqrt(w)", "abs(x)", "log1p(incidence)",
    "size / 2", "log(incidence)", "n - 1",
])
def test_plain_arithmetic_gives_formulaics_values(data, text):
    fast = arithmetic_values(text, data)
    by_formulaic = np.asarray(evaluate_piece(text, data, f"y ~ offset({text})", 9,
                                             as_offset=True), dtype=float)[:, 0]
    assert fast is not None and fast.dtype == float
    np.testing.assert_allclose(fast, by_formulaic, rtol=1e-15, atol=0, equal_nan=True)


@pytest.mark.parametrize("text", [
    "f", "flag", "I(x)", "x ^ 2", "x ** 2", "poly(x, 2)", "log(x, 2)", "missing - x",
    "__import__('os')", "x.real", "x[0]", "'a'", "log", "Q('size')", "`size`",
])
def test_anything_else_is_left_to_formulaic(data, text):
    assert arithmetic_values(text, data) is None
