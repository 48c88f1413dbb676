"""GLMM(x=, y=, zt=, lambdat=...): a GLMM given as raw matrices, fitted by the dense
general core, against the formula fit of the same model and the lme4 panel
(tests/data/reference_glmm)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmm_panel import fit as panel_fit
from glmm_panel import panel_data, reference
from mixed_models import GLMM
from mixed_models.errors import DataError, ModelError


def _zt(codes: np.ndarray, columns: np.ndarray) -> sp.csr_matrix:
    """Z' of one term: the n x S ``columns`` per level of ``codes`` (level-major)."""
    n, size = columns.shape
    rows = (codes[:, None] * size + np.arange(size)[None, :]).ravel()
    return sp.csr_matrix((columns.ravel(), (rows, np.repeat(np.arange(n), size))),
                         shape=((codes.max() + 1) * size, n))


def _codes(column: pd.Series) -> np.ndarray:
    return pd.Categorical(column).codes.astype(np.intp)


@pytest.fixture(scope="module")
def cbpp():
    data = panel_data("cbpp_binomial")
    herd = _codes(data["herd"])
    period = pd.get_dummies(data["period"], drop_first=True, dtype=float)
    x = pd.concat([pd.Series(1.0, index=data.index, name="intercept"), period], axis=1)
    q = herd.max() + 1
    arrays = dict(x=x, y=(data["incidence"] / data["size"]).to_numpy(),
                  zt=_zt(herd, np.ones((len(data), 1))),
                  lambdat=lambda th: th[0] * sp.identity(q), start_point=[1.0],
                  lower_bound=[0.0], weights=data["size"].to_numpy(dtype=float))
    return arrays, GLMM(**arrays)


def test_raw_cbpp_is_the_formula_model(cbpp):
    arrays, raw = cbpp
    formula = panel_fit("cbpp_binomial")
    ref = reference("cbpp_binomial")
    assert raw.deviance <= ref["objective"] + 1e-6
    assert raw.deviance == pytest.approx(formula.deviance, abs=1e-7)
    np.testing.assert_allclose(raw.theta, formula.theta, atol=2e-5)
    np.testing.assert_allclose(list(raw.fix_ef.values()), list(formula.fix_ef.values()),
                               atol=2e-5)
    np.testing.assert_allclose(raw.fix_ef_summary()["sd"], ref["se_accurate"], rtol=5e-3)
    table, expected = raw.ran_ef_table(), formula.ran_ef_table()
    np.testing.assert_allclose(table["value"], expected["value"], atol=1e-4)
    np.testing.assert_allclose(table["cond_sd"], expected["cond_sd"], rtol=1e-4)
    np.testing.assert_allclose(raw.fitted(), formula.fitted(), atol=1e-6)
    assert raw.record.optimization.confirmed
    assert list(raw.fix_ef) == list(arrays["x"].columns)


def test_raw_correlated_slopes_reach_the_panel_optimum():
    """Contraception's (urban | district) as a user's block-diagonal Lambda'."""
    ref = reference("contraception_binomial")
    data = panel_data("contraception_binomial")
    urban = (data["urban"] == "Y").to_numpy(dtype=float)
    livch = pd.get_dummies(data["livch"], drop_first=True, dtype=float).to_numpy()
    age = data["age"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(data)), age, age ** 2, urban, livch])
    district = _codes(data["district"])
    zt = _zt(district, np.column_stack([np.ones(len(data)), urban]))
    levels = district.max() + 1

    def lambdat(th):
        lam = np.array([[th[0], 0.0], [th[1], th[2]]])
        return sp.kron(sp.identity(levels), lam.T).tocsr()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GLMM(x=x, y=data["use"].to_numpy(dtype=float), zt=zt, lambdat=lambdat,
                     start_point=[1.0, 0.0, 1.0], lower_bound=[0.0, -np.inf, 0.0])
    assert model.deviance <= ref["objective"] + 1e-6
    assert model.deviance == pytest.approx(ref["objective"], abs=1e-4)
    beta = np.array(list(model.fix_ef.values()))
    se = np.asarray(ref["se_accurate"])
    assert np.all(np.abs(beta - np.array(list(ref["beta"].values()))) <= 1e-3 * se)
    np.testing.assert_allclose(model.fix_ef_summary()["sd"], se, rtol=5e-3)
    np.testing.assert_allclose(model.theta, ref["theta"], atol=2e-3)


