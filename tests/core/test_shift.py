"""The least-squares shift of the response (core.shift)."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models.core.shift import GRAM_CLEAR, GRAM_ROWS, clear_gram, least_squares_residual


def _design(kind: str, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    a = rng.normal(size=n)
    columns = {"independent": [np.ones(n), a, rng.normal(size=n) * 1e4],
               "nearly aliased": [np.ones(n), a, a + 1e-12 * rng.normal(size=n)],
               "somewhat aliased": [np.ones(n), a, a + 1e-3 * rng.normal(size=n)],
               "aliased": [np.ones(n), a, 2 * a],
               "zero column": [np.ones(n), np.zeros(n)],
               "one column": [1.0 + a],
               "zero": [np.zeros(n)],
               "wide": [rng.normal(size=3) for _ in range(5)]}[kind]
    return np.column_stack(columns)


@pytest.mark.parametrize("n", [60, GRAM_ROWS])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["independent", "nearly aliased", "somewhat aliased",
                                  "aliased", "zero column", "one column", "zero", "wide"])
def test_the_shift_is_the_least_squares_fit(kind, weighted, n):
    rng = np.random.default_rng(2)
    x = _design(kind, rng, n)
    y = 1e3 + rng.normal(size=len(x))
    w = rng.uniform(0.5, 2.0, size=len(x)) if weighted else None
    beta0, resid = least_squares_residual(x, y, w)
    root = np.ones(len(x)) if w is None else np.sqrt(w)
    expected = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)[0]
    # the fitted values are unique even where the coefficients are not
    assert np.allclose(x @ beta0, x @ expected, rtol=1e-9, atol=1e-9)
    assert np.array_equal(resid, y - x @ beta0)


@pytest.mark.parametrize("spread, clear", [(1.0, True), (0.1, True), (3e-3, False),
                                           (1e-9, False), (0.0, False)])
@pytest.mark.parametrize("columns", [2, 4])
def test_the_gram_is_clear_when_every_column_stands_off_the_others(spread, clear, columns):
    # the last column's distance from the others' span, relative to its norm, is about
    # spread: clear above GRAM_CLEAR's root (1e-2), in closed form or by Cholesky alike
    rng = np.random.default_rng(5)
    base = rng.normal(size=(500, columns - 1))
    last = base @ rng.normal(size=columns - 1)
    last = last / np.linalg.norm(last) + spread * rng.normal(size=500) / np.sqrt(500)
    x = np.column_stack([base, last])
    assert clear_gram(x.T @ x) is clear
    assert np.sqrt(GRAM_CLEAR) == pytest.approx(1e-2)


def test_a_gram_with_a_zero_or_infinite_column_is_not_clear():
    assert not clear_gram(np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert not clear_gram(np.array([[np.inf]]))
    assert clear_gram(np.array([[2.0]]))
