"""Families and links: densities against scipy.stats, derivatives, the deviance identity,
and the logit GLMM's symmetry in success and failure."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mixed_models.core.glm.family import NegativeBinomial, make_family
from mixed_models.core.glm.links import LINKS, make_link
from mixed_models.core.glm.laplace import laplace_deviance
from mixed_models.core.glm.pirls import GlmmProblem, pirls

sys.path.insert(0, str(Path(__file__).parent))
from glmm_oracle import case  # noqa: E402

RNG = np.random.default_rng(5)
DOMAIN = {"logit": (0.05, 0.95), "probit": (0.05, 0.95), "cauchit": (0.05, 0.95),
          "cloglog": (0.05, 0.95), "log": (0.1, 5.0), "identity": (0.1, 5.0),
          "sqrt": (0.1, 5.0), "inverse": (0.1, 5.0), "1/mu^2": (0.1, 5.0)}


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_inverse_and_derivative(name):
    link = make_link(name)
    mu = np.linspace(*DOMAIN[name], 7)
    eta = link.link(mu)
    np.testing.assert_allclose(link.inverse(eta), mu, rtol=1e-12)
    h = 1e-6
    numeric = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.mu_eta(eta), numeric, rtol=1e-6)


def test_densities_match_scipy():
    y = RNG.poisson(3.0, 40).astype(float)
    mu = RNG.uniform(1.0, 5.0, 40)
    wt = np.ones(40)
    assert np.isclose(make_family("poisson").m2_log_density(y, mu, wt),
                      -2 * stats.poisson.logpmf(y, mu).sum(), rtol=1e-12)
    nb = NegativeBinomial(2.5)
    assert np.isclose(nb.m2_log_density(y, mu, wt),
                      -2 * stats.nbinom.logpmf(y, 2.5, 2.5 / (2.5 + mu)).sum(), rtol=1e-12)
    trials = RNG.integers(1, 20, 40).astype(float)
    k = np.floor(trials * RNG.uniform(0, 1, 40))
    p = RNG.uniform(0.1, 0.9, 40)
    assert np.isclose(make_family("binomial").m2_log_density(k / trials, p, trials),
                      -2 * stats.binom.logpmf(k, trials, p).sum(), rtol=1e-12)
    yg = RNG.gamma(4.0, 1.0, 40)
    fam = make_family("Gamma", "log")
    disp = fam.deviance_residuals(yg, mu, wt).sum() / 40
    expected = -2 * stats.gamma.logpdf(yg, 1 / disp, scale=mu * disp).sum() + 2
    assert np.isclose(fam.m2_log_density(yg, mu, wt), expected, rtol=1e-12)
    ig = make_family("inverse.gaussian")
    disp = ig.deviance_residuals(yg, mu, wt).sum() / 40
    expected = -2 * stats.invgauss.logpdf(yg, mu * disp, scale=1 / disp).sum() + 2
    assert np.isclose(ig.m2_log_density(yg, mu, wt), expected, rtol=1e-10)


@pytest.mark.parametrize("family", [make_family("binomial"), make_family("poisson"),
                                    NegativeBinomial(1.7)])
def test_density_is_deviance_plus_saturated(family):
    if family.name == "binomial":
        wt = RNG.integers(1, 10, 30).astype(float)
        y = np.floor(wt * RNG.uniform(0, 1, 30)) / wt
        mu = RNG.uniform(0.1, 0.9, 30)
    else:
        wt = np.ones(30)
        y = RNG.poisson(2.0, 30).astype(float)
        mu = RNG.uniform(0.5, 4.0, 30)
    lhs = family.m2_log_density(y, mu, wt)
    rhs = family.deviance_residuals(y, mu, wt).sum() + family.saturated_m2_log_density(y, wt)
    assert abs(lhs - rhs) < 1e-9


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown link"):
        make_link("logarithm")
    with pytest.raises(ValueError, match="takes the links"):
        make_family("poisson", "logit")
    with pytest.raises(ValueError, match="unknown family"):
        make_family("gaussian")
    with pytest.raises(ValueError, match="shape must be positive"):
        NegativeBinomial(0.0)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.1, 2.0), shift=st.floats(-1.0, 1.0), seed=st.integers(0, 1000))
def test_swapping_success_and_failure_flips_beta(scale, shift, seed):
    c = case("cbpp_binomial")
    p = c.problem
    theta = np.array([scale])
    beta = c.beta + shift * np.random.default_rng(seed).normal(size=len(c.beta))
    swapped = GlmmProblem(p.terms, p.design.x, 1.0 - p.y, p.family, p.weights)
    a = laplace_deviance(p, pirls(p, theta, beta))
    b = laplace_deviance(swapped, pirls(swapped, theta, -beta))
    assert abs(a - b) < 1e-8 * max(1.0, abs(a))


@pytest.mark.parametrize("family, y, message", [
    ("binomial", [0.0, 1.5], "between 0 and 1"),
    ("poisson", [1.0, -1.0], "non-negative counts"),
    ("Gamma", [1.0, 0.0], "positive"),
    ("inverse.gaussian", [2.0, np.nan], "finite"),
])
def test_responses_outside_the_family_are_refused(family, y, message):
    from mixed_models.errors import DataError
    with pytest.raises(DataError, match=message):
        make_family(family).check_response(np.array(y), np.ones(len(y)))
