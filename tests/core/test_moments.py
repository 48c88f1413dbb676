"""Mergeable column moments give the in-memory centring and scaling, and accumulators
of parts of the rows merge into the accumulator of all of them."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import CrossProductAccumulator, TermData, cross_products
from mixed_models.core.moments import ColumnMoments, column_transform, independent_gram_columns
from mixed_models.core.reparam import internal_columns
from mixed_models.design.fixed import independent_columns


def _x(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([np.ones(n), rng.normal(1e3, 2.0, n), rng.normal(0, 1e-6, n),
                            np.zeros(n), rng.integers(0, 2, n)])


def test_merged_moments_equal_whole_column_moments():
    x = _x()
    parts = [ColumnMoments.of(x[i:i + 70]) for i in range(0, len(x), 70)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    whole = ColumnMoments.of(x)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-14)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-10)
    np.testing.assert_array_equal(merged.low, whole.low)
    np.testing.assert_array_equal(merged.constant, [True, False, False, False, False])


@pytest.mark.parametrize("reml", [True, False])
def test_column_transform_equals_in_memory(reml):
    x = _x()
    term = TermData(np.zeros(len(x), np.intp), np.ones((len(x), 1)), 1,
                    CovarianceStructure.named("us", 1, False))
    reparam, _, _ = internal_columns([term], x, reml)
    np.testing.assert_allclose(column_transform(ColumnMoments.of(x), centre=True),
                               reparam.x_transform, rtol=1e-12)


def test_gram_rank_test_keeps_the_same_columns():
    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(50), rng.normal(size=(50, 2))])
    x = np.column_stack([x, x[:, 1] + 2 * x[:, 2], rng.normal(size=50), np.zeros(50)])
    assert independent_gram_columns(x.T @ x, 1e-7) == independent_columns(x) == [0, 1, 2, 4]


def test_accumulators_merge_into_the_whole():
    rng = np.random.default_rng(4)
    n = 400
    cov = CovarianceStructure.named("us", 1, False)
    terms = [TermData(rng.integers(0, 40, n), np.ones((n, 1)), 40, cov),
             TermData(rng.integers(0, 9, n), np.ones((n, 1)), 9, cov)]
    x, y, w = np.column_stack([np.ones(n), rng.normal(size=n)]), rng.normal(size=n), \
        rng.uniform(0.5, 2, n)
    whole = cross_products(terms, x, y, w)
    parts = []
    for rows in (slice(0, 150), slice(150, 260), slice(260, n)):
        acc = CrossProductAccumulator(terms, 2)
        acc.add([t.codes[rows] for t in terms], [t.z[rows] for t in terms], x[rows], y[rows],
                 w[rows])
        parts.append(acc)
    merged = (parts[0] + parts[1]).merge(parts[2])
    merged.compact()
    got = merged.finish()
    np.testing.assert_allclose(got.avv, whole.avv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.ax1, whole.ax1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.a11, whole.a11, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(got.ar1), np.asarray(whole.ar1), rtol=1e-12)
    assert (got.n_obs, got.sum_log_weights) == (n, pytest.approx(whole.sum_log_weights))
