"""GLMM refits to a new response: the model's own response gives back its estimates, a
simulated one an optimum no worse than the original parameters on that response."""

from __future__ import annotations

import numpy as np
import pytest
from glmm_panel import panel_fit

from mixed_models.errors import DataError, ModelError

CASES = ["cbpp_binomial", "cbpp_binomial_agq9", "cbpp_poisson_offset",
         "sleepstudy_gamma_log", "grouseticks_nb"]


def _params(model):
    return np.concatenate([model.theta, list(model.fix_ef.values())])


@pytest.mark.parametrize("model_id", CASES)
def test_own_response_gives_back_the_estimates(model_id):
    model = panel_fit(model_id)
    again = model.refit(y=model.record.problem.y)
    assert again.deviance <= model.deviance + 1e-6
    np.testing.assert_allclose(_params(again), _params(model), atol=2e-4)
    assert again.family == model.family and again.n_agq == model.n_agq


@pytest.mark.parametrize("model_id", CASES)
def test_simulated_response_reaches_an_optimum(model_id):
    model = panel_fit(model_id)
    y = model.simulate(1, seed=11)[:, 0]
    new = model.refit(y=y)
    np.testing.assert_array_equal(new.record.problem.y, y)
    assert new.deviance <= new.dev_fun(_params(model)) + 1e-8
    assert not np.allclose(_params(new), _params(model), atol=1e-3)
    if model.family == "negative.binomial":
        assert new.dispersion != pytest.approx(model.dispersion, rel=1e-6)


def test_refit_refusals():
    model = panel_fit("cbpp_binomial")
    with pytest.raises(DataError, match="56 observations"):
        model.refit(y=np.zeros(3))
    with pytest.raises(DataError, match="between 0 and 1"):
        model.refit(y=np.full(model.n_obs, 2.0))
    with pytest.raises(ModelError, match="new response"):
        model.refit(newdata=model.record.structure.design.frame.data)