def test_raw_nagq0_and_refit_match_the_formula_model(cbpp):
    arrays, raw = cbpp
    zero = GLMM(**arrays, n_agq=0)
    assert zero.deviance == pytest.approx(panel_fit("cbpp_binomial").deviance, abs=0.2)
    formula0 = GLMM.from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                 panel_data("cbpp_binomial"), n_agq=0)
    assert zero.deviance == pytest.approx(formula0.deviance, abs=1e-6)
    y_new = raw.simulate(1, seed=4)[:, 0]
    refitted = raw.refit(y=y_new)
    fresh = GLMM(**{**arrays, "y": y_new})
    assert refitted.deviance == pytest.approx(fresh.deviance, abs=1e-6)
    np.testing.assert_allclose(refitted.theta, fresh.theta, atol=1e-4)


def test_raw_poisson_with_a_kinship_factor_recovers_its_simulation():
    rng = np.random.default_rng(7)
    n, k = 600, 30
    kinship = np.exp(-np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / 4.0)
    chol = np.linalg.cholesky(kinship)
    group = rng.integers(0, k, n)
    x = np.column_stack([np.ones(n), rng.standard_normal(n)])
    b = 0.6 * chol @ rng.standard_normal(k)
    y = rng.poisson(np.exp(x @ [0.8, 0.4] + b[group]))
    model = GLMM(x=x, y=y, zt=_zt(group, np.ones((n, 1))), lambdat=lambda th: th[0] * chol.T,
                 start_point=[1.0], lower_bound=[0.0], family="poisson")
    assert model.record.optimization.confirmed
    assert abs(model.fix_ef["x1"] - 0.4) < 3 * model.fix_ef_summary()["sd"]["x1"]
    # the objective is the Laplace approximation at the estimate: no other theta is lower
    dev = model.dev_fun
    best = np.concatenate([model.theta, list(model.fix_ef.values())])
    for step in (-1e-3, 1e-3):
        assert dev(best + np.r_[step, 0.0, 0.0]) > model.deviance


@pytest.mark.parametrize("change, error, match", [
    (dict(n_agq=5), ModelError, "n_agq=5"),
    (dict(family="negative_binomial"), ModelError, "shape"),
    (dict(lambdat=lambda th: th[0] * np.eye(3)), DataError, "k x q"),
    (dict(y=np.full(56, 2.0)), DataError, "binomial"),
    (dict(start_point=[-1.0]), DataError, "outside its bounds"),
])
def test_raw_glmm_refuses_what_it_cannot_fit(cbpp, change, error, match):
    arrays, _ = cbpp
    with pytest.raises(error, match=match):
        GLMM(**{**arrays, **change})


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), levels=st.integers(4, 9),
       family=st.sampled_from(["binomial", "poisson"]))
def test_raw_random_intercepts_fit_what_the_formula_fits(seed, levels, family):
    """For any data, Z' = the group indicators and Lambda' = theta I make the formula
    model ``y ~ x + (1 | g)``: the same -2 log-likelihood and estimates."""
    rng = np.random.default_rng(seed)
    n = 12 * levels
    group = np.repeat(np.arange(levels), 12)
    xv = rng.standard_normal(n)
    eta = 0.3 + 0.5 * xv + rng.normal(0.0, 0.8, levels)[group]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float) if family == "binomial" \
        else rng.poisson(np.exp(eta)).astype(float)
    frame = pd.DataFrame({"y": y, "x": xv, "g": [f"g{i}" for i in group]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        formula = GLMM.from_formula("y ~ x + (1 | g)", frame, family=family)
        raw = GLMM(x=np.column_stack([np.ones(n), xv]), y=y,
                   zt=_zt(group, np.ones((n, 1))),
                   lambdat=lambda th: th[0] * sp.identity(levels), start_point=[1.0],
                   lower_bound=[0.0], family=family)
    assert raw.deviance == pytest.approx(formula.deviance, abs=1e-6)
    np.testing.assert_allclose(list(raw.fix_ef.values()), list(formula.fix_ef.values()),
                               atol=1e-3 * float(np.max(formula.fix_ef_summary()["sd"])))
