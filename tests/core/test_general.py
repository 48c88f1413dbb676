"""GeneralProblem: the profiled objective for any Lambda(theta), checked against the
blocked core and against a direct dense computation of the Gaussian likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import multivariate_normal

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData
from mixed_models.core.general import GeneralProblem
from mixed_models.core.problem import LmmProblem
from mixed_models.datasets import load


def block_lambdat(levels: int, size: int, structure: CovarianceStructure):
    """Lambda' of a per-level term, as a user would write it for the raw constructor."""
    return lambda th: sp.kron(sp.identity(levels), structure.lam(th).T).tocsr()


def sleepstudy_arrays():
    d = load("sleepstudy")
    codes, levels = np.unique(d["Subject"], return_inverse=True)[1], 18
    days = d["Days"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(d)), days])
    z = np.column_stack([np.ones(len(d)), days])
    return x, d["Reaction"].to_numpy(dtype=float), codes, levels, z


def pair(weights=None, offset=None, reml=True, sigma=None, structure=None):
    """The same model as a blocked LmmProblem and as a GeneralProblem."""
    x, y, codes, levels, z = sleepstudy_arrays()
    structure = structure or CovarianceStructure.unstructured(2)
    term = TermData(codes, z, levels, structure)
    blocked = LmmProblem([term], x, y, weights, offset, reml=reml, sigma=sigma)
    rows = (codes[:, None] * 2 + np.arange(2)).ravel()
    zt = sp.csr_matrix((z.ravel(), (rows, np.repeat(np.arange(len(y)), 2))),
                       shape=(2 * levels, len(y)))
    general = GeneralProblem(x, y, zt, block_lambdat(levels, 2, structure),
                             structure.initial(), structure.lower_bounds(),
                             structure.upper_bounds(), weights, offset, reml, sigma)
    return blocked, general


def weights_and_offset():
    rng = np.random.default_rng(5)
    return rng.uniform(0.5, 2.0, 180), rng.normal(size=180)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sigma", [None, 30.0])
def test_objective_equals_the_blocked_core(reml, weighted, sigma):
    w, off = weights_and_offset() if weighted else (None, None)
    blocked, general = pair(w, off, reml, sigma)
    rng = np.random.default_rng(1)
    for theta in [np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.02, 0.22]),
                  np.abs(rng.normal(size=3))]:
        assert general.objective(theta) == pytest.approx(blocked.objective(theta), rel=1e-11)


def test_structured_lambda_equals_the_blocked_core():
    blocked, general = pair(structure=CovarianceStructure.named("cs", 2, homogeneous=True))
    for theta in ([1.0, 0.0], [0.5, 0.9], [2.0, -0.3]):
        assert general.objective(np.array(theta)) == \
            pytest.approx(blocked.objective(np.array(theta)), rel=1e-11)


