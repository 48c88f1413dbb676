"""Simulated quantile residuals: the randomized rank (exact values, uniform when y is
exchangeable with its simulations), and the Kolmogorov-Smirnov test: not small on data
simulated from the model itself, tiny on overdispersed counts."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models import GLMM, LMM, datasets
from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.inference.quantile_residuals import quantile_residuals, randomized_ranks

OVERDISPERSED = "TICKS ~ YEAR + (1 | LOCATION)"  # Pearson ratio about 4


@pytest.fixture(scope="module")
def ticks():
    return datasets.load("grouseticks")


@pytest.fixture(scope="module")
def overdispersed(ticks):
    return GLMM.from_formula(OVERDISPERSED, ticks, family="poisson")


@pytest.fixture(scope="module")
def from_the_model(ticks, overdispersed):
    """The same model refitted to a response simulated from it."""
    data = ticks.copy()
    data["TICKS"] = overdispersed.simulate(1, seed=3, use_ran_ef=True)[:, 0]
    return GLMM.from_formula(OVERDISPERSED, data, family="poisson")


@pytest.mark.parametrize("observed, simulated, low, high", [
    ([0.5], [[0.0, 1.0]], 1 / 3, 2 / 3),         # one below, none equal
    ([2.0], [[0.0, 1.0]], 2 / 3, 1.0),           # above every simulation
    ([-1.0], [[0.0, 1.0]], 0.0, 1 / 3),          # below every simulation
    ([1.0], [[1.0, 1.0, 1.0]], 0.0, 1.0),        # all tied: anywhere
    ([1.0], [[0.0, 1.0, 2.0]], 1 / 4, 3 / 4),    # one below, one tied
])
def test_randomized_rank_lies_between_the_tie_bounds(observed, simulated, low, high):
    draws = [randomized_ranks(np.array(observed), np.array(simulated), seed=s)[0]
             for s in range(200)]
    assert low <= min(draws) and max(draws) <= high
    assert max(draws) - min(draws) > 0.8 * (high - low)  # the jitter spans the interval


def test_randomized_ranks_are_uniform_for_an_exchangeable_discrete_response():
    from scipy.stats import kstest

    rng = np.random.default_rng(7)
    draws = rng.poisson(1.5, size=(4000, 41))  # few distinct values: many ties
    ranks = randomized_ranks(draws[:, 0], draws[:, 1:], seed=8)
    assert kstest(ranks, "uniform").pvalue > 0.05
    assert np.all((ranks > 0) & (ranks < 1))


def test_proportions_computed_twice_are_ties():
    observed = np.array([1 / 3])
    simulated = np.array([[0.1 + 0.2333333333333333, 0.9]])  # 1/3 up to rounding
    draws = [randomized_ranks(observed, simulated, seed=s)[0] for s in range(100)]
    assert max(draws) > 1 / 3 + 0.2  # the tie widens the interval beyond (0, 1/3)


def test_ks_p_value_is_not_small_on_data_simulated_from_the_model(from_the_model):
    result = from_the_model.quantile_residuals(250, seed=1)
    assert result.p_value == pytest.approx(0.780, abs=0.01)
    assert result.ks_statistic == pytest.approx(0.0324, abs=1e-3)
    assert result.p_value > 0.1 and result.nsim == 250
    assert result.residuals.shape == (403,) and result.predicted.shape == (403,)


def test_ks_p_value_is_tiny_on_overdispersed_counts(overdispersed):
    result = overdispersed.quantile_residuals(250, seed=1)
    assert result.p_value < 1e-6
    assert result.ks_statistic == pytest.approx(0.156, abs=2e-3)


def test_new_random_effects_make_residuals_of_a_group_move_together(from_the_model):
    # drawn with new random effects, the residuals of a location share its b: the KS
    # test (which assumes independence) rejects even data from the model itself
    result = from_the_model.quantile_residuals(250, seed=1, use_ran_ef=False)
    assert result.p_value < 1e-4


def test_the_same_seed_gives_the_same_residuals(overdispersed):
    first = overdispersed.quantile_residuals(50, seed=11)
    again = overdispersed.quantile_residuals(50, seed=11)
    other = overdispersed.quantile_residuals(50, seed=12)
    np.testing.assert_array_equal(first.residuals, again.residuals)
    assert not np.allclose(first.residuals, other.residuals)


def test_bad_inputs_are_refused(overdispersed):
    with pytest.raises(InvalidArgumentError, match="one row per observation"):
        quantile_residuals(overdispersed.record, np.zeros((10, 5)))
    with pytest.raises(InvalidArgumentError, match="nsim"):
        overdispersed.quantile_residuals(0)
    lmm = LMM.from_formula("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"))
    with pytest.raises(ModelError, match="generalized"):
        quantile_residuals(lmm.record, np.zeros((180, 5)))
