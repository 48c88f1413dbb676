"""Configurable checks (Control), stored warnings, missing-value handling, pickling."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.control import Control
from mixed_models.errors import (
    DataWarning,
    InvalidArgumentError,
    ModelError,
    RankDeficiencyWarning,
)

F = "Aggression ~ Age + Species + (Age | Location)"


@pytest.fixture(scope="module")
def alien():
    return datasets.load("alien_species")


def per_observation_data(n=40):
    rng = np.random.default_rng(3)
    return pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n),
                         "id": np.arange(n), "g": np.repeat(np.arange(8), n // 8)})


@pytest.mark.parametrize("action, outcome", [("raise", ModelError), ("warn", DataWarning),
                                             ("ignore", None)])
def test_check_nobs_vs_nlev_actions(action, outcome):
    data = per_observation_data()
    formula = "y ~ x + (1 | g) + (1 | id)"
    control = Control(check_nobs_vs_nlev=action, check_nobs_vs_nre=action)
    if outcome is ModelError:
        with pytest.raises(ModelError, match="40 levels for 40 observations"):
            LMM.from_formula(formula, data, control=control)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LMM.from_formula(formula, data, control=control)
    found = [w for w in caught if issubclass(w.category, DataWarning)]
    assert bool(found) == (outcome is DataWarning)
    assert any("40 levels" in m for m in model.warnings) == (outcome is DataWarning)


def test_rank_check_can_refuse(alien):
    data = alien.assign(Age2=alien["Age"] * 2)
    with pytest.raises(ModelError, match="rank deficient.*Age2"):
        LMM.from_formula("Aggression ~ Age + Age2 + (1 | Location)", data,
                         control=Control(check_rank_x="raise"))


def test_warnings_are_stored_on_the_model(alien):
    data = alien.assign(Age2=alien["Age"] * 2)
    with pytest.warns(RankDeficiencyWarning):
        model = LMM.from_formula("Aggression ~ Age + Age2 + (1 | Location)", data)
    assert any("Age2" in m for m in model.warnings)
    assert model.fix_ef_names == ["intercept", "Age"]


def test_singular_check_can_be_silenced():
    data = datasets.load("dyestuff2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data,
                                 control=Control(check_singular="ignore"))
    assert model.singular and model.warnings == []


def test_singular_check_can_raise():
    with pytest.raises(ModelError, match="boundary"):
        LMM.from_formula("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff2"),
                         control=Control(check_singular="raise"))


def test_scale_check_warns_about_very_different_scales(alien):
    data = alien.assign(Age=alien["Age"] * 1e5)
    with pytest.warns(DataWarning, match="very different scales.*'Age'"):
        model = LMM.from_formula("Aggression ~ Age + Species + (1 | Location)", data)
    reference = LMM.from_formula("Aggression ~ Age + Species + (1 | Location)", alien)
    # the fit itself is unaffected: only the REML constant log|det(scale)|^2 differs
    assert model.deviance - reference.deviance == pytest.approx(2 * np.log(1e5), abs=1e-6)
    assert model.fix_ef["Age"] * 1e5 == pytest.approx(reference.fix_ef["Age"], rel=1e-6)


def test_na_exclude_pads_fitted_and_residuals(alien):
    data = alien.copy()
    data.loc[[3, 10], "Age"] = np.nan
    dropped = LMM.from_formula(F, data)
    excluded = LMM.from_formula(F, data, na_action="exclude")
    assert dropped.n_dropped == 2 and excluded.n_dropped == 2
    assert len(dropped.fitted()) == 98 and len(excluded.fitted()) == 100
    assert np.isnan(excluded.fitted()[[3, 10]]).all()
    assert np.isnan(excluded.residuals[[3, 10]]).all()
    np.testing.assert_allclose(np.delete(excluded.residuals, [3, 10]), dropped.residuals)
    assert excluded.deviance == pytest.approx(dropped.deviance, rel=1e-12)


def test_model_pickles_and_reloads_with_identical_results(alien):
    model = LMM.from_formula(F, alien)
    again = pickle.loads(pickle.dumps(model))
    assert again.fix_ef == model.fix_ef and again.ran_ef == model.ran_ef
    assert again.deviance == model.deviance
    pd.testing.assert_frame_equal(again.var_corr(), model.var_corr())
    # recomputed by BLAS (whose thread count may follow the size): equal to rounding
    np.testing.assert_allclose(again.fitted(), model.fitted(), rtol=1e-12)
    assert again.dev_fun(model.theta) == pytest.approx(model.dev_fun(model.theta), rel=1e-12)


def test_control_is_recorded(alien):
    control = Control(optimizer="newuoa")
    model = LMM.from_formula(F, alien, control=control)
    assert model.control is control and model.optimization_result.optimizer == "newuoa"
    assert model.deviance <= 333.7155398


def test_lbfgs_reaches_the_default_optimum_in_fewer_evaluations_than_bobyqa(alien):
    default = LMM.from_formula(F, alien)  # Newton's method on the exact gradient
    bobyqa = LMM.from_formula(F, alien, control=Control(optimizer="bobyqa"))
    model = LMM.from_formula(F, alien, control=Control(optimizer="lbfgs"))
    assert model.optimization_result.optimizer == "lbfgs"
    assert default.optimization_result.optimizer == "newton"
    assert model.deviance <= default.deviance + 1e-8
    assert default.deviance <= bobyqa.deviance + 1e-9
    evaluations = [m.optimization_result.evaluations for m in (default, model, bobyqa)]
    assert evaluations == sorted(evaluations)
    # theta[1] (-0.0095 next to theta[0] = 107) moves the objective by 1e-10 at 1e-5
    # relative: compared on the scale of the whole vector
    np.testing.assert_allclose(model.theta, default.theta, rtol=1e-5,
                               atol=1e-6 * np.abs(default.theta).max())


def test_lbfgs_refuses_structured_covariances_with_a_clear_error(alien):
    with pytest.raises(InvalidArgumentError, match="cs, ar1 or block structure"):
        LMM.from_formula("Aggression ~ Age + cs(1 + Age | Location)", alien,
                         control=Control(optimizer="lbfgs"))


def test_convergence_check_reports_a_tiny_newton_decrement(alien):
    check = LMM.from_formula(F, alien).convergence_check()
    assert check.decrement < 1e-8
    assert np.all(np.linalg.eigvalsh(check.hessian) > 0)


def test_unconfirmed_optimum_warns_with_numbers(alien):
    # one evaluation budget: the optimizer cannot reach, let alone confirm, the optimum
    with pytest.warns(UserWarning, match="optimum is not confirmed.*evaluations"):
        LMM.from_formula(F, alien, control=Control(max_evaluations=10))


def test_singular_warning_only_where_lme4_confirms(fitted):
    for model_id, singular in [("dyestuff2_reml", True), ("crossed_ml", True),
                               ("sleep_reml", False), ("alien_reml", False),
                               ("penicillin_reml", False)]:
        model = fitted(model_id)
        assert model.singular == singular
        assert any("boundary" in m for m in model.warnings) == singular
        assert not any("not confirmed" in m for m in model.warnings)
