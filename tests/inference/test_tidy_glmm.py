"""broom.mixed's tidy() and glance() of glmer fits, and lme4's derivatives at the end
point, against ours (figures in tests/data/reference_glmm_tidy, see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM
from mixed_models.errors import ModelError

DATA = Path(__file__).parents[1] / "data"
REF = json.loads((DATA / "reference_glmm_tidy" / "tidy_glance.json").read_text())
NAMES = {"(Intercept)": "intercept", "period2": "period_lvl_2", "period3": "period_lvl_3",
         "period4": "period_lvl_4", "Days": "Days"}


def _read(name: str, factors: tuple[str, ...]) -> pd.DataFrame:
    data = pd.read_csv(DATA / "reference_glmm" / "data" / f"{name}.csv")
    for column in factors:
        data[column] = data[column].astype(str)
    return data


@pytest.fixture(scope="module")
def fits() -> dict[str, GLMM]:
    return {
        "cbpp_binomial": GLMM.from_formula(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            _read("cbpp", ("herd", "period"))),
        "sleepstudy_gamma": GLMM.from_formula(
            "Reaction ~ Days + (Days | Subject)", _read("sleepstudy", ("Subject",)),
            family="gamma", link="log"),
    }


def _our_term(term: str) -> str:
    if term.startswith(("sd__", "cor__")):
        kind, rest = term.split("__", 1)
        return f"{kind}__" + ".".join(NAMES.get(part, part) for part in rest.split("."))
    return NAMES[term]


@pytest.mark.parametrize("model_id", list(REF))
def test_tidy_matches_broom_mixed(fits, model_id):
    want = pd.DataFrame(REF[model_id]["tidy"])
    got = fits[model_id].tidy(conf_int=True)
    assert list(got["effect"]) == list(want["effect"])
    assert list(got["term"]) == [t if t == "sd__Observation" else _our_term(t)
                                 for t in want["term"]]
    assert list(got["group"].fillna("-")) == list(want["group"].fillna("-"))
    fixed = want["effect"] == "fixed"
    se = want.loc[fixed, "std.error"].to_numpy()
    # lme4's default optimizer stops a little short of the optimum ours reaches
    assert np.all(np.abs(got.loc[fixed, "estimate"].to_numpy()
                         - want.loc[fixed, "estimate"].to_numpy()) <= 2e-3 * se)
    np.testing.assert_allclose(got.loc[fixed, "std_error"], se, rtol=2e-2)
    for column, theirs in [("conf_low", "conf.low"), ("conf_high", "conf.high")]:
        assert np.all(np.abs(got.loc[fixed, column].to_numpy()
                             - want.loc[fixed, theirs].to_numpy()) <= 5e-2 * se)
    np.testing.assert_allclose(got.loc[~fixed, "estimate"], want.loc[~fixed, "estimate"],
                               rtol=5e-3, atol=1e-4)
    assert got.loc[~fixed, ["std_error", "statistic", "p_value"]].isna().all().all()


@pytest.mark.parametrize("model_id", list(REF))
def test_glance_matches_broom_mixed(fits, model_id):
    want = REF[model_id]["glance"][0]
    got = fits[model_id].glance().iloc[0]
    assert got["nobs"] == want["nobs"] and got["df_residual"] == want["df.residual"]
    assert got["sigma"] == pytest.approx(want["sigma"], rel=5e-3)
    # ours is at the optimum: its log-likelihood is at least lme4's
    assert want["logLik"] - 1e-9 <= got["logLik"] <= want["logLik"] + 1e-3
    assert got["AIC"] == pytest.approx(want["AIC"], abs=2e-3)
    assert got["BIC"] == pytest.approx(want["BIC"], abs=2e-3)
    assert got["deviance"] == pytest.approx(want["deviance"], rel=2e-3)


def test_tidy_of_a_glmm_takes_wald_tests_only(fits):
    with pytest.raises(ModelError, match="tidy"):
        fits["cbpp_binomial"].tidy(ddf="satterthwaite")


@pytest.mark.parametrize("model_id", list(REF))
def test_convergence_check_matches_lme4s_derivatives(fits, model_id):
    want = REF[model_id]["derivs"]
    got = fits[model_id].convergence_check()
    hessian = np.array(want["hessian"])
    assert got.hessian.shape == hessian.shape and got.free.all()
    # the same curvature (lme4's from its own end point, a little short of ours) ...
    np.testing.assert_allclose(got.hessian, hessian, rtol=0, atol=2e-2 * np.abs(hessian).max())
    # ... and a gradient that vanishes where lme4's still points downhill
    assert np.abs(got.gradient).max() < np.abs(want["gradient"]).max()
    assert got.decrement < 1e-6
