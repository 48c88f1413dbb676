"""refit, refit by ML, and dropping fixed or random terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.errors import DataError, ModelError, NotFoundError
from mixed_models.inference.refit import refit_ml

FORMULA = "Aggression ~ Age + Species + (Age | Location)"


@pytest.fixture(scope="module")
def alien():
    return LMM.from_formula(FORMULA, datasets.load("alien_species"))


def _same_fit(a: LMM, b: LMM) -> None:
    """Same optimum: objective within 1e-9, fixed effects within 1e-3 of their SEs (the
    alien model is flat along one direction, so its estimates move a little)."""
    assert a.deviance == pytest.approx(b.deviance, rel=1e-9)
    se = b.fix_ef_summary()["sd"].to_numpy()
    diff = np.array(list(a.fix_ef.values())) - np.array(list(b.fix_ef.values()))
    assert np.all(np.abs(diff) <= 1e-3 * se), diff / se


def test_refit_with_a_new_response_is_a_fit_to_that_response(alien):
    data = datasets.load("alien_species")
    y = data["Aggression"].to_numpy() + np.random.default_rng(1).normal(size=len(data))
    _same_fit(alien.refit(y=y), LMM.from_formula(FORMULA, data.assign(Aggression=y)))


def test_refit_on_new_data(alien):
    data = datasets.load("alien_species")
    _same_fit(alien.refit(newdata=data), alien)
    half = data.iloc[::2]
    _same_fit(alien.refit(newdata=half), LMM.from_formula(FORMULA, half))


def test_refit_arguments_are_checked(alien):
    with pytest.raises(ModelError, match="exactly one"):
        alien.refit()
    with pytest.raises(DataError, match="100 observations"):
        alien.refit(y=np.ones(3))


def test_refit_with_new_rows_refuses_weights_it_cannot_know():
    data = datasets.load("sleepstudy").assign(w=1.0)
    model = LMM.from_formula("Reaction ~ Days + (1 | Subject)", data, weights="w")
    with pytest.raises(ModelError, match="weights"):
        model.refit(newdata=data.iloc[:100])


def test_refit_by_ml(alien):
    ml = LMM.from_record(refit_ml(alien))
    assert not ml.reml
    _same_fit(ml, LMM.from_formula(FORMULA, datasets.load("alien_species"), reml=False))
    assert refit_ml(ml.record) is ml.record


@pytest.mark.parametrize("name, formula", [
    ("Age", "Aggression ~ 1 + Species + (Age | Location)"),
    ("Species", "Aggression ~ 1 + Age + (Age | Location)"),
    ("intercept", "Aggression ~ 0 + Age + Species + (Age | Location)"),
])
def test_drop_fix_ef(alien, name, formula):
    dropped = alien.drop_fix_ef(name)
    assert dropped.formula == formula
    _same_fit(dropped, LMM.from_formula(formula, datasets.load("alien_species")))


def test_drop_fix_ef_refuses_one_column_of_a_factor(alien):
    with pytest.raises(ModelError, match="one of the 3 columns of the term 'Species'"):
        alien.drop_fix_ef("Species_lvl_Human")
    with pytest.raises(NotFoundError, match="the terms are"):
        alien.drop_fix_ef("Height")


@pytest.mark.parametrize("variable, formula", [
    ("Age", "Aggression ~ Age + Species + (1 | Location)"),
    ("intercept", "Aggression ~ Age + Species + (0 + Age | Location)"),
])
def test_drop_ran_ef(alien, variable, formula):
    dropped = alien.drop_ran_ef(variable, "Location")
    assert dropped.formula == formula
    _same_fit(dropped, LMM.from_formula(formula, datasets.load("alien_species")))


def test_drop_ran_ef_in_a_nested_bar():
    data = datasets.load("pastes")
    model = LMM.from_formula("strength ~ 1 + (1 | batch/cask)", data)
    dropped = model.drop_ran_ef("intercept", "cask:batch")
    assert dropped.n_groups == {"batch": 10}
    _same_fit(dropped, LMM.from_formula("strength ~ 1 + (1 | batch)", data))


def test_drop_ran_ef_refuses_what_it_cannot_drop(alien):
    with pytest.raises(NotFoundError, match="grouping factors are \\['Location'\\]"):
        alien.drop_ran_ef("Age", "Species")
    with pytest.raises(NotFoundError, match="random effects are \\['intercept', 'Age'\\]"):
        alien.drop_ran_ef("Species", "Location")
    only = LMM.from_formula("Aggression ~ Age + (1 | Location)", datasets.load("alien_species"))
    with pytest.raises(ModelError, match="without random effects"):
        only.drop_ran_ef("intercept", "Location")


def test_drops_keep_a_refitted_response(alien):
    data = datasets.load("alien_species")
    y = data["Aggression"].to_numpy() * 2.0
    dropped = alien.refit(y=y).drop_fix_ef("Age")
    _same_fit(dropped, LMM.from_formula("Aggression ~ Species + (Age | Location)",
                                        data.assign(Aggression=y)))


def _factor_slopes() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(20), 12)
    f = np.tile(["a", "b", "c"], 80)
    x = rng.normal(size=240)
    y = (rng.normal(size=240) + rng.normal(size=20)[g] + x
         + np.where(f == "b", rng.normal(size=20)[g], 0))
    return pd.DataFrame({"y": y, "g": g, "f": f, "x": x})


@pytest.mark.parametrize("formula, dropped_formula", [
    ("y ~ x + diag(x + f | g)", "y ~ x + diag(1 + f | g)"),
    ("y ~ x + (x + f || g)", "y ~ x + (1 + f || g)"),
])
def test_drop_ran_ef_keeps_the_bar_structure(formula, dropped_formula):
    """A fully diagonal bar is not a double bar (which lme4 splits by terms): the refit
    is the model written without the effect, in the same structure."""
    data = _factor_slopes()
    dropped = LMM.from_formula(formula, data).drop_ran_ef("x", "g")
    assert dropped.formula == dropped_formula
    _same_fit(dropped, LMM.from_formula(dropped_formula, data))
