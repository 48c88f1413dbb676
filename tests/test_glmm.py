"""GLMM.from_formula against lme4's reference panel (tests/data/reference_glmm), fitted
once per session, with the tolerances of the panel's README."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from glmm_panel import FAMILIES, MODELS, panel_data, panel_fit, reference

from mixed_models import GLMM

PANEL = list(MODELS)


@pytest.fixture(params=PANEL)
def panel(request) -> tuple[GLMM, dict]:
    return panel_fit(request.param), reference(request.param)


def test_objective_at_most_the_best_optimum(panel):
    model, ref = panel
    assert model.deviance <= ref["objective_full"] + 1e-6
    assert model.confirmed


def test_fixed_effects_within_a_thousandth_of_a_standard_error(panel):
    model, ref = panel
    beta = np.array([ref["beta"][name] for name in ref["beta_names"]])
    se = np.array(ref["se_accurate"])
    estimates = np.array(list(model.fix_ef.values()))
    assert np.max(np.abs(estimates - beta) / se) < 1e-3


def test_standard_errors(panel):
    model, ref = panel
    table = model.fix_ef_summary()
    np.testing.assert_allclose(table["sd"].to_numpy(), ref["se_accurate"], rtol=5e-3)
    np.testing.assert_allclose(table["z_score"], table["coef"] / table["sd"], rtol=1e-12)


def test_variance_components(panel):
    model, ref = panel
    ours = model.var_corr()
    theirs = pd.DataFrame(ref["varcorr"])
    assert len(ours) == len(theirs)
    variance = theirs["var2"].isna().to_numpy()
    np.testing.assert_allclose(ours["sdcor"].to_numpy(float)[variance],
                               theirs["sdcor"].to_numpy(float)[variance], rtol=5e-3)
    np.testing.assert_allclose(ours["sdcor"].to_numpy(float)[~variance],
                               theirs["sdcor"].to_numpy(float)[~variance], atol=5e-3)
    np.testing.assert_allclose(model.theta, ref["theta"],
                               atol=5e-3 * max(1.0, max(ref["theta"])))


def test_conditional_modes_within_a_thousandth_of_their_sd(panel):
    model, ref = panel
    table = model.ran_ef_table()
    for term in ref["ranef"]:
        rows = table[table["group"] == term["group"]]
        values = rows.pivot(index="level", columns="term", values="value")
        sds = rows.pivot(index="level", columns="term", values="cond_sd")
        levels = [str(level) for level in term["levels"]]
        # the term's columns in the fit's order (lme4 names them otherwise: urbanY)
        columns = next(b.columns for b in model.record.structure.blocks()
                       if b.group == term["group"])
        mine = values.loc[levels, columns].to_numpy()
        mine_sd = sds.loc[levels, columns].to_numpy()
        theirs = np.array(term["values"]).reshape(mine.shape)
        cond_sd = np.array(term["condsd"]).reshape(mine.shape)
        assert np.max(np.abs(mine - theirs) / cond_sd) < 1e-3
        np.testing.assert_allclose(mine_sd, cond_sd, rtol=5e-3)


def test_fitted_values_and_linear_predictor(panel):
    model, ref = panel
    k = int(ref["fitted_rows"])
    np.testing.assert_allclose(model.fitted()[:k], ref["fitted"], rtol=1e-3)
    np.testing.assert_allclose(model.linear_predictor()[:k], ref["linpred"],
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(model.linear_predictor(with_ran_ef=False)[:k],
                               ref["linpred_population"], rtol=1e-3, atol=1e-3)


def test_criteria_count_the_parameters_as_lme4(panel):
    model, ref = panel
    assert model.n_parameters == ref["npar"]
    assert model.n_obs == ref["nobs"]
    assert model.aic == pytest.approx(model.deviance + 2 * ref["npar"], rel=1e-12)
    assert model.bic == pytest.approx(model.deviance + np.log(ref["nobs"]) * ref["npar"],
                                      rel=1e-12)
    assert model.log_likelihood == pytest.approx(-model.deviance / 2)


def test_dispersion(panel):
    model, ref = panel
    disp = ref["dispersion"]
    if disp is None:
        assert model.dispersion == 1.0
    elif disp["type"] == "sigma":
        assert model.sigma == pytest.approx(disp["value"][0] if isinstance(disp["value"], list)
                                            else disp["value"], rel=5e-3)
        assert model.dispersion == pytest.approx(model.sigma ** 2)
    else:
        value = disp["value"][0] if isinstance(disp["value"], list) else disp["value"]
        assert model.dispersion == pytest.approx(value, rel=5e-3)


def test_the_proportion_with_weights_is_the_cbind_model():
    a, b = panel_fit("cbpp_binomial"), panel_fit("cbpp_proportion")
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    np.testing.assert_allclose(list(a.fix_ef.values()), list(b.fix_ef.values()), atol=1e-6)


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "contraception_binomial"])
def test_compare_reproduces_the_likelihood_ratio_test(model_id):
    import mixed_models

    full = panel_fit(model_id)
    lrt = reference(model_id)["lrt"]
    row = MODELS[model_id]
    formula0 = (row["formula_py"] or row["formula"]).replace(" + " + lrt["dropped"], "")
    formula0 = formula0.replace("~ " + lrt["dropped"] + " + ", "~ 1 + ")
    reduced = GLMM.from_formula(formula0, panel_data(model_id), family=FAMILIES[row["family"]])
    assert reduced.deviance <= lrt["objective0"] + 1e-6
    table = mixed_models.compare(reduced, full)
    assert table["Chisq"].iloc[1] == pytest.approx(lrt["chi2"], abs=2e-5)
    assert table["Df"].iloc[1] == lrt["df"]


def test_compare_refuses_models_of_different_families():
    import mixed_models
    from mixed_models.errors import ModelError

    data = panel_data("cbpp_poisson_offset")
    one = GLMM.from_formula("incidence ~ period + (1 | herd)", data, family="poisson")
    other = GLMM.from_formula("incidence ~ period + (1 | herd)", data, family="poisson",
                              link="sqrt")
    with pytest.raises(ModelError, match="different families"):
        mixed_models.compare(one, other)
