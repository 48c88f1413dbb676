"""GLMM predictions against lme4's (rows 1-3 of each panel model's data at an unseen level
of its first grouping factor), and the link-scale intervals against a dense computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from glmm_panel import MODELS, panel_fit, reference, with_extra

from mixed_models.errors import InvalidArgumentError, NotFoundError


def _newdata(model_id: str) -> pd.DataFrame:
    data = pd.DataFrame(reference(model_id)["predict"]["newdata"])
    for column in filter(None, MODELS[model_id]["factors"].split(";")):
        if column in data:
            data[column] = data[column].astype(str)
    return data


@pytest.mark.parametrize("model_id", with_extra("predict"))
def test_predictions_at_a_new_level_match_lme4(model_id):
    model = panel_fit(model_id)
    ref = reference(model_id)["predict"]
    newdata = _newdata(model_id)
    np.testing.assert_allclose(model.predict(newdata), ref["link"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(model.predict(newdata, type="response"), ref["response"],
                               rtol=1e-3)
    table = model.predict_with_intervals(newdata, type="response")
    np.testing.assert_allclose(table["fit"], ref["response"], rtol=1e-3)


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "sleepstudy_gamma_log"])
def test_without_newdata_the_fitted_values(model_id):
    model = panel_fit(model_id)
    np.testing.assert_allclose(model.predict(), model.linear_predictor(), rtol=1e-12)
    np.testing.assert_allclose(model.predict(type="response"), model.fitted(), rtol=1e-12)
    np.testing.assert_allclose(model.predict(with_ran_ef=False),
                               model.linear_predictor(with_ran_ef=False), rtol=1e-12)


def _dense_joint_variance(model, x, zrows):
    """sigma^2 c' P^-1 c with dense matrices built from the record's arrays."""
    problem = model.record.problem
    zt = problem.sparse_zt().toarray()
    lam = problem.sparse_lambdat(model.theta).toarray().T
    w = problem.irls_weights()
    zl = zt.T @ lam
    xx = problem.x
    top = np.hstack([zl.T @ (w[:, None] * zl) + np.eye(lam.shape[0]), zl.T @ (w[:, None] * xx)])
    bottom = np.hstack([xx.T @ (w[:, None] * zl), xx.T @ (w[:, None] * xx)])
    p = np.vstack([top, bottom])
    c = np.vstack([lam.T @ zrows.T, x.T])
    return model.record.sigma2 * np.einsum("ij,ij->j", c, np.linalg.solve(p, c))


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "contraception_binomial",
                                      "sleepstudy_gamma_log"])
def test_link_intervals_of_the_fitted_rows(model_id):
    model = panel_fit(model_id)
    problem = model.record.problem
    table = model.predict_with_intervals(level=0.9)
    zt = problem.sparse_zt().toarray()
    expected = _dense_joint_variance(model, problem.x, zt.T)
    np.testing.assert_allclose(table["se_link"] ** 2, expected, rtol=1e-8)
    half = 1.6448536269514722 * table["se_link"]
    np.testing.assert_allclose(table["upper"] - table["fit"], half, rtol=1e-10)
    # population intervals: the Wald covariance of beta
    pop = model.predict_with_intervals(with_ran_ef=False)
    vcov = model.record.sigma2 * model.record.estimates.beta_cov_unscaled
    np.testing.assert_allclose(pop["se_link"] ** 2,
                               np.einsum("ni,ij,nj->n", problem.x, vcov, problem.x),
                               rtol=1e-10)


def test_response_intervals_are_the_link_ends_mapped():
    model = panel_fit("cbpp_binomial")
    newdata = _newdata("cbpp_binomial")
    link = model.predict_with_intervals(newdata)
    resp = model.predict_with_intervals(newdata, type="response")
    inv = lambda v: 1 / (1 + np.exp(-np.asarray(v)))  # noqa: E731
    np.testing.assert_allclose(resp["lower"], inv(link["lower"]), rtol=1e-12)
    np.testing.assert_allclose(resp["upper"], inv(link["upper"]), rtol=1e-12)
    assert np.all(resp["lower"] < resp["fit"]) and np.all(resp["fit"] < resp["upper"])
    # an unseen herd adds the random intercept's full variance theta^2
    seen = newdata.assign(herd="1")
    extra = link["se_link"] ** 2 - model.predict_with_intervals(seen)["se_link"] ** 2
    assert np.all(extra > 0.5 * model.theta[0] ** 2)


def test_prediction_refusals():
    model = panel_fit("cbpp_binomial")
    newdata = _newdata("cbpp_binomial")
    with pytest.raises(InvalidArgumentError, match="type must be one of"):
        model.predict(newdata, type="probability")
    with pytest.raises(NotFoundError, match="NEW"):
        model.predict(newdata, new_levels="error")
    with pytest.raises(InvalidArgumentError, match="level"):
        model.predict_with_intervals(newdata, level=1.5)
