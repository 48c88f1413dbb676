"""Prediction on new data against lme4, intervals, coverage, per-level conditional covariances."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.stats import norm

import reference
from mixed_models import LMM, datasets
from mixed_models.errors import (
    DataError,
    InvalidArgumentError,
    MissingColumnError,
    ModelError,
    NotFoundError,
)
from mixed_models.prediction import joint_quadratic_form, new_rows

PREDICTED = sorted(p.stem for p in (reference.REFERENCE / "predictions").glob("*.json"))
SE_REFERENCE = Path(__file__).parent / "data" / "prediction"


def _se_reference(model_id: str) -> dict:
    return json.loads((SE_REFERENCE / f"{model_id}.json").read_text())


def _newdata(model_id: str) -> pd.DataFrame:
    return pd.DataFrame(reference.predictions_json(model_id)["newdata"])


@pytest.fixture(scope="module")
def sleep(fitted):
    return fitted("sleep_reml")


# --- point predictions against lme4 ----------------------------------------------------

@pytest.mark.parametrize("model_id", PREDICTED)
def test_predictions_match_lme4(fitted, model_id):
    model = fitted(model_id)
    ref = reference.predictions_json(model_id)
    scale = np.std(model.record.problem.y)
    np.testing.assert_allclose(model.predict(_newdata(model_id)), ref["with_ran_ef"],
                               rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(model.predict(_newdata(model_id), with_ran_ef=False),
                               ref["population"], rtol=0, atol=1e-5 * scale)


def test_population_prediction_needs_no_grouping_column(sleep):
    data = _newdata("sleep_reml").drop(columns=["Subject", "Reaction"])
    np.testing.assert_allclose(sleep.predict(data, with_ran_ef=False),
                               reference.predictions_json("sleep_reml")["population"],
                               rtol=1e-8)


def test_unseen_levels_can_be_refused(fitted):
    with pytest.raises(NotFoundError, match=r"\['NEW'\] of grouping factor 'Subject'.*rows "
                                            r"\[0, 1, 2\]"):
        fitted("sleep_reml").predict(_newdata("sleep_reml"), new_levels="error")
    with pytest.raises(NotFoundError, match="'NEW:NEW' *.*'batch:cask'|'batch:cask'"):
        fitted("pastes_reml").predict(_newdata("pastes_reml"), new_levels="error")
    known = _newdata("sleep_reml").iloc[3:]
    assert np.all(np.isfinite(fitted("sleep_reml").predict(known, new_levels="error")))


def test_prediction_without_newdata_is_the_fitted_values(sleep):
    np.testing.assert_allclose(sleep.predict(), sleep.fitted(), rtol=1e-12)
    table = sleep.predict_with_intervals()
    np.testing.assert_allclose(table["fit"], sleep.fitted(), rtol=1e-12)


def test_intervals_on_the_fitted_rows_keep_their_positions():
    data = datasets.load("sleepstudy")
    data.loc[2, "Reaction"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)
    table = model.predict_with_intervals(type="prediction")
    assert len(table) == 179 and 2 not in table.index and table.index[2] == 3
    np.testing.assert_allclose(table["fit"], model.fitted(), rtol=1e-12)


def test_polars_newdata(sleep):
    data = _newdata("sleep_reml")
    np.testing.assert_allclose(sleep.predict(pl.from_pandas(data)), sleep.predict(data))


def test_missing_values_give_nan(sleep):
    data = _newdata("sleep_reml").iloc[3:].reset_index(drop=True)
    data.loc[0, "Days"] = np.nan
    data["Subject"] = data["Subject"].astype(object)
    data.loc[1, "Subject"] = None
    fit = sleep.predict(data)
    assert np.isnan(fit[:2]).all() and np.isfinite(fit[2:]).all()
    assert np.isfinite(sleep.predict(data, with_ran_ef=False)[1])
    table = sleep.predict_with_intervals(data)
    assert table.iloc[:2].isna().all().all() and table.iloc[2:].notna().all().all()


def test_bad_new_data_is_refused(fitted):
    alien = fitted("alien_reml")
    data = datasets.load("alien_species_newdata")
    with pytest.raises(MissingColumnError, match="'Age'"):
        alien.predict(data.drop(columns="Age"))
    data.loc[0, "Species"] = "Martian"
    with pytest.raises(DataError, match="Martian"):
        alien.predict(data)
    for with_ran_ef in (True, False):
        with pytest.raises(InvalidArgumentError, match="new_levels"):
            alien.predict(data, with_ran_ef=with_ran_ef, new_levels="drop")



# --- new data checked against the fit ---------------------------------------------------

def _alien_model(species=None, formula="Aggression ~ Age + Species + (1 | Location)"):
    data = datasets.load("alien_species")
    if species is not None:
        data["Species"] = pd.Categorical(data["Species"], categories=species)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(formula, data), data


def test_a_category_without_rows_in_the_fit_is_refused():
    # a category of the fitted column with no rows has no estimate: formulaic would code
    # it as the baseline and predict the baseline's value
    model, data = _alien_model(["Dalek", "Human", "Ood", "WeepingAngel", "Zygon"])
    new = data.head(3).assign(Species=pd.Categorical(["Zygon", "Dalek", "Human"],
                                                     categories=data["Species"].cat.categories))
    for frame in (new, new.assign(Species=new["Species"].astype(str))):
        with pytest.raises(DataError, match=r"'Species' .*level\(s\) \['Zygon'\] \(rows \[0\]\)"):
            model.predict(frame)
    np.testing.assert_allclose(model.predict(data.head(3)), model.fitted()[:3], rtol=1e-12)


def test_a_combination_of_levels_without_rows_is_refused():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"f": np.tile(["a", "b"], 30), "h": np.repeat(["u", "v", "w"], 20),
                         "g": np.tile(np.arange(6), 10)})
    data = data[~((data.f == "b") & (data.h == "w"))].reset_index(drop=True)
    data["y"] = rng.normal(size=len(data)) + rng.normal(size=6)[data.g]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula("y ~ f * h + (1 | g)", data)
    new = pd.DataFrame({"f": ["b", "a"], "h": ["w", "w"], "g": [0, 0]})
    with pytest.raises(DataError, match=r"row\(s\) \[0\] .*'f_lvl_b:h_lvl_w'.*no rows"):
        model.predict(new)
    assert np.isfinite(model.predict(new.iloc[1:])).all()


def test_an_unseen_level_of_a_random_effects_factor_is_refused():
    model, data = _alien_model(formula="Aggression ~ Age + (Species | Location)")
    with pytest.raises(DataError, match=r"'Species' .*\['Martian'\]"):
        model.predict(data.head(2).assign(Species=["Martian", "Dalek"]))


@pytest.mark.parametrize("column, values, found, expected", [
    ("Age", ["204.95", "39.88", "107.34"], "text or categories", "numbers"),
    ("Age", [True, False, True], "booleans", "numbers"),
    ("Age", pd.to_timedelta([1, 2, 3], unit="D"), "time differences", "numbers"),
    ("Species", [1, 2, 3], "numbers", "text or categories"),
])
def test_new_data_of_the_wrong_type_is_refused(column, values, found, expected):
    model, data = _alien_model()
    new = data.head(3).assign(**{column: values})
    for call in (model.predict, model.predict_with_intervals):
        with pytest.raises(DataError, match=f"column '{column}' of the new data holds {found}"
                                            f".*fitted with {expected}"):
            call(new)


def test_new_data_with_numbers_as_objects_or_missing_categories():
    model, data = _alien_model()
    new = data.head(4).reset_index(drop=True)
    np.testing.assert_allclose(model.predict(new.assign(Age=new["Age"].astype(object))),
                               model.fitted()[:4], rtol=1e-12)
    fit = model.predict(new.assign(Species=[None, "Dalek", "Human", "Ood"]))
    assert np.isnan(fit[0]) and np.isfinite(fit[1:]).all()
    table = model.predict_with_intervals(new.assign(Age=[np.nan, None, 1.0, 2.0]))
    assert table.iloc[:2].isna().all().all() and table.iloc[2:].notna().all().all()
    assert len(model.predict(new.iloc[:0])) == 0


def test_new_data_with_a_duplicated_column_is_refused():
    model, data = _alien_model()
    with pytest.raises(DataError, match="named 'Age'"):
        model.predict(pd.concat([data.head(2), data.head(2)[["Age"]]], axis=1))


def test_offset_and_weights_of_new_rows():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(10), 6)
    data = pd.DataFrame({"x": rng.standard_normal(60), "g": g, "o": np.linspace(0, 1, 60),
                         "w": np.tile([1.0, 2.0, 4.0], 20)})
    data["y"] = data.o + data.x + rng.standard_normal(10)[g] + rng.standard_normal(60)
    model = LMM.from_formula("y ~ x + (1 | g)", data, weights="w", offset="o")
    new = data.head(4)
    with pytest.raises(InvalidArgumentError, match="offset"):
        model.predict(new)
    np.testing.assert_allclose(model.predict(new, offset="o"), model.fitted()[:4], rtol=1e-12)
    with pytest.raises(InvalidArgumentError, match="weights"):
        model.predict_with_intervals(new, type="prediction", offset="o")
    table = model.predict_with_intervals(new, type="prediction", offset="o", weights="w")
    conf = model.predict_with_intervals(new, offset=new.o.to_numpy())
    var = ((table.upper - table.fit) ** 2 - (conf.upper - conf.fit) ** 2) / norm.ppf(0.975) ** 2
    np.testing.assert_allclose(var, model.sigma2 / new.w, rtol=1e-9)
    # the joint quadratic form with weights, against dense algebra
    md = model.model_data
    zl = (md.lambdat @ md.zt).T.toarray()
    w = md.weights[:, None]
    p_mat = np.block([[zl.T @ (w * zl) + np.eye(zl.shape[1]), zl.T @ (w * md.x)],
                      [md.x.T @ (w * zl), md.x.T @ (w * md.x)]])
    c = np.hstack([zl[:4], md.x[:4]])
    expected = np.einsum("ij,ji->i", c, np.linalg.solve(p_mat, c.T))
    np.testing.assert_allclose(joint_quadratic_form(model, new_rows(model, new, offset="o")),
                               expected, rtol=1e-10)


# --- interval widths against lme4's joint covariance -----------------------------------

@pytest.mark.parametrize("model_id", PREDICTED)
def test_standard_errors_of_conditional_predictions_match_lme4(fitted, model_id):
    model = fitted(model_id)
    rows = new_rows(model, _newdata(model_id))
    se = np.sqrt(model.sigma2 * joint_quadratic_form(model, rows))
    np.testing.assert_allclose(se, _se_reference(model_id)["se_known"], rtol=2e-4)


def test_unseen_levels_add_their_variance(sleep):
    data = _newdata("sleep_reml")
    table = sleep.predict_with_intervals(data, level=0.9)
    se = (table.upper - table.fit) / norm.ppf(0.95)
    known = np.array(_se_reference("sleep_reml")["se_known"])
    z = np.column_stack([np.ones(3), data.Days[:3]])
    prior = np.einsum("ns,st,nt->n", z, sleep.sigma_mat.to_numpy(), z)
    np.testing.assert_allclose(se[:3] ** 2, known[:3] ** 2 + prior, rtol=2e-4)
    np.testing.assert_allclose(se[3:], known[3:], rtol=2e-4)
    assert table.attrs == {"level": 0.9, "type": "confidence"}


def test_population_intervals_are_the_gems(fitted):
    # the gem's notebook (LMM_predictions.ipynb), 88% intervals around X beta
    model = fitted("alien_reml")
    data = datasets.load("alien_species_newdata")
    conf = model.predict_with_intervals(data, level=0.88, with_ran_ef=False)
    pred = model.predict_with_intervals(data, level=0.88, type="prediction", with_ran_ef=False)
    np.testing.assert_allclose(conf.fit[:2], [1002.6356446359171, 110.83894554025937],
                               rtol=1e-7)
    # half-widths: the gem's estimates are from its own (slightly different) optimum
    np.testing.assert_allclose(conf.fit[:2] - conf.lower[:2],
                               [1002.6356446359171 - 906.275473617091,
                                110.83894554025937 - 17.15393113018095], rtol=1e-3)
    np.testing.assert_allclose(pred.upper[:2] - pred.fit[:2],
                               [1195.3612391259237 - 1002.6356446359171,
                                298.2140499273802 - 110.83894554025937], rtol=1e-3)
    x = model.record.structure.design.fixed.for_data(data)
    v = np.einsum("np,pq,nq->n", x, model.fix_ef_cov_mat.to_numpy(), x)
    np.testing.assert_allclose((conf.upper - conf.fit) / norm.ppf(0.94), np.sqrt(v),
                               rtol=1e-10)


def test_interval_options_are_checked(sleep):
    with pytest.raises(InvalidArgumentError, match="level"):
        sleep.predict_with_intervals(level=95)
    with pytest.raises(InvalidArgumentError, match="type"):
        sleep.predict_with_intervals(type="credible")


# --- coverage by simulation ----------------------------------------------------------

def test_intervals_have_their_nominal_coverage():
    """Simulate data with few observations per group (so that the conditional modes are
    uncertain), refit, and predict a new observation of every group: 90% intervals should
    cover about 90% of the time (a little less: the uncertainty of theta is ignored)."""
    rng = np.random.default_rng(20261126)
    n_groups, per_group = 30, 4
    g = np.repeat(np.arange(n_groups), per_group)
    beta, sigma = np.array([10.0, 2.0]), 1.5
    chol = np.linalg.cholesky([[4.0, 0.6], [0.6, 1.0]])
    hits: dict[str, list] = {"prediction": [], "confidence": [], "naive_prediction": [],
                             "naive_confidence": []}
    for _ in range(40):
        x = rng.uniform(-1, 1, len(g))
        b = rng.standard_normal((n_groups, 2)) @ chol.T
        y = beta[0] + beta[1] * x + b[g, 0] + b[g, 1] * x + sigma * rng.standard_normal(len(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LMM.from_formula("y ~ x + (x | g)", pd.DataFrame({"y": y, "x": x, "g": g}))
        new = pd.DataFrame({"g": np.arange(n_groups), "x": rng.uniform(-1, 1, n_groups)})
        mean = beta[0] + beta[1] * new.x + b[:, 0] + b[:, 1] * new.x
        obs = mean + sigma * rng.standard_normal(n_groups)
        pred = model.predict_with_intervals(new, level=0.9, type="prediction")
        conf = model.predict_with_intervals(new, level=0.9)
        hits["prediction"] += list((pred.lower < obs) & (obs < pred.upper))
        hits["confidence"] += list((conf.lower < mean) & (mean < conf.upper))
        # ignoring the uncertainty of the conditional modes under-covers
        hits["naive_prediction"] += list(np.abs(obs - pred.fit) < norm.ppf(0.95) * model.sigma)
        fixed_only = model.predict_with_intervals(new, level=0.9, with_ran_ef=False)
        fixed_half = fixed_only.upper - fixed_only.fit
        hits["naive_confidence"] += list(np.abs(mean - conf.fit) < fixed_half)
    coverage = {k: float(np.mean(v)) for k, v in hits.items()}
    assert 0.86 < coverage["prediction"] < 0.93, coverage
    assert 0.85 < coverage["confidence"] < 0.93, coverage
    assert coverage["naive_prediction"] < coverage["prediction"] - 0.03, coverage
    assert coverage["naive_confidence"] < 0.75, coverage


# --- conditional covariance per level ----------------------------------------------------

@pytest.mark.parametrize("model_id", PREDICTED)
def test_conditional_covariance_blocks_match_lme4(fitted, model_id):
    table = fitted(model_id).cond_cov_ran_ef()
    for block in _se_reference(model_id)["condvar"]:
        values = np.array(block["values"], dtype=float).reshape(block["dim"][::-1])
        got = table[table.group == block["group"]]
        levels = reference.as_list(block["levels"])
        assert list(dict.fromkeys(got.level)) == levels
        scale = np.abs(values).max()
        np.testing.assert_allclose(got["cov"].to_numpy().reshape(values.shape), values,
                                   rtol=0, atol=1e-4 * scale)


def test_conditional_covariance_table_layout(sleep):
    table = sleep.cond_cov_ran_ef("Subject")
    assert list(table.columns) == ["group", "level", "var1", "var2", "cov"]
    block = table[table.level == "308"].pivot(index="var1", columns="var2", values="cov")
    whole = sleep.cond_cov_mat_ran_ef()
    names = ["intercept_308", "Days_308"]
    np.testing.assert_allclose(block.loc[["intercept", "Days"], ["intercept", "Days"]],
                               whole.loc[names, names], rtol=1e-9)
    sds = sleep.ran_ef_table()
    diag = table[table.var1 == table.var2]
    np.testing.assert_allclose(np.sqrt(diag["cov"].to_numpy()), sds["cond_sd"], rtol=1e-9)
    with pytest.raises(NotFoundError, match="'Days'.*Subject"):
        sleep.cond_cov_ran_ef("Days")


def test_raw_matrix_models_have_no_levels(sleep):
    md = sleep.model_data
    lam = sleep.record.problem.factor.lambdas(sleep.theta)[0]
    raw = LMM(x=md.x, y=md.y, zt=md.zt, lambdat=lambda th: np.kron(np.eye(18), lam.T) * th[0],
              start_point=[1.0], lower_bound=[0.0])
    with pytest.raises(ModelError, match="raw matrices"):
        raw.cond_cov_ran_ef()
    with pytest.raises(ModelError, match="raw matrices"):
        raw.predict(pd.DataFrame({"Days": [1.0]}))
