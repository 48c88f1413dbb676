"""The fitted model's API on the gem's example and a few reference models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reference
from mixed_models import LMM, datasets
from mixed_models.errors import SingularFitWarning


@pytest.fixture(scope="module")
def alien(fitted):
    return fitted("alien_reml")


def test_gem_example_reaches_the_true_optimum(alien):
    # lme4's default optimizer stops at 333.7356 with a convergence warning
    assert alien.deviance <= 333.7155398
    assert alien.reml and alien.formula == "Aggression ~ Age + Species + (Age | Location)"


def test_gem_example_estimates(alien):
    ref = reference.fit_json("alien_reml")
    assert list(alien.fix_ef) == ["intercept", "Age", "Species_lvl_Human", "Species_lvl_Ood",
                                  "Species_lvl_WeepingAngel"]
    np.testing.assert_allclose(list(alien.fix_ef.values()), list(ref["beta"].values()),
                               rtol=1e-6)
    assert list(alien.ran_ef)[:2] == ["intercept_Asylum", "Age_Asylum"]
    np.testing.assert_allclose(alien.ran_ef["intercept_Asylum"], -116.680805293336, rtol=1e-5)
    np.testing.assert_allclose(alien.ran_ef["Age_Asylum"], -0.0335339195687326, rtol=1e-4)
    np.testing.assert_allclose(alien.sigma2, ref["sigma"] ** 2, rtol=1e-5)
    np.testing.assert_allclose(alien.theta, ref["theta"], rtol=5e-3)  # theta_21 is flat


def test_sigma_mat_is_labelled_block(alien):
    ref = {(r["var1"], r["var2"]): r["vcov"] for r in reference.fit_json("alien_reml")["varcorr"]}
    mat = alien.sigma_mat
    assert list(mat.index) == ["Location", "Location_Age"]
    np.testing.assert_allclose(mat.loc["Location", "Location"], ref[("(Intercept)", None)],
                               rtol=1e-4)
    np.testing.assert_allclose(mat.loc["Location", "Location_Age"],
                               ref[("(Intercept)", "Age")], rtol=5e-3)
    np.testing.assert_allclose(mat.to_numpy(), mat.to_numpy().T)


def test_ran_ef_summary_has_sds_and_correlations(alien):
    summary = alien.ran_ef_summary()
    cov = alien.ran_ef_cov()
    sd = np.sqrt(np.diag(cov.to_numpy()))
    np.testing.assert_allclose(np.diag(summary.to_numpy()), sd)
    np.testing.assert_allclose(summary.iloc[0, 1], cov.iloc[0, 1] / (sd[0] * sd[1]))


def test_information_criteria_match_lme4(alien):
    ref = reference.fit_json("alien_reml")
    assert alien.n_parameters == ref["npar"]
    np.testing.assert_allclose(alien.log_likelihood, ref["loglik"], rtol=1e-9)
    np.testing.assert_allclose(alien.aic, ref["aic"], rtol=1e-9)
    np.testing.assert_allclose(alien.bic, ref["bic"], rtol=1e-9)


def test_dev_fun_reproduces_the_criterion_and_leaves_the_fit_alone(alien):
    before = alien.fix_ef
    assert alien.dev_fun(alien.theta) == pytest.approx(alien.deviance, abs=1e-9)
    assert alien.dev_fun(np.array([1.0, 0.0, 1.0])) > alien.deviance
    assert alien.fix_ef == before


def test_fix_ef_cov_mat_matches_lme4_vcov(alien):
    ref = np.array(reference.fit_json("alien_reml")["vcov"])
    np.testing.assert_allclose(alien.fix_ef_cov_mat.to_numpy(), ref, rtol=5e-3, atol=1e-6)


def test_fix_ef_summary_columns(alien):
    table = alien.fix_ef_summary()
    assert list(table.columns) == ["coef", "sd", "z_score", "WaldZ_p_value"]
    row = table.loc["Age"]
    assert row["z_score"] == pytest.approx(row["coef"] / row["sd"])
    assert 0.4 < row["WaldZ_p_value"] < 0.5


def test_fitted_and_residuals_add_up(alien):
    y = datasets.load("alien_species")["Aggression"].to_numpy()
    np.testing.assert_allclose(alien.fitted() + alien.residuals, y)
    assert not np.allclose(alien.fitted(), alien.fitted(with_ran_ef=False))


def test_conditional_covariance_matrix_agrees_with_cond_sd(alien):
    cov = alien.cond_cov_mat_ran_ef()
    assert list(cov.index) == alien.ran_ef_names
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())),
                               alien.ran_ef_table()["cond_sd"].to_numpy(), rtol=1e-8)


@pytest.mark.parametrize("model_id", ["penicillin_reml", "nested_slope_reml", "crossed_ml"])
def test_conditional_covariance_blocks_on_crossed_and_nested(fitted, model_id):
    model = fitted(model_id)
    cov = model.cond_cov_mat_ran_ef().to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), model.ran_ef_table()["cond_sd"],
                               rtol=1e-7)


def test_model_data_matrices_rebuild_the_fit(alien):
    md = alien.model_data
    fitted = md.x @ np.array(list(alien.fix_ef.values())) + \
        md.zt.T @ np.array(list(alien.ran_ef.values()))
    np.testing.assert_allclose(fitted, alien.fitted())
    assert md.zt.shape == (6, 100) and md.lambdat.shape == (6, 6)
    assert md.z_col_names == alien.ran_ef_names and md.x_col_names == alien.fix_ef_names


def test_keys_name_the_group_when_levels_are_shared(fitted):
    model = fitted("crossed_ml")  # g and h both have levels 1, 2, 3
    assert model.ran_ef_names[:2] == ["intercept_g_1", "x_g_1"]
    assert "intercept_h_1" in model.ran_ef
    assert len(set(model.ran_ef_names)) == len(model.ran_ef_names)


def test_singular_flag(fitted):
    assert fitted("dyestuff2_reml").singular
    assert not fitted("sleep_reml").singular
    assert fitted("dyestuff2_reml").theta[0] == 0.0  # snapped to the boundary


def test_singular_fit_warns_with_boundary_message():
    data = datasets.load("dyestuff2")
    with pytest.warns(UserWarning, match="boundary \\(singular\\) fit"):
        model = LMM.from_formula("Yield ~ 1 + (1 | Batch)", data)
    assert any("boundary" in w for w in model.warnings)


def test_input_frame_is_not_modified():
    data = datasets.load("sleepstudy")
    copy = data.copy()
    LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)
    pd.testing.assert_frame_equal(data, copy)


def test_polars_frame_gives_the_same_fit(fitted):
    pl = pytest.importorskip("polars")
    data = pl.from_pandas(datasets.load("sleepstudy"))
    model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)
    assert model.deviance == pytest.approx(fitted("sleep_reml").deviance, abs=1e-9)



def test_a_local_optimum_with_zero_variances_is_left_for_the_lower_one():
    # lme4's BOBYQA stops with every variance zero (deviance 96.04997); Nelder-Mead
    # finds 95.25971 at theta (0.2729493, -0.4124438, 0): see the data's PROVENANCE.md
    data = pd.read_csv(Path(__file__).parent / "data" / "local_optimum" / "data.csv")
    with pytest.warns(SingularFitWarning):
        model = LMM.from_formula("y ~ x + (x | g)", data, reml=False)
    assert model.deviance == pytest.approx(95.25971, abs=1e-5)
    np.testing.assert_allclose(model.theta, [0.2729493, -0.4124438, 0.0], atol=1e-5)


def test_a_maximal_model_is_not_left_at_a_saddle_with_a_zero_variance():
    # 20 theta entries, several variances zero at the optimum: lme4's bobyqa reaches
    # 28508.265032, its default 28508.265270 (see the data's PROVENANCE.md)
    data = pd.read_csv(Path(__file__).parent / "data" / "saddle" / "kb07_like.csv")
    terms = "1 + spkr + prec + load"
    with pytest.warns(SingularFitWarning):
        model = LMM.from_formula(f"rt ~ {terms} + ({terms} | subj) + ({terms} | item)",
                                 data, reml=False)
    assert model.deviance == pytest.approx(28508.265032, abs=2e-6)
    assert model.record.optimization.confirmed


@pytest.mark.parametrize("scale", [1e2, 1e4, 1e6, 1e7])
def test_a_slope_on_an_extreme_scale_gives_the_same_fit(fitted, scale):
    # Days * s: the REML criterion rises by 2 log s (log det X'V^-1X), the slope's SD
    # falls by s, nothing else moves, and a slope SD of 6e-7 is not "singular"
    data = datasets.load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LMM.from_formula("Reaction ~ Days + (Days | Subject)",
                                 data.assign(Days=data["Days"] * scale))
    base = fitted("sleep_reml")
    assert model.deviance - base.deviance == pytest.approx(2 * np.log(scale), abs=1e-6)
    sds, base_sds = model.var_corr()["sdcor"].to_numpy(), base.var_corr()["sdcor"].to_numpy()
    np.testing.assert_allclose(sds, base_sds / np.array([1.0, scale, 1.0, 1.0]), rtol=1e-5)
    assert not model.singular
