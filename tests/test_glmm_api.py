"""The GLMM class beyond the panel's numbers: residuals, fitted values, the summary, the
errors of inference not available yet, bad family and link names, the LMM's warning on
a binary or count response, and the success/failure symmetry of the logit link."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixed_models import GLMM, LMM, NegativeBinomial
from mixed_models.errors import (
    InvalidArgumentError,
    ModelError,
    NonGaussianResponseWarning,
)
from mixed_models.fitted.checks import non_gaussian_hint

DATA = Path(__file__).parent / "data" / "reference_glmm" / "data"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _read(name: str, factors: tuple[str, ...]) -> pd.DataFrame:
    data = pd.read_csv(DATA / f"{name}.csv")
    for column in factors:
        data[column] = data[column].astype(str)
    return data


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    return _read("cbpp", ("herd", "period"))


@pytest.fixture(scope="module")
def binomial(cbpp) -> GLMM:
    return GLMM.from_formula(CBPP, cbpp)


@pytest.fixture(scope="module")
def poisson(cbpp) -> GLMM:
    return GLMM.from_formula("incidence ~ period + offset(log(size)) + (1 | herd)", cbpp,
                             family="poisson")


@pytest.fixture(scope="module")
def gamma() -> GLMM:
    return GLMM.from_formula("Reaction ~ Days + (Days | Subject)",
                             _read("sleepstudy", ("Subject",)), family="gamma", link="log")


# --- residuals and fitted values ----------------------------------------------------------

def test_residual_types_follow_their_definitions(binomial, cbpp):
    y = (cbpp["incidence"] / cbpp["size"]).to_numpy()
    n = cbpp["size"].to_numpy(float)
    mu = binomial.fitted()
    eta = binomial.linear_predictor()
    np.testing.assert_allclose(mu, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    np.testing.assert_allclose(binomial.residuals_of("response"), y - mu, atol=1e-12)
    np.testing.assert_allclose(binomial.residuals, y - mu, atol=1e-12)
    np.testing.assert_allclose(binomial.residuals_of("pearson"),
                               (y - mu) * np.sqrt(n / (mu * (1 - mu))), rtol=1e-10)
    np.testing.assert_allclose(binomial.residuals_of("working"),
                               (y - mu) / (mu * (1 - mu)), rtol=1e-10)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = 2 * n * (np.where(y > 0, y * np.log(y / mu), 0.0)
                        + np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0))
    deviance = binomial.residuals_of("deviance")
    np.testing.assert_allclose(deviance, np.sign(y - mu) * np.sqrt(unit), rtol=1e-8, atol=1e-12)
    assert np.allclose(binomial.residuals_of(), deviance)


def test_poisson_residuals_and_the_offset(poisson, cbpp):
    y = cbpp["incidence"].to_numpy(float)
    mu = poisson.fitted()
    np.testing.assert_allclose(poisson.residuals_of("pearson"), (y - mu) / np.sqrt(mu),
                               rtol=1e-10)
    beta = np.array(list(poisson.fix_ef.values()))
    x = poisson.model_data.x
    population = np.exp(x @ beta + np.log(cbpp["size"].to_numpy(float)))
    np.testing.assert_allclose(poisson.fitted(with_ran_ef=False), population, rtol=1e-12)
    assert not np.allclose(poisson.fitted(with_ran_ef=False), mu)


def test_unknown_residual_type_lists_the_types(binomial):
    with pytest.raises(InvalidArgumentError, match="deviance.*pearson.*working"):
        binomial.residuals_of("studentized")


def test_overdispersion_is_the_pearson_statistic(binomial):
    o = binomial.overdispersion()
    assert o.chi2 == pytest.approx(np.sum(binomial.residuals_of("pearson") ** 2))
    assert o.df == binomial.n_obs - binomial.n_parameters
    assert o.ratio == pytest.approx(o.chi2 / o.df)
    assert 0 < o.p_value < 1


def test_gamma_has_a_scale_and_no_overdispersion_statistic(gamma):
    assert gamma.dispersion == pytest.approx(gamma.sigma ** 2)
    assert "Residual" in set(gamma.var_corr()["group"])
    with pytest.raises(ModelError, match="binomial and Poisson"):
        gamma.overdispersion()


def test_conditional_covariances_agree(gamma):
    table = gamma.ran_ef_table()
    dense = gamma.cond_cov_mat_ran_ef().to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(dense)), table["cond_sd"].to_numpy(), rtol=1e-8)


def test_dev_fun_reproduces_the_deviance(binomial):
    point = np.concatenate([binomial.theta, list(binomial.fix_ef.values())])
    assert binomial.dev_fun(point) == pytest.approx(binomial.deviance, abs=1e-8)


# --- the summary ----------------------------------------------------------------------------

def test_summary_shows_what_glmer_prints(binomial):
    text = str(binomial)
    for piece in ("Generalized linear mixed model fit by maximum likelihood (Laplace "
                  "Approximation)", "Family: binomial  ( logit )", CBPP, "-2*log(L)",
                  "df.resid", "Scaled residuals", "herd", "z value", "Pr(>|z|)",
                  "Overdispersion: Pearson chi2 =", "Number of obs: 56, groups: herd, 15"):
        assert piece in text, piece
    assert "Residual" not in text
    s = binomial.summary()
    assert s.criterion == pytest.approx(binomial.deviance)
    assert s.scaled_residuals["Max"] == pytest.approx(binomial.residuals_of("pearson").max())
    assert "<table" in s.to_html() and "|" in s.to_markdown()


def test_summary_of_agq_and_gamma(cbpp, gamma):
    agq = GLMM.from_formula(CBPP, cbpp, n_agq=9)
    assert "(Adaptive Gauss-Hermite Quadrature, nAGQ = 9)" in str(agq)
    text = str(gamma)
    assert "Family: Gamma  ( log )" in text and "Residual" in text
    assert "Overdispersion" not in text


def test_summary_of_an_unconfirmed_fit_says_so(binomial):
    from dataclasses import replace

    from mixed_models.display.glmm_summary import summarize_glmm

    record = binomial.record
    shaky = replace(record, optimization=replace(record.optimization, confirmed=False),
                    warnings=("the optimum could not be confirmed (test)",))
    text = summarize_glmm(shaky).to_text()
    assert "NOT CONFIRMED" in text and "could not be confirmed" in text


# --- families, links, n_agq -----------------------------------------------------------------

@pytest.mark.parametrize("family, link, match", [
    ("binomal", None, "binomial.*poisson.*gamma.*inverse_gaussian.*negative_binomial"),
    ("binomial", "logarithm", "logit.*probit.*cloglog"),
    ("poisson", "logit", "log.*sqrt.*identity"),
    ("negative_binomial", "inverse", "log.*sqrt.*identity"),
    (3, None, "unknown family"),
])
def test_bad_family_or_link_lists_the_allowed_names(cbpp, family, link, match):
    with pytest.raises(InvalidArgumentError, match=match):
        GLMM.from_formula(CBPP, cbpp, family=family, link=link)


@pytest.mark.parametrize("n_agq", [-1, 26, 1.5, True])
def test_bad_n_agq(cbpp, n_agq):
    with pytest.raises(InvalidArgumentError, match="n_agq"):
        GLMM.from_formula(CBPP, cbpp, n_agq=n_agq)


def test_agq_needs_a_single_scalar_term(gamma):
    data = _read("sleepstudy", ("Subject",))
    with pytest.raises(ModelError, match="single scalar"):
        GLMM.from_formula("Reaction ~ Days + (Days | Subject)", data, family="gamma",
                          link="log", n_agq=5)


def test_n_agq_zero_is_close_to_laplace(binomial, cbpp):
    fast = GLMM.from_formula(CBPP, cbpp, n_agq=0)
    assert fast.n_agq == 0
    assert fast.deviance >= binomial.deviance - 1e-8
    assert fast.deviance - binomial.deviance < 0.1


def test_a_fixed_negative_binomial_shape_is_not_counted():
    data = _read("grouseticks_scaled", ("YEAR", "LOCATION"))
    model = GLMM.from_formula("TICKS ~ YEAR + (1 | LOCATION)", data,
                              family=NegativeBinomial(shape=3.0))
    assert model.dispersion == 3.0
    assert model.n_parameters == 4
    assert "Negative Binomial(3)" in str(model)


def test_the_record_is_generalized(binomial):
    assert binomial.record.is_generalized
    assert binomial.family == "binomial" and binomial.link == "logit"


# --- what a GLMM does not have yet ----------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m: m.anova(ddf="satterthwaite"),
    lambda m: m.test("period_lvl_2 = 0", ddf="satterthwaite"),
    lambda m: m.tidy(ddf="kenward-roger"), lambda m: m.write_rows("x.csv"),
    lambda m: m.fix_ef_summary(ddf="satterthwaite"), lambda m: m.fix_ef_conf_int(method="all"),
    lambda m: m.fix_ef_p("lrt", "period"),
    lambda m: m.summary(ddf="kenward-roger"),
])
def test_unavailable_inference_raises_and_says_so(binomial, call):
    with pytest.raises(ModelError, match="not available for generalized"):
        call(binomial)


def test_wald_inference_works(binomial):
    table = binomial.fix_ef_summary()
    intervals = binomial.fix_ef_conf_int()
    np.testing.assert_allclose(intervals["upper"] - intervals["lower"],
                               2 * 1.959963984540054 * table["sd"], rtol=1e-9)
    p = binomial.fix_ef_p()
    assert p["intercept"] == pytest.approx(table.loc["intercept", "WaldZ_p_value"])
    coef = binomial.coef()["herd"]
    assert coef.shape == (15, 4)


# --- the linear model's warning -------------------------------------------------------------

@pytest.mark.parametrize("values, flagged", [
    ([0, 1, 1, 0], True), ([0, 3, 5, 1, 0], True), ([1, 2, 3], False),
    ([0.5, 1, 0], False), (list(range(40)), False), ([0, 1, np.nan], False),
])
def test_non_gaussian_hint(values, flagged):
    assert (non_gaussian_hint(values) is not None) == flagged


def test_lmm_of_a_binary_response_warns_and_points_to_glmm():
    data = _read("verbagg01", ("id",)).iloc[:2000]
    with pytest.warns(NonGaussianResponseWarning, match="GLMM"):
        LMM.from_formula("r2 ~ Anger + (1 | id)", data)


def test_lmm_of_a_continuous_response_does_not_warn():
    data = _read("sleepstudy", ("Subject",))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonGaussianResponseWarning)
        LMM.from_formula("Reaction ~ Days + (1 | Subject)", data)


# --- success and failure swapped ------------------------------------------------------------

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), slope=st.floats(-1.5, 1.5),
       sd=st.floats(0.3, 1.5))
def test_logit_binomial_is_symmetric_in_success_and_failure(seed, slope, sd):
    rng = np.random.default_rng(seed)
    groups, per_group = 12, 15
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=g.size)
    eta = 0.3 + slope * x + sd * rng.normal(size=groups)[g]
    y = (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(float)
    data = pd.DataFrame({"y": y, "n": 1 - y, "x": x, "g": [f"g{i}" for i in g]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = GLMM.from_formula("y ~ x + (1 | g)", data)
        other = GLMM.from_formula("n ~ x + (1 | g)", data)
    assert other.deviance == pytest.approx(one.deviance, abs=1e-6)
    np.testing.assert_allclose(other.theta, one.theta, atol=1e-4)
    np.testing.assert_allclose(list(other.fix_ef.values()), -np.array(list(one.fix_ef.values())),
                               atol=1e-4)


def test_exclude_pads_per_row_values_with_nan(cbpp):
    data = cbpp.copy()
    data["incidence"] = data["incidence"].astype(float)
    data.loc[3, "incidence"] = np.nan
    model = GLMM.from_formula(CBPP, data, na_action="exclude")
    assert model.n_obs == 55 and model.n_dropped == 1
    for values in (model.fitted(), model.linear_predictor(), model.residuals_of("pearson"),
                   model.residuals):
        assert len(values) == 56 and np.isnan(values[3]) and not np.isnan(values[4])


def test_booleans_and_a_two_level_factor_are_the_0_1_response():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(10), 12)
    x = rng.normal(size=g.size)
    y = rng.random(g.size) < 1 / (1 + np.exp(-(0.5 * x + rng.normal(size=10)[g])))
    data = pd.DataFrame({"y01": y.astype(float), "yes": y, "answer": np.where(y, "Y", "N"),
                         "x": x, "g": g.astype(str)})
    fits = [GLMM.from_formula(f"{column} ~ x + (1 | g)", data)
            for column in ("y01", "yes", "answer")]
    for other in fits[1:]:
        assert other.deviance == pytest.approx(fits[0].deviance, abs=1e-9)
        np.testing.assert_allclose(list(other.fix_ef.values()), list(fits[0].fix_ef.values()),
                                   atol=1e-8)


def test_a_separated_response_gets_a_model_error_that_says_so():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200)
    frame = pd.DataFrame({"y": (x > 0).astype(float), "x": x,
                          "g": rng.integers(0, 10, 200).astype(str)})
    with pytest.raises(ModelError, match="separation"):
        GLMM.from_formula("y ~ x + (1 | g)", frame, family="binomial")
