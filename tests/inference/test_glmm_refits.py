"""A GLMM without one of its terms (drop_fix_ef, drop_ran_ef) and the likelihood-ratio
test of a random effect (ran_ef_p), against the formula fits they stand for and lme4's
anova of the nested glmer fits (tests/data/reference_glmm_tidy/grouseticks_lrt.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from mixed_models import GLMM

DATA = Path(__file__).parents[1] / "data"
LRT = json.loads((DATA / "reference_glmm_tidy" / "grouseticks_lrt.json").read_text())
GROUSE = "TICKS ~ YEAR + sHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"


@pytest.fixture(scope="module")
def grouse() -> pd.DataFrame:
    data = pd.read_csv(DATA / "reference_glmm" / "data" / "grouseticks_scaled.csv")
    return data.astype({c: str for c in ("YEAR", "BROOD", "INDEX", "LOCATION")})


@pytest.fixture(scope="module")
def full(grouse) -> GLMM:
    return GLMM.from_formula(GROUSE, grouse, family="poisson")


@pytest.mark.parametrize("drop, formula", [
    (lambda m: m.drop_ran_ef("intercept", "LOCATION"),
     "TICKS ~ YEAR + sHEIGHT + (1 | BROOD) + (1 | INDEX)"),
    (lambda m: m.drop_fix_ef("sHEIGHT"),
     "TICKS ~ YEAR + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"),
])
def test_a_dropped_term_is_the_reduced_formulas_fit(full, grouse, drop, formula):
    reduced = drop(full)
    direct = GLMM.from_formula(formula, grouse, family="poisson")
    assert isinstance(reduced, GLMM) and reduced.family == "poisson"
    assert reduced.deviance == pytest.approx(direct.deviance, abs=1e-8)
    assert list(reduced.fix_ef) == list(direct.fix_ef)


def test_ran_ef_p_is_lme4s_likelihood_ratio_test(full):
    p = full.ran_ef_p("intercept", "LOCATION")
    statistic = full.drop_ran_ef("intercept", "LOCATION").deviance - full.deviance
    assert p == pytest.approx(stats.chi2.sf(statistic, 1), rel=1e-12)
    # lme4's fits stop a little above the optima; ours are at most at theirs
    assert full.deviance <= LRT["deviance_full"] + 1e-6
    assert statistic == pytest.approx(LRT["chisq"], abs=2e-3)
    assert p == pytest.approx(LRT["p_value"], abs=1e-3)
