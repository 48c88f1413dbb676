"""GLMM profile intervals against lme4's confint(method = "profile") (the panel's fits with
profile intervals), within 2e-3 of each interval's width; refusals."""

from __future__ import annotations

import numpy as np
import pytest
from glmm_panel import panel_fit, reference, with_extra

from mixed_models.errors import ModelError, NotFoundError

PROFILED = with_extra("profile")


@pytest.fixture(scope="module")
def intervals():
    return {k: panel_fit(k).conf_int(method="profile") for k in PROFILED}


@pytest.mark.parametrize("model_id", PROFILED)
def test_profile_intervals_match_lme4(model_id, intervals):
    ref = reference(model_id)["profile_ci"]
    table = intervals[model_id]
    model = panel_fit(model_id)
    assert list(table.index) == ["sd_intercept|herd", *model.fix_ef]
    assert len(table) == len(ref["names"])
    lower, upper = np.array(ref["lower"]), np.array(ref["upper"])
    width = upper - lower
    assert np.all(np.abs(table["lower"].to_numpy() - lower) < 2e-3 * width)
    assert np.all(np.abs(table["upper"].to_numpy() - upper) < 2e-3 * width)


def test_traces_and_fixed_effect_intervals(intervals):
    model = panel_fit("cbpp_binomial")
    trace = model.profile("period_lvl_4")
    assert set(trace["parameter"]) == {"period_lvl_4"}
    assert trace["zeta"].is_monotonic_increasing and trace["value"].is_monotonic_increasing
    # zeta = 0 at the estimate, and its square is the deviance's rise
    at = trace.loc[np.isclose(trace["zeta"], 0.0)]
    assert np.isclose(at["value"].iloc[0], model.fix_ef["period_lvl_4"], atol=1e-8)
    table = model.fix_ef_conf_int(method="profile", level=0.9)
    assert list(table.index) == list(model.fix_ef)
    wider = intervals["cbpp_binomial"].loc["period_lvl_4"]
    assert wider["lower"] < table.loc["period_lvl_4", "lower"] \
        < table.loc["period_lvl_4", "upper"] < wider["upper"]


def test_refusals():
    with pytest.raises(ModelError, match="Gamma"):
        panel_fit("sleepstudy_gamma_log").conf_int(method="profile")
    with pytest.raises(NotFoundError, match="no parameter"):
        panel_fit("cbpp_binomial").profile("period9")