def test_estimates_and_conditional_covariances_equal_the_blocked_core():
    w, off = weights_and_offset()
    blocked, general = pair(w, off)
    theta = np.array([0.9, 0.05, 0.25])
    eb, eg = blocked.estimates(theta), general.estimates(theta)
    np.testing.assert_allclose(eg.beta, eb.beta, rtol=1e-10)
    np.testing.assert_allclose(eg.b[0].ravel(), eb.b[0].ravel(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(eg.beta_cov_unscaled, eb.beta_cov_unscaled, rtol=1e-9)
    assert eg.pwrss == pytest.approx(eb.pwrss, rel=1e-10)
    full = general.conditional_covariances(theta)[0][0]
    per_level = blocked.conditional_covariances(theta)[0]
    blocks = np.array([full[2 * i:2 * i + 2, 2 * i:2 * i + 2] for i in range(18)])
    np.testing.assert_allclose(blocks, per_level, rtol=1e-8)
    np.testing.assert_allclose(general.random_part(eg.b), blocked.random_part(eb.b), rtol=1e-8)


def dense_deviance(x, y, zt, lam, weights, reml, sigma):
    """-2 log-likelihood (ML) or -2 REML log-likelihood by dense linear algebra."""
    z = zt.toarray().T
    v = np.diag(1.0 / weights) + z @ lam @ lam.T @ z.T
    vinv = np.linalg.inv(v)
    beta = np.linalg.solve(x.T @ vinv @ x, x.T @ vinv @ y)
    if not reml:
        return -2.0 * multivariate_normal(x @ beta, sigma**2 * v).logpdf(y)
    n, p = x.shape
    r = y - x @ beta
    return ((n - p) * np.log(2 * np.pi * sigma**2) + np.linalg.slogdet(v)[1]
            + np.linalg.slogdet(x.T @ vinv @ x)[1] + r @ vinv @ r / sigma**2)


@pytest.mark.parametrize("reml", [False, True])
def test_fixed_sigma_objective_is_the_gaussian_likelihood(reml):
    w, _ = weights_and_offset()
    _, general = pair(w, None, reml, sigma=28.5)
    theta = np.array([0.8, 0.1, 0.3])
    lam = general.factor.lambdas(theta)[0]
    expected = dense_deviance(general.x, general.y, general.zt, lam, w, reml, 28.5)
    assert general.objective(theta) == pytest.approx(expected, rel=1e-10)


def test_a_full_lambda_from_a_kinship_matrix():
    rng = np.random.default_rng(11)
    n = 40
    a = rng.normal(size=(n, n))
    kinship = a @ a.T / n + 0.5 * np.eye(n)
    chol_t = np.linalg.cholesky(kinship).T
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = x @ [1.0, 0.5] + chol_t.T @ rng.normal(size=n) + rng.normal(size=n)
    problem = GeneralProblem(x, y, sp.identity(n), lambda th: th[0] * chol_t, np.array([1.0]),
                             np.array([0.0]), reml=False)
    result = problem.optimize()
    sigma = np.sqrt(problem.sigma2(problem.estimates(result.final)))
    lam = problem.factor.lambdas(result.final)[0]
    assert result.objective == pytest.approx(
        dense_deviance(x, y, sp.identity(n).tocsr(), lam, np.ones(n), False, sigma), rel=1e-10)
    # the optimum: no better theta on a fine grid
    grid = np.linspace(0.0, 3.0, 301)
    assert result.objective <= min(problem.objective(np.array([t])) for t in grid) + 1e-9


def test_objective_is_infinite_outside_the_bounds():
    _, general = pair()
    assert np.isinf(general.objective(np.array([-0.1, 0.0, 1.0])))
    assert np.isfinite(general.objective(np.array([0.0, 0.0, 1.0])))


def test_with_response_equals_a_fresh_problem():
    w, off = weights_and_offset()
    _, general = pair(w, off)
    y_new = general.y[::-1].copy()
    fresh = GeneralProblem(general.x, y_new, general.zt, general.lambdat, general.theta0,
                           general.lower, general.upper, w, off)
    theta = np.array([0.7, 0.1, 0.2])
    # the two problems reach X'y and Z'y by different BLAS calls: equal to rounding only
    assert general.with_response(y_new).objective(theta) == \
        pytest.approx(fresh.objective(theta), rel=1e-12)
    assert general.objective(theta) != pytest.approx(fresh.objective(theta), rel=1e-6)


def test_singular_uses_the_entries_bounded_at_zero():
    _, general = pair()
    assert general.singular(np.array([1.0, -5.0, 0.0]), 1e-4)
    assert not general.singular(np.array([1.0, 0.0, 0.5]), 1e-4)


def test_both_problems_have_the_protocols_interface():
    from mixed_models.core.interface import MixedProblem

    names = [n for n in dir(MixedProblem) if not n.startswith("_")]
    names += list(MixedProblem.__annotations__)
    assert len(names) >= 20
    blocked, general = pair()
    for name in names:
        assert hasattr(blocked, name) and hasattr(general, name), name
