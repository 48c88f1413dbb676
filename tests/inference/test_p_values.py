"""fix_ef_summary with degrees of freedom, fix_ef_p, fix_ef_test and ran_ef_p."""

from __future__ import annotations

import warnings

import pytest

from mixed_models import LMM, datasets
from mixed_models.errors import InvalidArgumentError, NotFoundError, RefitWarning

FORMULA = "Aggression ~ Age + Species + (Age | Location)"


@pytest.fixture(scope="module")
def alien():
    return LMM.from_formula(FORMULA, datasets.load("alien_species"))


@pytest.fixture(scope="module")
def alien_ml():
    return LMM.from_formula(FORMULA, datasets.load("alien_species"), reml=False)


def test_wald_summary_is_the_gems(alien):
    table = alien.fix_ef_summary()
    assert list(table.columns) == ["coef", "sd", "z_score", "WaldZ_p_value"]
    assert table.attrs["ddf"] == "wald"
    with pytest.raises(InvalidArgumentError, match="kenward-roger"):
        alien.fix_ef_summary(ddf="KR")


def test_wald_p_values(alien):
    p = alien.fix_ef_p()
    assert p == pytest.approx(alien.fix_ef_summary()["WaldZ_p_value"].to_dict())
    assert alien.fix_ef_p(variable="Age") == pytest.approx(p["Age"])
    with pytest.raises(NotFoundError, match="Species_lvl_Human"):
        alien.fix_ef_p(variable="Species")


def test_lrt_p_value_is_the_lrt_of_the_model_without_the_term(alien, alien_ml):
    with pytest.warns(RefitWarning):
        p = alien.fix_ef_p(method="lrt", variable="Species")
    reduced = alien_ml.drop_fix_ef("Species")
    assert p == pytest.approx(LMM.likelihood_ratio_test(reduced, alien_ml).p_value, rel=1e-6)
    with pytest.raises(InvalidArgumentError, match="give variable="):
        alien_ml.fix_ef_p(method="lrt")


def test_fix_ef_test_tables(alien_ml):
    wald = alien_ml.fix_ef_test()
    assert list(wald.columns) == ["statistic", "df", "p_value"]
    assert wald.attrs["method"] == "wald"
    lrt = alien_ml.fix_ef_test(method="lrt")
    assert list(lrt.index) == ["Age", "Species"]
    assert list(lrt["df"]) == [1, 3]
    assert lrt.loc["Age", "p_value"] == pytest.approx(alien_ml.fix_ef_p("lrt", "Age"), rel=1e-9)


def test_ran_ef_p_is_the_lrt_of_the_model_without_it(alien_ml):
    reduced = alien_ml.drop_ran_ef("Age", "Location")
    want = LMM.likelihood_ratio_test(reduced, alien_ml).p_value
    assert alien_ml.ran_ef_p("Age", "Location") == pytest.approx(want, rel=1e-9)
    with pytest.raises(InvalidArgumentError, match="'lrt' or 'bootstrap'"):
        alien_ml.ran_ef_p("Age", "Location", method="wald")


def test_bootstrap_p_values_are_replicate_counts():
    data = datasets.load("sleepstudy")
    model = LMM.from_formula("Reaction ~ Days + (Days || Subject)", data, reml=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = model.fix_ef_p(method="bootstrap", variable="Days", nsim=9, seed=1)
        random = model.ran_ef_p("Days", "Subject", method="bootstrap", nsim=9, seed=1)
    assert fixed == pytest.approx(0.1)  # Days is a strong effect: no replicate reaches it
    assert 10 * random == pytest.approx(round(10 * random))
