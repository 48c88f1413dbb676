"""The summary data object: its values against lme4's summary() and the model's API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mixed_models.display import ModelSummary
from mixed_models.display import summary as summary_module
from mixed_models.display.values import QUANTILE_NAMES, TEST_METHODS
from mixed_models.fitted.results import fit_rows

REFERENCE_IDS = ["alien_reml", "pastes_reml", "crossed_ml", "sleep_zerocorr_reml",
                 "cat_x_cat_reml", "sleep_weights_reml", "sleep_offset_ml", "penicillin_ml"]


@pytest.mark.parametrize("model_id", REFERENCE_IDS)
def test_scaled_residuals_match_lme4(model_by_id, summary_reference, model_id):
    summary = model_by_id(model_id).summary()
    want = summary_reference[model_id]["scaled_residual_quantiles"]
    assert list(summary.scaled_residuals.index) == list(QUANTILE_NAMES)
    np.testing.assert_allclose(summary.scaled_residuals.to_numpy(), want, rtol=0, atol=2e-3)


@pytest.mark.parametrize("model_id", REFERENCE_IDS)
def test_fixed_effects_correlation_matches_lme4(model_by_id, summary_reference, model_id):
    summary = model_by_id(model_id).summary()
    want = np.array(summary_reference[model_id]["fixed_effects_corr"], dtype=float)
    got = summary.fixed_effects_corr.to_numpy()
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=0, atol=2e-3)
    assert list(summary.fixed_effects_corr.index) == summary.fixed_effects.index.tolist()


@pytest.mark.parametrize("model_id", REFERENCE_IDS)
def test_df_residual_matches_lme4(model_by_id, summary_reference, model_id):
    assert model_by_id(model_id).summary().df_residual == \
        summary_reference[model_id]["df_residual"]


def test_values_are_the_models(fitted):
    model = fitted("alien_reml")
    s = model.summary()
    assert (s.formula, s.reml, s.method) == (model.formula, True, "REML")
    assert (s.criterion, s.aic, s.bic, s.log_likelihood) == \
        (model.deviance, model.aic, model.bic, model.log_likelihood)
    assert (s.n_obs, s.n_dropped, s.n_groups) == (100, 0, {"Location": 3})
    # a summary shows Satterthwaite's t tests unless asked otherwise (as lmerTest)
    pd.testing.assert_frame_equal(s.fixed_effects, model.fix_ef_summary(ddf="satterthwaite"))
    assert s.optimizer.optimizer == model.optimization_result.optimizer
    assert s.optimizer.evaluations == model.optimization_result.evaluations


def test_random_effects_table_and_correlations(fitted):
    model = fitted("alien_reml")
    s = model.summary()
    vc = model.var_corr()
    assert s.random_effects["group"].tolist() == ["Location", "Location", "Residual"]
    assert s.random_effects["name"].tolist() == ["intercept", "Age", ""]
    np.testing.assert_allclose(s.random_effects["variance"],
                               vc.loc[vc["var2"].isna(), "vcov"])
    np.testing.assert_allclose(s.random_effects["std_dev"] ** 2, s.random_effects["variance"])
    corr = s.random_effects_corr["Location"]
    want = vc.loc[vc["var2"].notna(), "sdcor"].item()
    assert corr.loc["Age", "intercept"] == corr.loc["intercept", "Age"] == want
    assert list(np.diag(corr)) == [1.0, 1.0]


def test_uncorrelated_terms_have_no_correlation(fitted):
    s = fitted("sleep_zerocorr_reml").summary()
    corr = s.random_effects_corr["Subject"]
    assert np.isnan(corr.loc["intercept", "Days"]) and np.isnan(corr.loc["Days", "intercept"])


def test_scalar_terms_have_no_correlation_matrix(fitted):
    assert fitted("penicillin_reml").summary().random_effects_corr == {}


def test_messages_are_the_fits_warnings(fitted):
    model = fitted("crossed_ml")  # a singular fit
    s = model.summary()
    assert s.messages == tuple(model.warnings)
    assert any("singular" in m for m in s.messages)


def test_weights_and_offset_are_flagged(model_by_id, fitted):
    assert model_by_id("sleep_weights_reml").summary().weighted
    assert model_by_id("sleep_offset_ml").summary().has_offset
    plain = fitted("sleep_reml").summary()
    assert not plain.weighted and not plain.has_offset


def test_pearson_residuals_use_the_weights(model_by_id):
    model = model_by_id("sleep_weights_reml")
    rows = fit_rows(model.record)
    w = model.record.problem.weights
    np.testing.assert_allclose(rows.pearson, np.sqrt(w) * (rows.observed - rows.fitted))
    np.testing.assert_allclose(rows.scaled * model.sigma, rows.pearson)


def test_summary_is_frozen(fitted):
    s = fitted("dyestuff_reml").summary()
    assert isinstance(s, ModelSummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.reml = False


def test_renderings_are_the_summarys(fitted):
    model = fitted("dyestuff_reml")
    s = model.summary()
    assert str(model) == str(s) == s.to_text()
    assert model._repr_html_() == s._repr_html_() == s.to_html()
    assert s._repr_markdown_() == s.to_markdown()


# --- the tests of the fixed effects come from fix_ef_summary -------------------------

class _Recorder:
    """Stands in for a fix_ef_summary(ddf=...) and records the calls."""

    def __init__(self, table: pd.DataFrame):
        self.table, self.calls = table, []

    def __call__(self, fit: object, ddf: str = "satterthwaite") -> pd.DataFrame:
        self.calls.append(ddf)
        return self.table


def test_ddf_is_passed_when_fix_ef_summary_takes_it(fitted, monkeypatch):
    model = fitted("dyestuff_ml")
    table = pd.DataFrame({"coef": [1.0], "sd": [0.5], "df": [4.2], "t_value": [2.0],
                          "p_value": [0.11]}, index=["intercept"])
    recorder = _Recorder(table)
    monkeypatch.setattr(summary_module, "fix_ef_summary", recorder)
    s = model.summary(ddf="kenward-roger")
    assert recorder.calls == ["kenward-roger"]
    assert s.test_method == "kenward-roger" and s.fixed_effects is table
    assert "Kenward-Roger" in s.test_description and "Kenward-Roger" in s.to_text()
    default = model.summary()
    assert default.test_method == "satterthwaite"  # the signature's default
    assert recorder.calls[-1] == "satterthwaite"
    text = default.to_text()
    assert "Pr(>|t|)" in text and "t value" in text and "4.20" in text


@pytest.mark.parametrize("ddf", ["satterthwaite", "kenward-roger", "wald"])
def test_ddf_gives_the_fix_ef_summary_table(fitted, ddf):
    model = fitted("alien_reml")
    s = model.summary(ddf=ddf)
    pd.testing.assert_frame_equal(s.fixed_effects, model.fix_ef_summary(ddf=ddf))
    assert s.test_method == ddf
    text = s.to_text()
    assert TEST_METHODS[ddf] in text
    assert ("Pr(>|z|)" if ddf == "wald" else "Pr(>|t|)") in text


def test_every_test_method_is_described():
    assert set(TEST_METHODS) == {"wald", "satterthwaite", "kenward-roger"}
