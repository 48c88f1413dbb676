"""A GLMM's all_fit(): every route of the fit (nAGQ = 0 stage by L-BFGS-B or BOBYQA, the
joint stage by Newton or BOBYQA) reaches the optimum of the GLMM panel (lme4's best,
``tests/data/reference_glmm/fits/cbpp_binomial.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM
from mixed_models.inference.allfit import GLMM_ROUTES

DATA = Path(__file__).parents[1] / "data" / "reference_glmm"
PANEL = json.loads((DATA / "fits" / "cbpp_binomial.json").read_text())


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    data = pd.read_csv(DATA / "data" / "cbpp.csv").astype({"herd": str, "period": str})
    model = GLMM.from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)", data)
    return model.all_fit()


def test_every_route_reaches_the_panels_optimum(table):
    assert list(table.index) == list(GLMM_ROUTES) and table["ok"].all()
    assert np.all(table["objective"] <= PANEL["objective"] + 1e-6)
    beta = np.array(list(PANEL["beta"].values()))
    se = np.array(PANEL["se_accurate"])
    fixed = table[["intercept", "period_lvl_2", "period_lvl_3", "period_lvl_4"]].to_numpy()
    assert np.all(np.abs(fixed - beta) <= 1e-3 * se)
    # theta is the herd SD (binomial: no residual scale)
    assert table["sd_intercept|herd"].to_numpy() == pytest.approx(PANEL["theta"][0], rel=5e-3)


def test_the_routes_differ(table):
    # derivative-free routes need more evaluations than Newton from the nAGQ = 0 optimum
    assert table.loc["bobyqa", "evaluations"] > table.loc["auto", "evaluations"]
    assert (table["message"] == "").all()
