"""Binned residuals of a binary GLMM: the bins table against numbers computed by hand,
a missing term shows as bins outside their band, and the refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM, datasets
from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.inference.binned_residuals import binned_residuals, default_bins


def _binary_data(seed: int = 5, n_groups: int = 40, per_group: int = 25) -> pd.DataFrame:
    """y ~ Bernoulli(logit^-1(1.5 x^2 - 1 + b_g)), x uniform on (-2, 2)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.uniform(-2.0, 2.0, g.size)
    eta = 1.5 * x**2 - 1.0 + rng.normal(0.0, 0.5, n_groups)[g]
    y = rng.uniform(size=g.size) < 1.0 / (1.0 + np.exp(-eta))
    return pd.DataFrame({"y": y.astype(int), "x": x, "x2": x**2, "g": g.astype(str)})


@pytest.fixture(scope="module")
def data():
    return _binary_data()


@pytest.fixture(scope="module")
def right(data):
    return GLMM.from_formula("y ~ x + x2 + (1 | g)", data, family="binomial")


@pytest.fixture(scope="module")
def wrong(data):
    return GLMM.from_formula("y ~ x + (1 | g)", data, family="binomial")


@pytest.mark.parametrize("n, bins", [(1000, 31), (100, 10), (99, 10), (30, 3), (4, 1)])
def test_default_number_of_bins(n, bins):
    assert default_bins(n) == bins


def test_bins_table_matches_a_hand_computation(right, data):
    table = right.binned_residuals(bins=20)
    mu = right.fitted()
    order = np.argsort(mu, kind="stable")
    first = order[:50]
    assert len(table) == 20 and table["n"].sum() == 1000
    assert table["fitted_mean"].iloc[0] == pytest.approx(mu[first].mean(), abs=1e-12)
    assert table["residual_mean"].iloc[0] == pytest.approx(
        (data["y"].to_numpy()[first] - mu[first]).mean(), abs=1e-12)
    p = table["fitted_mean"].to_numpy()
    np.testing.assert_allclose(table["band"], 2 * np.sqrt(p * (1 - p) / 50), rtol=1e-12)
    assert np.all(np.diff(p) > 0)
    assert table["inside"].tolist() == (table["residual_mean"].abs() <= table["band"]).tolist()


@pytest.mark.parametrize("which, inside", [("right", 9), ("wrong", 4)])
def test_a_missing_term_leaves_bins_outside_their_band(right, wrong, which, inside):
    model = {"right": right, "wrong": wrong}[which]
    assert model.binned_residuals(bins=10)["inside"].sum() == inside


def test_refusals(right):
    with pytest.raises(InvalidArgumentError, match="bins must be an int from 1"):
        right.binned_residuals(bins=0)
    with pytest.raises(InvalidArgumentError, match="bins"):
        right.binned_residuals(bins=2.5)
    cbpp = GLMM.from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                             datasets.load("cbpp"), family="binomial")
    with pytest.raises(ModelError, match="several trials per row"):
        binned_residuals(cbpp.record)
    ticks = GLMM.from_formula("TICKS ~ YEAR + (1 | BROOD)", datasets.load("grouseticks"),
                              family="poisson")
    with pytest.raises(ModelError, match="binomial GLMMs"):
        ticks.binned_residuals()
