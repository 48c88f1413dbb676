"""GLMM likelihood ratio tests against lme4's anova of the panel's nested fits (the last
fixed-effect term dropped), and the checks on what may be compared."""

from __future__ import annotations

import pytest
from glmm_panel import MODELS, fit, panel_fit, reference, with_extra

from mixed_models import GLMM, LMM
from mixed_models.errors import DataTypeError, ModelError
from mixed_models.inference.glmm_lrt import glmm_likelihood_ratio_test


def _reduced(model_id: str) -> GLMM:
    lrt = reference(model_id)["lrt"]
    row = MODELS[model_id]
    formula0 = lrt["formula0"]
    if row["formula_py"]:
        formula0 = formula0.replace("I(age^2)", "I(age**2)")
    return fit(model_id, formula0)


@pytest.mark.parametrize("model_id", with_extra("lrt"))
def test_lrt_matches_lme4(model_id):
    ref = reference(model_id)["lrt"]
    full, reduced = panel_fit(model_id), _reduced(model_id)
    test = GLMM.likelihood_ratio_test(reduced, full)
    assert test.statistic == pytest.approx(ref["chi2"], abs=2e-3)
    assert test.df == ref["df"]
    assert test.p_value == pytest.approx(ref["p"], rel=2e-3)
    assert GLMM.likelihood_ratio(reduced, full) == pytest.approx(ref["chi2"], abs=2e-3)
    assert test.method == "chi2" and not test.refitted_with_ml


def test_bootstrap_p_value_of_a_strong_effect():
    full, reduced = panel_fit("cbpp_binomial"), _reduced("cbpp_binomial")
    test = GLMM.likelihood_ratio_test(reduced, full, method="bootstrap", nsim=19, seed=3)
    assert test.method == "bootstrap" and test.nsim == 19
    assert test.p_value == pytest.approx(1 / 20)  # no replicate reaches chi2 = 25.6
    assert test.statistic == pytest.approx(reference("cbpp_binomial")["lrt"]["chi2"], abs=2e-3)


def test_refusals():
    full = panel_fit("cbpp_binomial")
    agq = panel_fit("cbpp_binomial_agq9")
    with pytest.raises(ModelError, match="n_agq"):
        GLMM.likelihood_ratio_test(_reduced("cbpp_binomial"), agq)
    probit = panel_fit("cbpp_probit")
    with pytest.raises(ModelError, match="different families or links"):
        GLMM.likelihood_ratio_test(_reduced("cbpp_binomial"), probit)
    with pytest.raises(ModelError, match="not nested"):
        GLMM.likelihood_ratio_test(full, _reduced("cbpp_binomial"))
    with pytest.raises(DataTypeError, match="model2"):
        GLMM.likelihood_ratio_test(full, "model")
    gamma = panel_fit("sleepstudy_gamma_log")
    lmm = LMM.from_formula("Reaction ~ 1 + (Days | Subject)", gamma.record.structure.design.frame.data)
    with pytest.raises(ModelError, match="linear mixed model"):
        glmm_likelihood_ratio_test(lmm, gamma)
