"""core.reparam: the internal centred and scaled columns answer for the original ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_terms import random_term

from mixed_models.core.problem import LmmProblem
from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.reparam import TermMap, triangular


def _far_columns(rng, correlated=True):
    """A problem whose slope column sits far from zero and on a large scale."""
    n = 400
    term = random_term(rng, n, 25, 3, correlated=correlated)
    z = term.z.copy()
    z[:, 1] = 300.0 + 40.0 * z[:, 1]
    z[:, 2] = 1e-3 * z[:, 2]
    term = dataclasses.replace(term, z=z)
    x = np.column_stack([np.ones(n), z[:, 1], rng.uniform(size=n) * 1e4])
    y = rng.normal(size=n) + x @ [1.0, 0.01, 1e-4] + 0.1 * z[:, 1] * rng.normal(size=25)[term.codes]
    return [term], x, y


def _thetas(rng, problem, count=4):
    mask = problem.diagonal_mask()
    for _ in range(count):
        theta = rng.normal(size=problem.n_theta)
        yield np.where(mask, np.abs(theta) + 0.05, theta) * rng.uniform(0.01, 2.0)


@pytest.mark.parametrize("correlated", [True, False])
@pytest.mark.parametrize("reml", [True, False])
def test_objective_and_estimates_equal_those_of_the_original_columns(correlated, reml):
    rng = np.random.default_rng(11)
    terms, x, y = _far_columns(rng, correlated)
    internal = LmmProblem(terms, x, y, reml=reml)
    plain = LmmProblem(terms, x, y, reml=reml, reparametrize=False)
    assert internal.reparam is not None and plain.reparam is None
    for theta in _thetas(rng, internal):
        assert internal.objective(theta) == pytest.approx(plain.objective(theta), rel=1e-9)
        a, b = internal.estimates(theta), plain.estimates(theta)
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-7, atol=1e-9 * np.abs(b.beta).max())
        np.testing.assert_allclose(a.beta_cov_unscaled, b.beta_cov_unscaled, rtol=1e-6,
                                   atol=1e-9 * np.abs(b.beta_cov_unscaled).max())
        np.testing.assert_allclose(a.b[0], b.b[0], rtol=1e-6, atol=1e-9 * np.abs(b.b[0]).max())
        np.testing.assert_allclose(a.u[0], b.u[0], rtol=1e-6, atol=1e-9 * np.abs(b.u[0]).max())
        assert a.pwrss == pytest.approx(b.pwrss, rel=1e-9)
        ca = internal.conditional_covariances(theta)[0]
        cb = plain.conditional_covariances(theta)[0]
        np.testing.assert_allclose(ca, cb, rtol=1e-6, atol=1e-9 * np.abs(cb).max())


def test_theta_maps_back_and_forth():
    rng = np.random.default_rng(3)
    terms, x, y = _far_columns(rng)
    problem = LmmProblem(terms, x, y)
    for theta in _thetas(rng, problem):
        inner = problem.theta_to_internal(theta)
        np.testing.assert_allclose(problem.theta_to_original(inner), theta, rtol=1e-9,
                                   atol=1e-12 * np.abs(theta).max())
        # the same covariance: lambda lambda' maps as T^-1 Sigma T^-T
        t = problem.reparam.terms[0].transform
        cov = terms[0].covariance
        lam, lam_int = cov.lam(theta), cov.lam(inner)
        t_inv = np.linalg.inv(t)
        np.testing.assert_allclose(lam_int @ lam_int.T, t_inv @ lam @ lam.T @ t_inv.T,
                                   rtol=1e-9, atol=1e-12 * np.abs(lam_int).max() ** 2)
        assert np.all(np.diag(lam_int) >= 0)


def test_a_singular_factor_stays_exactly_singular():
    m = np.array([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 3.0, 0.0]])
    t = np.array([[1.0, -300.0, 7.0], [0.0, 0.025, 0.0], [0.0, 0.0, 1e3]])
    lower = triangular(np.linalg.inv(t) @ m)
    back = triangular(t @ lower)
    for factor in (lower, back):
        # rank 2 of 3: a zero on the diagonal, and no rounding residue in place of one
        diag = np.diag(factor)
        assert np.any(diag == 0.0) and np.all(np.tril(factor) == factor)
        assert not np.any((diag > 0) & (diag < 1e-10 * np.abs(factor).max()))
    np.testing.assert_allclose(back @ back.T, m @ m.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lower @ lower.T, np.linalg.inv(t) @ m @ m.T @ np.linalg.inv(t).T,
                               rtol=1e-9, atol=1e-12 * np.abs(lower).max() ** 2)


def test_columns_of_every_scale_reach_the_same_internal_problem():
    rng = np.random.default_rng(5)
    terms, x, y = _far_columns(rng)
    base = LmmProblem(terms, x, y)
    for shift, scale in [(1e4, 1.0), (0.0, 1e-8), (-5e3, 1e8)]:
        z = terms[0].z.copy()
        z[:, 1] = z[:, 1] * scale + shift
        xs = x.copy()
        xs[:, 1] = z[:, 1]
        moved = LmmProblem([dataclasses.replace(terms[0], z=z)], xs, y)
        np.testing.assert_allclose(moved.internal.terms[0].z, base.internal.terms[0].z,
                                   atol=1e-7)
        theta = next(_thetas(rng, base.internal, 1))
        # REML: log|R_X|^2 moves by 2 log|scale| with the column of X
        assert moved.internal.objective(theta) + moved.reparam.reml_shift == pytest.approx(
            base.internal.objective(theta) + base.reparam.reml_shift + 2 * np.log(scale),
            rel=1e-9)


def test_structured_covariances_keep_their_columns():
    from mixed_models.core.covariance import CovarianceStructure

    rng = np.random.default_rng(2)
    terms, x, y = _far_columns(rng)
    cs = dataclasses.replace(terms[0], covariance=CovarianceStructure.compound_symmetry(3))
    problem = LmmProblem([cs], x, y)
    assert problem.reparam.terms[0].transform is None
    assert problem.internal.terms[0] is cs


@settings(max_examples=80, deadline=None)
@given(theta=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
       t=st.lists(st.floats(-1e2, 1e2), min_size=4, max_size=4))
def test_a_slope_pair_maps_as_the_general_term(theta, t):
    # the scalar map of an unstructured pair of columns is the general one's
    theta, t = np.array(theta), np.array(t).reshape(2, 2)
    term = TermMap(CovarianceStructure.unstructured(2), t)
    general = triangular(t @ term.covariance.lam(theta))
    mapped = term._map(theta, t, None)
    assert np.allclose(mapped, general[[0, 1, 1], [0, 0, 1]], rtol=1e-12,
                       atol=1e-12 * max(1.0, np.abs(general).max()))
    diagonal = not np.any(t - np.diag(np.diag(t)))  # then rows are scaled, not rotated
    if not diagonal and np.linalg.matrix_rank(t @ term.covariance.lam(theta)) == 2:
        rotation = term.rotation(theta)
        expected = triangular(t @ term.covariance.lam(theta), rotation=True)[1]
        assert np.allclose(rotation, expected, rtol=1e-10, atol=1e-12)
