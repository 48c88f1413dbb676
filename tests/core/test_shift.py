"""The least-squares shift of the response (core.shift)."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models.core.shift import least_squares_residual


def _design(kind: str, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=60)
    columns = {"independent": [np.ones(60), a, rng.normal(size=60) * 1e4],
               "nearly aliased": [np.ones(60), a, a + 1e-12 * rng.normal(size=60)],
               "aliased": [np.ones(60), a, 2 * a],
               "zero column": [np.ones(60), np.zeros(60)],
               "wide": [rng.normal(size=3) for _ in range(5)]}[kind]
    return np.column_stack(columns)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["independent", "nearly aliased", "aliased", "zero column",
                                  "wide"])
def test_the_shift_is_the_least_squares_fit(kind, weighted):
    rng = np.random.default_rng(2)
    x = _design(kind, rng)
    y = 1e3 + rng.normal(size=len(x))
    w = rng.uniform(0.5, 2.0, size=len(x)) if weighted else None
    beta0, resid = least_squares_residual(x, y, w)
    root = np.ones(len(x)) if w is None else np.sqrt(w)
    expected = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)[0]
    # the fitted values are unique even where the coefficients are not
    assert np.allclose(x @ beta0, x @ expected, rtol=1e-9, atol=1e-9)
    assert np.array_equal(resid, y - x @ beta0)
