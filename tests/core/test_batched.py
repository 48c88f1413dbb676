"""The batched objective against the single problem's, response by response, and the
small-matrix Cholesky factor and solve it is built on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixed_models import LMM, datasets
from mixed_models.core import batched
from mixed_models.inference.bootstrap_batched import batched_model, batched_responses


@pytest.mark.parametrize("formula", ["Reaction ~ Days + (Days | Subject)",
                                     "Reaction ~ Days + diag(Days | Subject)",
                                     "Reaction ~ 1 + (1 | Subject)"])
@pytest.mark.parametrize("reml", [True, False])
def test_objective_and_estimates_equal_the_single_problems(formula, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula(formula, datasets.load("sleepstudy"), reml=reml)
    problem = model.record.problem
    rng = np.random.default_rng(2)
    responses = problem.y[:, None] + rng.normal(scale=20.0, size=(problem.n_obs, 4))
    shift, data = batched_responses(problem, responses)
    thetas = np.abs(model.theta) * rng.uniform(0.5, 1.5, (4, problem.n_theta))
    value, beta, sigma2 = batched.objective(batched_model(problem), data, thetas, True)
    for r in range(4):
        single = problem.with_response(responses[:, r])
        assert value[r] == pytest.approx(single.objective(thetas[r]), rel=1e-12)
        estimates = single.estimates(thetas[r])
        np.testing.assert_allclose(beta[r] + shift[r], estimates.beta, rtol=1e-10)
        assert sigma2[r] == pytest.approx(single.sigma2(estimates), rel=1e-10)


def test_small_cholesky_and_solve_match_lapack():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(50, 7, 4, 4))
    m = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(4)
    lower = batched.cholesky(m)
    np.testing.assert_allclose(lower, np.linalg.cholesky(m), rtol=1e-10, atol=1e-12)
    b = rng.normal(size=(50, 7, 4, 3))
    np.testing.assert_allclose(batched.forward_solve(lower, b), np.linalg.solve(lower, b),
                               rtol=1e-9, atol=1e-10)
    m[3, 2] = -np.eye(4)  # not positive definite: NaN, nowhere else
    bad = batched.cholesky(m)
    assert np.isnan(bad[3, 2]).any() and np.isfinite(np.delete(bad.reshape(350, 4, 4), 23,
                                                                axis=0)).all()
