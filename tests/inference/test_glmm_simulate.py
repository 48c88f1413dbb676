"""Simulated GLMM responses: reproducible by seed, on the fit's response scale, with the
family's conditional mean and variance given the modes, and the random effects' variance
when they are drawn anew."""

from __future__ import annotations

import numpy as np
import pytest
from glmm_panel import panel_fit

from mixed_models import LMM
from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.inference.glmm_simulate import simulate_responses

CASES = ["cbpp_binomial", "cbpp_poisson_offset", "sleepstudy_gamma_log", "grouseticks_nb"]


@pytest.mark.parametrize("model_id", CASES)
def test_same_seed_same_responses_and_shape(model_id):
    model = panel_fit(model_id)
    a = simulate_responses(model, 3, seed=7)
    b = simulate_responses(model.record, 3, seed=7)
    assert a.shape == (model.n_obs, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, simulate_responses(model, 3, seed=8))


def _variance(model, mu):
    name = model.family
    if name == "binomial":
        return mu * (1 - mu) / model.record.problem.core.weights
    if name == "poisson":
        return mu
    if name == "negative.binomial":
        return mu + mu ** 2 / model.dispersion
    return model.dispersion * mu ** 2  # Gamma


@pytest.mark.parametrize("model_id", CASES)
def test_conditional_mean_and_variance_given_the_modes(model_id):
    model = panel_fit(model_id)
    nsim = 4000
    y = simulate_responses(model, nsim, seed=1, use_ran_ef=True)
    mu = model.fitted()
    var = _variance(model, mu)
    z_mean = (y.mean(axis=1) - mu) / np.sqrt(var / nsim)
    assert np.max(np.abs(z_mean)) < 4.5
    ratio = y.var(axis=1) / var
    assert np.all(np.abs(ratio - 1) < 0.25)


def test_binomial_draws_are_whole_successes_of_the_trials():
    model = panel_fit("cbpp_binomial")
    y = simulate_responses(model, 50, seed=3)
    trials = model.record.problem.core.weights[:, None]
    successes = y * trials
    np.testing.assert_allclose(successes, np.rint(successes), atol=1e-9)
    assert successes.min() >= 0 and np.all(successes <= trials)


@pytest.mark.parametrize("model_id", ["cbpp_poisson_offset", "sleepstudy_gamma_log"])
def test_new_random_effects_have_the_estimated_variance(model_id):
    # log link: with b ~ N(0, sigma^2 Lambda Lambda') drawn anew, E[y] = exp(eta_fixed + v/2)
    # with v = sigma^2 z' Lambda Lambda' z (sigma: 1 for Poisson, lme4's sigma for Gamma)
    model = panel_fit(model_id)
    problem = model.record.problem
    v = np.zeros(model.n_obs)
    for term, lam in zip(problem.terms, problem.factor.lambdas(model.theta)):
        v += model.sigma ** 2 * np.einsum("ns,st,nt->n", term.z, lam @ lam.T, term.z)
    expected = np.exp(model.linear_predictor(with_ran_ef=False) + v / 2)
    y_new = simulate_responses(model, 4000, seed=5)
    np.testing.assert_allclose(y_new.mean(axis=1), expected, rtol=0.1)
    y_kept = simulate_responses(model, 4000, seed=5, use_ran_ef=True)
    assert np.mean(y_new.var(axis=1)) > 1.3 * np.mean(y_kept.var(axis=1))


def test_bad_arguments_and_linear_models():
    model = panel_fit("cbpp_binomial")
    with pytest.raises(InvalidArgumentError, match="nsim"):
        simulate_responses(model, 0)
    with pytest.raises(InvalidArgumentError, match="seed"):
        simulate_responses(model, 1, seed=-1)
    from glmm_panel import panel_data
    lmm = LMM.from_formula("Reaction ~ Days + (1 | Subject)", panel_data("sleepstudy_gamma_log"))
    with pytest.raises(ModelError, match="GLMM"):
        simulate_responses(lmm, 1)
