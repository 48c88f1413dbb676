"""The blocked factor's objective against a direct dense computation (marginal form).

For every block kind (scalar or vector lead term, dense or sparse lead-rest block,
crossed or nested terms, weights, the compiled rank update), the profiled objective must
equal the one computed from V = W^-1 + Z Lambda Lambda' Z' with dense linear algebra.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from core_terms import problem_arrays

from mixed_models.core import kernels

from mixed_models.core.problem import LmmProblem


def _dense_objective(terms, x, y, weights, theta, reml):
    n, p = x.shape
    blocks, lams, start = [], [], 0
    for t in terms:
        k = t.covariance.n_theta
        lam = t.covariance.lam(theta[start:start + k])
        start += k
        z = np.zeros((n, t.q))
        for s in range(t.size):
            z[np.arange(n), t.codes * t.size + s] = t.z[:, s]
        blocks.append(z)
        lams.append(np.kron(np.eye(t.n_levels), lam))
    zl = np.hstack([z @ lam for z, lam in zip(blocks, lams)])
    w = np.ones(n) if weights is None else weights
    v = np.diag(1.0 / w) + zl @ zl.T
    chol = np.linalg.cholesky(v)
    wxy = np.linalg.solve(chol, np.column_stack([x, y]))
    wx, wy = wxy[:, :p], wxy[:, p]
    xtvx = wx.T @ wx
    beta = np.linalg.solve(xtvx, wx.T @ wy)
    r2 = float(np.sum((wy - wx @ beta) ** 2))
    logdet_v = 2 * np.sum(np.log(np.diag(chol)))
    if reml:
        nu = n - p
        return logdet_v + np.linalg.slogdet(xtvx)[1] + nu * (1 + np.log(2 * np.pi * r2 / nu))
    return logdet_v + n * (1 + np.log(2 * np.pi * r2 / n))


KINDS = ["scalar", "vector", "crossed_dense", "crossed_sparse", "crossed_sparse_vector",
         "nested"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reml", [True, False])
def test_objective_matches_dense_marginal_computation(kind, reml):
    rng = np.random.default_rng(2024)
    terms, x, y, weights = problem_arrays(kind, rng)
    problem = LmmProblem(terms, x, y, weights, reml=reml)
    if kind.startswith("crossed_sparse"):
        assert sp.issparse(problem.cp.ar1)
    for _ in range(3):
        theta = rng.uniform(0.2, 1.5, problem.n_theta)
        theta[~problem.diagonal_mask()] = rng.normal(scale=0.3, size=(~problem.diagonal_mask()).sum())
        expected = _dense_objective(terms, x, y, weights, theta, reml)
        assert problem.objective(theta) == pytest.approx(expected, rel=1e-10)


@pytest.mark.skipif(not kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("kind", ["crossed_sparse", "crossed_sparse_vector"])
def test_compiled_rank_update_gives_the_same_objective(kind, monkeypatch):
    rng = np.random.default_rng(5)
    terms, x, y, weights = problem_arrays(kind, rng)
    # the original columns, so that both objectives come from the factors compared here
    plain = LmmProblem(terms, x, y, weights, reparametrize=False)
    assert plain.factor._kernel is None  # the factor is made when first asked for: here
    monkeypatch.setattr(kernels, "MIN_WORK", 0)
    compiled = LmmProblem(terms, x, y, weights, reparametrize=False)
    assert plain.factor._kernel is None and compiled.factor._kernel is not None
    for _ in range(3):
        theta = rng.uniform(0.1, 2.0, plain.n_theta)
        assert compiled.objective(theta) == pytest.approx(plain.objective(theta), rel=1e-12)
    est_plain, est_comp = plain.estimates(theta), compiled.estimates(theta)
    np.testing.assert_allclose(est_comp.beta, est_plain.beta, rtol=1e-10)
    np.testing.assert_allclose(est_comp.u[1], est_plain.u[1], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind", ["scalar", "vector", "crossed_sparse"])
def test_a_factor_asked_again_for_its_theta_holds_the_same_factor(kind):
    # the factor skips the work at the theta it holds; every other theta is factored
    # afresh, so a sequence A, A, B, A ends where A began
    rng = np.random.default_rng(11)
    terms, x, y, weights = problem_arrays(kind, rng)
    problem = LmmProblem(terms, x, y, weights, reparametrize=False)
    factor = problem.factor
    a = rng.uniform(0.3, 1.2, problem.n_theta)
    b = a * 1.7
    value_a = problem.objective(a)
    saved = factor.rest_factor.copy()
    assert problem.objective(a.copy()) == value_a
    np.testing.assert_array_equal(factor.rest_factor, saved)
    assert problem.objective(b) != pytest.approx(value_a, rel=1e-6)
    assert problem.objective(a) == pytest.approx(value_a, rel=1e-13)
    np.testing.assert_allclose(factor.rest_factor, saved, rtol=1e-12, atol=1e-12)
