"""Marginal means, contrasts, R² and ICC of GLMMs against R's emmeans and performance
(tests/data/reference_glmm_ecosystem, see its README for the tolerances)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM
from mixed_models.errors import InvalidArgumentError, ModelError

DATA = Path(__file__).resolve().parents[1] / "data"
REF = DATA / "reference_glmm_ecosystem"
RTOL = 2e-3
MODELS = {
    "cbpp_binomial": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp.csv",
                      "binomial", "period", {"herd": str, "period": str}),
    "grouseticks_poisson": ("TICKS ~ YEAR + (1 | BROOD)", "grouseticks_scaled.csv", "poisson",
                            "YEAR", {"YEAR": str, "BROOD": str}),
}


@pytest.fixture(scope="module")
def fits() -> dict[str, GLMM]:
    out = {}
    for name, (formula, csv, family, _, dtypes) in MODELS.items():
        data = pd.read_csv(DATA / "reference_glmm" / "data" / csv, dtype=dtypes)
        out[name] = GLMM.from_formula(formula, data, family=family)
    return out


def _ref(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


def _close(actual: object, expected: object, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol)


# Against emmeans run over this library's beta and covariance (the "at_inputs" tables):
# every column, to 1e-6 (the Dunnett limits to emmeans' root-finding tolerance, tail
# p-values below 1e-8 to R's ptukey accuracy). Against emmeans over lme4's own fit: the
# estimates within 2e-3 and the SEs within 2e-2 (lme4 stops about 2e-4 from the optimum
# and its default covariance is a finite-difference Hessian's; see the data README).
LME4_RTOL, LME4_SE_RTOL = RTOL, 2e-2


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("type, key, column", [("link", "emmeans_link", "emmean"),
                                               ("response", "emmeans_response", None)])
def test_emmeans_match_r(fits, name, type, key, column):
    table = fits[name].emmeans(MODELS[name][3], type=type)
    column = column or {"cbpp_binomial": "prob", "grouseticks_poisson": "rate"}[name]
    ref = _ref(name)["at_inputs"][key]
    for ours, theirs in [(column, column), ("se", "SE"), ("lower", "asymp.LCL"),
                         ("upper", "asymp.UCL")]:
        _close(table[ours], ref[theirs], 1e-6)
    assert np.all(np.isinf(table["df"]))
    lme4 = _ref(name)[key]
    _close(table[column], lme4[column], LME4_RTOL)
    _close(table["se"], lme4["SE"], LME4_SE_RTOL)


CONTRASTS = [
    ({"adjust": "tukey"}, "pairwise_tukey", "estimate", 1e-6),
    ({"adjust": "none"}, "pairwise_none", "estimate", 1e-6),
    ({"method": "trt.vs.ctrl", "adjust": "dunnettx"}, "trt_vs_ctrl_dunnettx", "estimate", 1e-5),
    ({"adjust": "bonferroni", "type": "response"}, "pairwise_ratio_bonferroni", None, 1e-6),
    ({"adjust": "tukey", "type": "response"}, "pairwise_ratio_tukey", None, 1e-6),
]


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("kwargs, key, column, limit_rtol", CONTRASTS)
def test_contrasts_match_r(fits, name, kwargs, key, column, limit_rtol):
    table = fits[name].contrasts(MODELS[name][3], **kwargs)
    ref_column = column
    if column is None:
        column = "odds_ratio" if name == "cbpp_binomial" else "ratio"
        ref_column = "odds.ratio" if name == "cbpp_binomial" else "ratio"
        assert np.all(table["null"] == 1.0)
    ref = _ref(name)["at_inputs"][key]
    assert list(table["contrast"]) == ref["contrast"]
    for ours, theirs in [(column, ref_column), ("se", "SE"), ("z_value", "z.ratio")]:
        _close(table[ours], ref[theirs], 1e-6)
    # limits to the critical value's precision: relative to the interval's half-width
    width = float(np.max(table["upper"] - table["lower"]))
    for ours, theirs in [("lower", "asymp.LCL"), ("upper", "asymp.UCL")]:
        np.testing.assert_allclose(table[ours], ref[theirs], rtol=limit_rtol,
                                   atol=limit_rtol * width)
    p, p_ref = table["p_value"].to_numpy(), np.asarray(ref["p.value"])
    tail = p_ref < 1e-8
    _close(p[~tail], p_ref[~tail], limit_rtol)
    _close(np.log(p[tail]), np.log(p_ref[tail]), 1e-3)
    lme4 = _ref(name)[key]
    _close(table[column], lme4[ref_column], LME4_RTOL)
    _close(table["se"], lme4["SE"], LME4_SE_RTOL)


@pytest.mark.parametrize("name", list(MODELS))
def test_mvt_adjustment_matches_r_to_its_monte_carlo_error(fits, name):
    ref = _ref(name)["at_inputs"]["pairwise_mvt"]
    table = fits[name].contrasts(MODELS[name][3], adjust="mvt")
    np.testing.assert_allclose(table["p_value"], ref["p.value"], atol=2e-3)
    np.testing.assert_allclose(table["upper"], ref["asymp.UCL"], rtol=2e-3)


@pytest.mark.parametrize("name, rtol", [("cbpp_binomial", RTOL), ("grouseticks_poisson", 1e-2)])
def test_r2_and_icc_match_performance(fits, name, rtol):
    ref = _ref(name)
    r2, icc = fits[name].r2(), fits[name].icc()
    _close([r2["marginal"], r2["conditional"]], [ref["r2"]["marginal"], ref["r2"]["conditional"]],
           rtol)
    _close([icc["adjusted"], icc["unadjusted"]], [ref["icc"]["adjusted"], ref["icc"]["unadjusted"]],
           rtol)


def test_binomial_distribution_variance_is_pi_squared_over_3(fits):
    from mixed_models.inference.r2 import variance_components

    assert variance_components(fits["cbpp_binomial"].record)["residual"] == \
        pytest.approx(np.pi ** 2 / 3, rel=1e-12)


@pytest.mark.parametrize("call, error", [
    (lambda m: m.emmeans("period", ddf="satterthwaite"), InvalidArgumentError),
    (lambda m: m.emmeans("period", type="odds"), InvalidArgumentError),
    (lambda m: m.contrasts("period", type="logit"), InvalidArgumentError),
])
def test_bad_arguments_are_refused(fits, call, error):
    with pytest.raises(error):
        call(fits["cbpp_binomial"])


@pytest.fixture(scope="module")
def probit(fits) -> GLMM:
    data = pd.read_csv(DATA / "reference_glmm" / "data" / "cbpp.csv",
                       dtype={"herd": str, "period": str})
    return GLMM.from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)", data,
                             family="binomial", link="probit")


@pytest.mark.parametrize("method", ["r2", "icc"])
def test_r2_of_other_links_raises(probit, method):
    with pytest.raises(ModelError, match="probit"):
        getattr(probit, method)()


def test_response_contrasts_of_other_links_raise(probit):
    with pytest.raises(ModelError, match="probit"):
        probit.contrasts("period", type="response")


def test_probit_means_on_the_response_scale_use_the_normal_cdf(probit):
    from scipy import stats

    link = probit.emmeans("period")
    response = probit.emmeans("period", type="response")
    _close(response["prob"], stats.norm.cdf(link["emmean"]), 1e-12)
    _close(response["se"], stats.norm.pdf(link["emmean"]) * link["se"], 1e-12)
