"""Every model of models.csv against lme4's best optimum (issue 2's tolerances, see
``reference.check_*``)."""

from __future__ import annotations

import pytest

import reference

IDS = list(reference.specs())
SMALL = [i for i in IDS if i not in reference.LARGE]


def _params(ids):
    return [pytest.param(i, marks=pytest.mark.slow) if i in reference.LARGE else i for i in ids]


@pytest.mark.parametrize("model_id", _params(IDS))
def test_objective_at_least_as_low_as_lme4(fitted, model_id):
    model = fitted(model_id)
    reference.check_objective(model, reference.fit_json(model_id), model_id in reference.LARGE)
    assert model.reml == reference.specs()[model_id].reml


@pytest.mark.parametrize("model_id", _params(IDS))
def test_fixed_effects_and_standard_errors(fitted, model_id):
    reference.check_fixed_effects(fitted(model_id), reference.fit_json(model_id))


@pytest.mark.parametrize("model_id", _params(IDS))
def test_variance_components(fitted, model_id):
    reference.check_variance_components(fitted(model_id), reference.fit_json(model_id))


@pytest.mark.parametrize("model_id", _params(IDS))
def test_group_sizes(fitted, model_id):
    ref = reference.fit_json(model_id)
    model = fitted(model_id)
    assert model.n_obs == ref["nobs"]
    assert model.n_groups == ref["ngroups"]


@pytest.mark.parametrize("model_id", _params(IDS))
def test_conditional_modes_and_sds(fitted, model_id):
    reference.check_conditional_modes(fitted(model_id), reference.fit_json(model_id))


@pytest.mark.parametrize("model_id", [i for i in SMALL if "rows" in reference.specs()[i].extras])
def test_fitted_values_and_residuals(fitted, model_id):
    reference.check_rows(fitted(model_id), reference.fit_json(model_id))
