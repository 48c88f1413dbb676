"""Covariance structures: each lam(theta) reproduces the covariance it stands for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixed_models.core.covariance import (
    BlockDiagonal,
    CovarianceStructure,
    PatternCovariance,
    ScaledCorrelation,
)


def cs_matrix(sds: np.ndarray, rho: float) -> np.ndarray:
    size = len(sds)
    corr = np.full((size, size), rho)
    np.fill_diagonal(corr, 1.0)
    return sds[:, None] * corr * sds[None, :]


def ar1_matrix(sds: np.ndarray, rho: float) -> np.ndarray:
    i, j = np.indices((len(sds), len(sds)))
    return sds[:, None] * rho ** np.abs(i - j) * sds[None, :]


# structure, theta, the covariance lam lam' must equal
CASES = [
    (CovarianceStructure.named("cs", 3), [1.0, 2.0, 0.5, 0.3],
     cs_matrix(np.array([1.0, 2.0, 0.5]), 0.3)),
    (CovarianceStructure.named("cs", 4, homogeneous=True), [1.5, -0.2],
     cs_matrix(np.full(4, 1.5), -0.2)),
    (CovarianceStructure.named("ar1", 5), [0.7, 0.6],
     ar1_matrix(np.full(5, 0.7), 0.6)),
    (CovarianceStructure.named("ar1", 3, homogeneous=False), [1.0, 3.0, 2.0, -0.4],
     ar1_matrix(np.array([1.0, 3.0, 2.0]), -0.4)),
    (CovarianceStructure.named("diag", 3, homogeneous=True), [2.0], 4.0 * np.eye(3)),
    (CovarianceStructure.named("diag", 2), [2.0, 3.0], np.diag([4.0, 9.0])),
    (CovarianceStructure.named("us", 2), [1.0, 0.5, 2.0],
     np.array([[1.0, 0.5], [0.5, 4.25]])),
    # the compound-symmetry correlation at both ends of its range
    (CovarianceStructure.named("cs", 3), [1.0, 1.0, 1.0, 1.0], np.ones((3, 3))),
    (CovarianceStructure.named("cs", 3), [1.0, 1.0, 1.0, -0.5],
     cs_matrix(np.ones(3), -0.5)),
    (CovarianceStructure.named("ar1", 3), [2.0, -1.0], ar1_matrix(np.full(3, 2.0), -1.0)),
]


@pytest.mark.parametrize(("structure", "theta", "expected"), CASES)
def test_factor_reproduces_the_covariance(structure, theta, expected):
    lam = structure.lam(np.array(theta))
    assert structure.n_theta == len(theta)
    np.testing.assert_allclose(lam @ lam.T, expected, atol=1e-12)
    np.testing.assert_array_equal(lam, np.tril(lam))


@pytest.mark.parametrize(("kind", "size", "hom", "lower", "upper", "start"), [
    ("cs", 3, False, [0, 0, 0, -0.5], [np.inf] * 3 + [1], [1, 1, 1, 0]),
    ("cs", 5, True, [0, -0.25], [np.inf, 1], [1, 0]),
    ("ar1", 4, None, [0, -1], [np.inf, 1], [1, 0]),
    ("ar1", 1, None, [0], [np.inf], [1]),
    ("cs", 1, None, [0], [np.inf], [1]),
    ("diag", 3, True, [0], [np.inf], [1]),
    ("us", 2, None, [0, -np.inf, 0], [np.inf] * 3, [1, 0, 1]),
])
def test_bounds_and_start_follow_lme4_2(kind, size, hom, lower, upper, start):
    s = CovarianceStructure.named(kind, size, hom)
    np.testing.assert_array_equal(s.lower_bounds(), lower)
    np.testing.assert_array_equal(s.upper_bounds(), upper)
    np.testing.assert_array_equal(s.initial(), start)
    np.testing.assert_array_equal(s.diagonal_mask(), np.array(lower) == 0)
    assert s.has_bounded_parameters() == (kind in ("cs", "ar1") and size > 1)


def test_out_of_range_correlation_gives_nan_not_a_wrong_factor():
    assert np.all(np.isnan(CovarianceStructure.named("cs", 3).lam(np.array([1, 1, 1, -0.6]))))
    assert np.all(np.isnan(CovarianceStructure.named("ar1", 3).lam(np.array([1, 1.2]))))


@pytest.mark.parametrize(("structure", "theta", "singular"), [
    (CovarianceStructure.named("cs", 3), [1, 1, 1, 0.5], False),
    (CovarianceStructure.named("cs", 3), [1, 1, 1, 1.0], True),
    (CovarianceStructure.named("cs", 3), [1, 1, 1, -0.5], True),
    (CovarianceStructure.named("cs", 3), [1, 0, 1, 0.2], True),
    (CovarianceStructure.named("ar1", 4), [2, 0.999999999], True),
    (CovarianceStructure.named("ar1", 4), [2, 0.9], False),
    (CovarianceStructure.named("us", 2), [1, 5, 0], True),
    (CovarianceStructure.named("us", 2), [1, 5, 1e-3], False),
])
def test_singular_at_the_edge_of_the_parameter_space(structure, theta, singular):
    assert structure.is_singular(np.array(theta, dtype=float), 1e-4) == singular


def test_named_refuses_unknown_and_homogeneous_us():
    with pytest.raises(ValueError, match="unknown covariance structure 'toep'"):
        CovarianceStructure.named("toep", 3)
    with pytest.raises(ValueError, match="no homogeneous"):
        CovarianceStructure.named("us", 3, homogeneous=True)


def test_block_diagonal_of_patterns_stays_a_pattern_with_lme4_order():
    b = CovarianceStructure.block_diagonal([CovarianceStructure.unstructured(2),
                                            CovarianceStructure.diagonal(1)])
    assert isinstance(b, PatternCovariance)
    np.testing.assert_array_equal(b.rows, [0, 1, 1, 2])
    np.testing.assert_array_equal(b.cols, [0, 0, 1, 2])


def test_block_diagonal_with_a_structure_concatenates_theta():
    parts = [CovarianceStructure.unstructured(1), CovarianceStructure.named("ar1", 3)]
    b = CovarianceStructure.block_diagonal(parts)
    assert isinstance(b, BlockDiagonal) and b.size == 4 and b.n_theta == 3
    theta = np.array([2.0, 0.5, 0.3])
    lam = b.lam(theta)
    np.testing.assert_allclose(lam[:1, :1], [[2.0]])
    np.testing.assert_allclose(lam[1:, 1:], parts[1].lam(theta[1:]))
    assert not lam[1:, :1].any()
    np.testing.assert_array_equal(b.upper_bounds(), [np.inf, np.inf, 1.0])
    linked = b.linked()
    assert linked[1:, 1:].all() and not linked[0, 1:].any() and not b.is_diagonal


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_rectify_keeps_the_covariance(theta):
    s = CovarianceStructure.unstructured(2)
    theta = np.array(theta)
    fixed = s.rectify(theta)
    assert np.all(fixed[s.diagonal_mask()] >= 0)
    np.testing.assert_allclose(s.lam(fixed) @ s.lam(fixed).T, s.lam(theta) @ s.lam(theta).T,
                               atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(-0.999, 0.999), st.integers(2, 7))
def test_cs_and_ar1_factors_are_cholesky_factors(rho, size):
    for kind in ("cs", "ar1"):
        s = ScaledCorrelation(kind, size, homogeneous=True)
        if kind == "cs" and rho < -1 / (size - 1):
            continue
        lam = s.lam(np.array([1.0, rho]))
        expected = (cs_matrix if kind == "cs" else ar1_matrix)(np.ones(size), rho)
        np.testing.assert_allclose(lam @ lam.T, expected, atol=1e-10)
        assert np.all(np.diag(lam) >= 0)


def test_cols_give_the_column_each_sd_scales():
    # used by the model's rescaled start: each SD entry is divided by its column's scale
    np.testing.assert_array_equal(CovarianceStructure.named("cs", 3).cols, [0, 1, 2, 0])
    np.testing.assert_array_equal(CovarianceStructure.named("ar1", 3).cols, [0, 0])
    b = CovarianceStructure.block_diagonal([CovarianceStructure.unstructured(2),
                                            CovarianceStructure.named("cs", 2)])
    np.testing.assert_array_equal(b.cols[b.diagonal_mask()], [0, 1, 2, 3])
