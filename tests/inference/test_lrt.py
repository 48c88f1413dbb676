"""Likelihood ratio tests against lme4's anova(m0, m1), and the models they refuse."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import inference_reference as R
from mixed_models import LMM, datasets
from mixed_models.errors import InvalidArgumentError, ModelError, RefitWarning

PAIRS = R.lrt_pairs()


def _fit_pair(pair_id: str) -> tuple[LMM, LMM]:
    spec = PAIRS[pair_id]
    data = R.load_extra_data(spec["data"])
    reml = spec["REML"] == "TRUE"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (LMM.from_formula(spec["null_formula"], data, reml=reml),
                LMM.from_formula(spec["alt_formula"], data, reml=reml))


@pytest.mark.parametrize("pair_id", list(PAIRS))
def test_matches_lme4_anova(pair_id):
    null, alt = _fit_pair(pair_id)
    want = PAIRS[pair_id]["lme4"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        test = LMM.likelihood_ratio_test(null, alt)
    refit = [w for w in caught if issubclass(w.category, RefitWarning)]
    assert test.refitted_with_ml == (PAIRS[pair_id]["REML"] == "TRUE") == bool(refit)
    assert test.df == want["df"]
    assert test.statistic == pytest.approx(want["chisq"], rel=1e-4, abs=1e-6)
    R.assert_p_values([test.p_value], [want["p"]], 1e-3, "p")
    np.testing.assert_allclose(test.deviances, want["deviance"], rtol=1e-7)
    assert test.method == "chi2" and test.nsim is None


def test_likelihood_ratio_is_the_statistic():
    null, alt = _fit_pair("alien_age")
    assert LMM.likelihood_ratio(null, alt) == pytest.approx(
        LMM.likelihood_ratio_test(null, alt).statistic, rel=1e-12)


def test_models_in_the_wrong_order_are_refused():
    null, alt = _fit_pair("alien_age")
    with pytest.raises(ModelError, match="not nested: model1's fixed effects \\['Age'\\]"):
        LMM.likelihood_ratio_test(alt, null)


def test_a_correlation_is_not_nested_in_independent_effects():
    diag, full = _fit_pair("sleep_correlation")
    with pytest.raises(ModelError, match="covariance of model1's random effects for 'Subject'"):
        LMM.likelihood_ratio_test(full, diag)


def test_other_grouping_factors_are_not_nested():
    data = datasets.load("pastes")
    by_batch = LMM.from_formula("strength ~ 1 + (1 | batch)", data, reml=False)
    by_cask = LMM.from_formula("strength ~ 1 + (1 | batch:cask)", data, reml=False)
    with pytest.raises(ModelError, match="no grouping factor with the same levels"):
        LMM.likelihood_ratio_test(by_batch, by_cask)


def test_different_data_are_refused():
    data = datasets.load("sleepstudy")
    alt = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, reml=False)
    fewer = LMM.from_formula("Reaction ~ Days + (1 | Subject)", data.iloc[:-10], reml=False)
    with pytest.raises(ModelError, match="170 and 180 observations"):
        LMM.likelihood_ratio_test(fewer, alt)
    other = LMM.from_formula("Reaction ~ Days + (1 | Subject)",
                             data.assign(Reaction=data["Reaction"] + 1.0), reml=False)
    with pytest.raises(ModelError, match="different responses"):
        LMM.likelihood_ratio_test(other, alt)


def test_same_number_of_parameters_is_refused():
    null, _ = _fit_pair("alien_age")
    with pytest.raises(ModelError, match="more parameters"):
        LMM.likelihood_ratio_test(null, null)


def test_unknown_method_is_refused():
    null, alt = _fit_pair("alien_age")
    with pytest.raises(InvalidArgumentError, match="chi2"):
        LMM.likelihood_ratio_test(null, alt, method="f")


def test_bootstrap_p_value_is_a_replicate_count():
    null, alt = _fit_pair("sleep_correlation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = LMM.likelihood_ratio_test(null, alt, method="bootstrap", nsim=19, seed=3)
        b = LMM.likelihood_ratio_test(null, alt, method="bootstrap", nsim=19, seed=3)
    assert a.method == "bootstrap" and a.nsim == 19
    assert a.p_value == b.p_value
    count = a.p_value * 20
    assert count == pytest.approx(round(count)) and 1 <= round(count) <= 20
    # the observed statistic (0.064 on 1 df) is typical under the null
    assert a.p_value > 0.1
