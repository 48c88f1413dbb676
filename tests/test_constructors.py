"""LMM.from_frame (the gem's from_daru) and the raw-matrix constructor LMM(x=, y=, zt=...).

The from_frame cases are the from_daru examples of the gem's spec files
(agisga/mixed_models, spec/LMM_*_spec.rb), each next to the formula the spec fits it
against; the figures in FIGURES are lme4's, as the spec quotes them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mixed_models import LMM, datasets
from mixed_models.formula.frame import frame_formula
from mixed_models.errors import DataError, DataTypeError, ModelError

I, NI = "intercept", "no_intercept"

# id -> data set, from_frame arguments, the spec's formula, REML
FROM_DARU = {
    "alien_reml": ("alien_species", ("Aggression", [I, "Age", "Species"], [[I, "Age"]],
                                     ["Location"]),
                   "Aggression ~ Age + Species + (Age | Location)", True),
    "alien_ml": ("alien_species", ("Aggression", [I, "Age", "Species"], [[I, "Age"]],
                                   ["Location"]),
                 "Aggression ~ Age + Species + (Age | Location)", False),
    "crossed_ml": ("crossed_effects_data", ("y", [I, "x"], [[I, "x"], [I, "x"]], ["g", "h"]),
                   "y ~ x + (x|g) + (x|h)", False),
    "nested": ("nested_effects_data", ("y", [I], [[I]], [("a", "b")]), "y ~ 1 + (1 | a:b)",
               True),
    "crossed_nested": ("crossed_and_nested_effects_data",
                       ("y", [I], [[I], [I]], ["a", ("a", "b")]), "y ~ 1 + (1|a) + (1 | a:b)",
                       True),
    "nested_slope": ("nested_effects_with_slope_data",
                     ("y", [I, "x"], [[I], [I, "x"]], ["a", ("a", "b")]),
                     "y ~ x + (1|a) + (x | a:b)", True),
    "num_x_num": ("numeric_x_numeric_interaction",
                  ("y", [I, "a", "b", ("a", "b")], [[NI, ("a", "b")]], ["gr"]),
                  "y ~ a + b + a:b + (0 + a:b | gr)", True),
    "num_x_cat": ("numeric_x_categorical_interaction",
                  ("y", [I, "num", "cat", ("num", "cat")], [[NI, ("num", "cat")]], ["gr"]),
                  "y ~ num + cat + num:cat + (0 + num:cat | gr)", True),
    "cat_x_num": ("numeric_x_categorical_interaction",
                  ("y", [I, "cat", "num", ("cat", "num")], [[NI, ("cat", "num")]], ["gr"]),
                  "y ~ cat + num + cat:num + (0 + cat:num | gr)", True),
    "cat_x_cat": ("categorical_x_categorical_interaction",
                  ("y", [I, "f1", "f2", ("f1", "f2")], [[NI, ("f1", "f2")]], ["gr"]),
                  "y ~ f1 + f2 + f1:f2 + (0 + f1:f2 | gr)", True),
    "cat_x_cat_random_f1": ("categorical_x_categorical_interaction",
                            ("y", [I, ("f1", "f2")], [[NI, "f1", ("f1", "f2")]], ["gr"]),
                            "y ~ f1:f2 + (0 + f1 + f1:f2 | gr)", True),
    "cat_x_cat_intercept": ("categorical_x_categorical_interaction",
                            ("y", [I, "f2", ("f1", "f2")], [[I]], ["gr"]),
                            "y ~ f2 + f1:f2 + (1 | gr)", True),
    "categorical": ("categorical_data", ("y", [I, "x"], [[I, "x"]], ["g"]), "y ~ x + (x | g)",
                    True),
    "categorical_no_random_intercept": ("categorical_data", ("y", [I, "x"], [[NI, "x"]], ["g"]),
                                        "y ~ x + (0 + x | g)", True),
    "categorical_no_fixed_intercept": ("categorical_data",
                                       ("y", [NI, "x"], [[I, "x"]], ["g"]),
                                       "y ~ 0 + x + (x | g)", True),
}

# id -> (deviance, tolerance, fixed effects, tolerance) quoted by the gem's spec from lme4
FIGURES = {
    "alien_reml": (333.7155, 1e-4, [1016.2867, -0.06532, -499.6937, -899.5693, -199.5890],
                   1e-4),
    "alien_ml": (337.5662, 1e-4, [1016.2864, -0.06531, -499.6937, -899.5688, -199.5889],
                 1e-3),
    "crossed_ml": (150.6, 1e-1, [1.2562, 1.2742], 1e-4),
    "nested": (43.5, 1e-1, [1.045], 1e-3),
    "num_x_num": (312.3, 1e-1, [0.02967, 1.08225, 0.96928, 1.25433], 1e-4),
    "num_x_cat": (286.3773, 1e-2, [2.1121836, 2.5502758, 0.8093798, 2.0581310, -0.8488252,
                                   -0.7940961], 1e-2),
    "categorical": (285.3409, 1e-4, [2.4415, 1.2073, -1.8056], 1e-4),
    "categorical_no_fixed_intercept": (285.3409, 1e-4, [2.4415, 3.6489, 0.6359], 1e-4),
}


def quiet(fit, *args, **kwargs) -> LMM:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[LMM, LMM]]:
    out = {}
    for key, (name, (resp, fixed, random, grouping), formula, reml) in FROM_DARU.items():
        data = datasets.load(name)
        by_frame = quiet(LMM.from_frame, response=resp, fixed_effects=fixed,
                         random_effects=random, grouping=grouping, data=data, reml=reml)
        out[key] = (by_frame, quiet(LMM.from_formula, formula, data, reml=reml))
    return out


@pytest.mark.parametrize("key", list(FROM_DARU))
def test_from_frame_fits_what_the_formula_fits(pairs, key):
    by_frame, by_formula = pairs[key]
    assert by_frame.deviance == pytest.approx(by_formula.deviance, rel=1e-8, abs=1e-8)
    assert by_frame.fix_ef_names == by_formula.fix_ef_names
    np.testing.assert_allclose(list(by_frame.fix_ef.values()),
                               list(by_formula.fix_ef.values()), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(by_frame.theta, by_formula.theta, rtol=1e-8, atol=1e-8)
    assert by_frame.ran_ef_names == by_formula.ran_ef_names
    np.testing.assert_allclose(list(by_frame.ran_ef.values()),
                               list(by_formula.ran_ef.values()), rtol=1e-8, atol=1e-8)
    assert by_frame.sigma == pytest.approx(by_formula.sigma, rel=1e-8)


@pytest.mark.parametrize("key", list(FIGURES))
def test_from_frame_matches_the_gems_lme4_figures(pairs, key):
    deviance, dev_tol, beta, beta_tol = FIGURES[key]
    model = pairs[key][0]
    assert abs(model.deviance - deviance) <= dev_tol
    np.testing.assert_allclose(list(model.fix_ef.values()), beta, atol=beta_tol)


@pytest.mark.parametrize(("args", "formula"), [
    (("y", [I, "x", ("x", "z")], [[I, "x"]], ["g"]), "y ~ 1 + x + x:z + (1 + x | g)"),
    (("Yield", I, I, "Batch"), "Yield ~ 1 + (1 | Batch)"),
    (("y", ["x"], [["x"]], ["g"]), "y ~ 0 + x + (0 + x | g)"),
    (("y", [NI, I, "x"], [[I, NI, "x"]], ["g"]), "y ~ 0 + x + (0 + x | g)"),
    (("y", [NI], [[I]], [("a", "b", "c")]), "y ~ 0 + (1 | a:b:c)"),
    (("my y", [I, "a b", "class"], [[I]], ["g 1"]),
     "`my y` ~ 1 + `a b` + `class` + (1 | `g 1`)"),
])
def test_frame_formula_translates_the_gems_vocabulary(args, formula):
    assert frame_formula(*args) == formula


def test_frame_formula_wraps_structures():
    assert frame_formula("y", [I], [[NI, "f"], [I]], ["g", "h"], ["cs", "us"]) == \
        "y ~ 1 + cs(0 + f | g) + (1 | h)"
    assert frame_formula("y", [I], [[NI, "f"]], ["g"], "ar1") == "y ~ 1 + ar1(0 + f | g)"


@pytest.mark.parametrize(("args", "error", "message"), [
    (("y", [I], [[I], [I]], ["g"]), DataError, "2 term.* but grouping has 1"),
    (("y", [I], [], []), DataError, "random_effects is empty"),
    (("y", [I], [[NI]], ["g"]), DataError, "has no effect"),
    (("y", [I], [(I, "x")], ["g"]), DataError, "cannot be part of one"),
    (("y", [I, 3], [[I]], ["g"]), DataTypeError, "column names"),
    (("y", [I, ("x",)], [[I]], ["g"]), DataError, "two or more columns"),
    (("y", [I, "a`b"], [[I]], ["g"]), DataError, "backtick"),
    (("y", [I], [[I]], ["g"], ["toep"]), DataError, "covariance must be one of"),
])
def test_frame_formula_refuses_bad_specifications(args, error, message):
    with pytest.raises(error, match=message):
        frame_formula(*args)


def test_from_frame_keeps_the_formula_and_options():
    data = datasets.load("dyestuff")
    model = LMM.from_frame(response="Yield", fixed_effects="intercept",
                           random_effects="intercept", grouping="Batch", data=data, reml=False)
    assert model.formula == "Yield ~ 1 + (1 | Batch)" and not model.reml
    # MixedModels.jl's test/pls.jl: dyestuff ML objective
    assert model.deviance == pytest.approx(327.32705988112673, abs=1e-6)


# --- raw matrices: the gem's LMM#initialize spec -------------------------------------

GEM_B = [-1.34291864, 0.37214635, -0.42979766, 0.03111855, 1.98241161, 0.71735038,
         0.40448848, -0.28236437, 0.33479745, -0.11086452]
GEM_EPS = [0.496502397340098, -0.577678887521082, -1.21173791274225, 0.0446417152929314,
           0.339674378865471, 0.104784564191674, -0.0460565196653141, 0.285440902222387,
           0.843345193001128, 1.27994921528088, 0.694924670755951, 0.577415255292851,
           0.370159180245536, 0.35881413147769, -1.69691116206306, -0.233385719476208,
           0.480331989945522, -1.09503905124389, -0.610978188869429, 0.984812801235286,
           0.282422385731771, 0.763463942012845, -1.03154373185159, -0.374926162762322,
           -0.650793255606928, 0.793247584007507, -1.30007701703736, -2.522510645489,
           0.0246284050971783, -1.73792367490139, 0.0267032433302985, 1.09659910679367,
           0.747140189824456, -0.527345699932755, 1.24561748663327, 0.20905974976202,
           0.00753104790432846, -0.0866226204494824, -1.61282076369275, -1.25760486584371,
           -0.885299440717284, 1.07254194203703, 0.101861345622785, -1.86859557570558,
           -0.0660433241114955, 0.684044990424631, 0.266888559603417, 0.763767965816189,
           0.427908801177724, -0.146381705894295]


def gem_matrices():
    """X = [1, 1..50], five groups of ten, Z = the row-wise Kronecker product of the
    group indicators and X, y = X (1, 1) + Z b + eps, as the gem's spec builds them."""
    x = np.column_stack([np.ones(50), np.arange(1.0, 51.0)])
    group = np.repeat(np.arange(5), 10)
    indicators = np.eye(5)[group]
    z = (indicators[:, :, None] * x[:, None, :]).reshape(50, 10)
    y = x @ [1.0, 1.0] + z @ GEM_B + np.array(GEM_EPS)
    return x, y, z, group


def per_level_lambdat(levels: int):
    return lambda th: sp.kron(sp.identity(levels), np.array([[th[0], th[1]], [0.0, th[2]]]))


@pytest.fixture(scope="module")
def gem_raw() -> LMM:
    x, y, z, _ = gem_matrices()
    return LMM(x=x, y=y, zt=z.T, lambdat=per_level_lambdat(5), start_point=[1, 0, 1],
               lower_bound=[0, -np.inf, 0])


def test_raw_constructor_reproduces_the_gems_lme4_figures(gem_raw):
    assert gem_raw.deviance == pytest.approx(162.90, abs=1e-2)
    np.testing.assert_allclose(list(gem_raw.fix_ef.values()), [2.7998, 1.1004], atol=1e-3)
    np.testing.assert_allclose(list(gem_raw.ran_ef.values()),
                               [-3.644820, 0.3937428, -1.120587, -0.1415112, 3.558049,
                                0.4611666, 3.490354, -0.5211430, -2.282996, -0.1922552],
                               atol=1e-3)
    assert gem_raw.sigma == pytest.approx(0.8247, abs=1e-3)
    sd = np.sqrt(np.diag(gem_raw.sigma_mat.to_numpy()))[:2]
    np.testing.assert_allclose(sd, [3.9259, 0.4244], atol=1e-3)
    assert gem_raw.sigma_mat.iloc[0, 1] / sd.prod() == pytest.approx(-0.23, abs=5e-3)


def test_raw_constructor_names_like_the_gem(gem_raw):
    assert gem_raw.fix_ef_names == ["x0", "x1"]
    assert gem_raw.ran_ef_names == [f"z{i}" for i in range(10)]
    assert gem_raw.formula is None and gem_raw.n_groups == {}
    assert list(gem_raw.sigma_mat.index) == gem_raw.ran_ef_names


def test_raw_fit_equals_the_formula_fit_of_the_same_model(gem_raw):
    x, y, _, group = gem_matrices()
    data = pd.DataFrame({"y": y, "x": x[:, 1], "grp": group})
    formula = LMM.from_formula("y ~ x + (x | grp)", data)
    assert_same_fit(gem_raw, formula)


def assert_same_fit(raw: LMM, formula: LMM) -> None:
    """Agreement to 1e-6 (theta to 1e-5: the optimizer stops within that of the optimum)."""
    assert raw.deviance == pytest.approx(formula.deviance, abs=1e-6)
    np.testing.assert_allclose(list(raw.fix_ef.values()), list(formula.fix_ef.values()),
                               rtol=1e-6)
    assert raw.sigma == pytest.approx(formula.sigma, rel=1e-6)
    np.testing.assert_allclose(raw.theta, formula.theta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(list(raw.ran_ef.values()), list(formula.ran_ef.values()),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(raw.fix_ef_cov_mat.to_numpy(), formula.fix_ef_cov_mat.to_numpy(),
                               rtol=1e-5)


@pytest.fixture(scope="module")
def sleepstudy_pair() -> tuple[LMM, LMM]:
    formula = LMM.from_formula("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    md = formula.model_data
    raw = LMM(x=md.x, y=md.y, zt=md.zt, lambdat=per_level_lambdat(18), start_point=[1, 0, 1],
              lower_bound=[0, -np.inf, 0], x_col_names=formula.fix_ef_names,
              z_col_names=formula.ran_ef_names)
    return raw, formula


def test_raw_sleepstudy_equals_the_formula_fit(sleepstudy_pair):
    raw, formula = sleepstudy_pair
    assert_same_fit(raw, formula)
    assert raw.ran_ef_names == formula.ran_ef_names


def test_raw_model_tables(sleepstudy_pair):
    raw, formula = sleepstudy_pair
    vc = raw.var_corr()
    assert list(vc.columns) == ["group", "var1", "var2", "vcov", "sdcor"]
    assert len(vc) == 37 and vc["var2"].isna().all()
    first = formula.var_corr().iloc[0]
    assert vc.iloc[0]["vcov"] == pytest.approx(first["vcov"], rel=1e-5)
    table = raw.ran_ef_table()
    np.testing.assert_allclose(table["cond_sd"], formula.ran_ef_table()["cond_sd"], rtol=1e-5)
    np.testing.assert_allclose(raw.cond_cov_mat_ran_ef().to_numpy(),
                               formula.cond_cov_mat_ran_ef().to_numpy(), rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(raw.fitted(), formula.fitted(), rtol=1e-7)
    md = raw.model_data
    assert md.lambdat.shape == (36, 36) and md.zt.shape == (36, 180)
    assert raw.dev_fun(raw.theta) == pytest.approx(raw.deviance, abs=1e-9)
    assert not raw.singular


def test_raw_fixed_sigma_and_weights_match_the_formula_path():
    data = datasets.load("sleepstudy")
    w = 1.0 + (np.arange(180) % 3)
    formula = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, weights=w,
                               sigma=20.0, reml=False)
    md = formula.model_data
    raw = LMM(x=md.x, y=md.y, zt=md.zt, lambdat=per_level_lambdat(18), start_point=[1, 0, 1],
              lower_bound=[0, -np.inf, 0], weights=w, sigma=20.0, reml=False)
    assert raw.sigma == formula.sigma == 20.0
    assert raw.n_parameters == formula.n_parameters == 5
    assert raw.deviance == pytest.approx(formula.deviance, abs=1e-6)


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"zt": "z"}, DataError, "did you pass Z instead of its transpose"),
    ({"y": np.ones(49)}, DataError, r"y must be a vector of shape \(50,\)"),
    ({"start_point": [1, 0]}, DataError, r"lower_bound must be a vector of shape \(2,\)"),
    ({"start_point": [-1, 0, 1]}, DataError, "outside its bounds"),
    ({"x": "collinear"}, DataError, "rank 2"),
    ({"lambdat": "not callable"}, DataTypeError, "lambdat must be a function"),
    ({"sigma": -1.0}, DataError, "sigma must be a positive number"),
    ({"weights": np.zeros(50)}, DataError, "weights must be positive"),
    ({"x_col_names": ["a"]}, DataError, "x_col_names must be 2 distinct names"),
    ({"lambdat": lambda th: np.eye(3)}, DataError, "must return a k x q matrix"),
    ({"start_point": [0, 0, 0]}, ModelError, "not finite at start_point"),
])
def test_raw_constructor_refuses_bad_input(change, error, message):
    x, y, z, _ = gem_matrices()
    args = dict(x=x, y=y, zt=z.T, lambdat=per_level_lambdat(5), start_point=[1, 0, 1],
                lower_bound=[0, -np.inf, 0])
    if change.get("zt") == "z":
        change = {"zt": z}
    if change.get("x") == "collinear":
        change = {"x": np.column_stack([x, 2 * x[:, 1]])}
    if change.get("start_point") == [0, 0, 0]:
        change = {"start_point": [0, 0, 0], "x": np.ones((50, 1)),
                  "y": np.ones(50), "lower_bound": None}
    args.update(change)
    with pytest.raises(error, match=message):
        LMM(**args)


def test_lmm_without_arguments_says_what_is_needed():
    with pytest.raises(TypeError, match="required keyword-only"):
        LMM()


# --- fixed sigma ------------------------------------------------------------------------


@pytest.mark.parametrize("reml", [True, False])
def test_sigma_fixed_at_its_estimate_gives_the_same_fit(reml):
    data = datasets.load("sleepstudy")
    free = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, reml=reml)
    held = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, reml=reml,
                            sigma=free.sigma)
    # d(theta | sigma-hat) >= d(theta) with equality at theta-hat, so both optima agree
    assert held.deviance == pytest.approx(free.deviance, abs=1e-6)
    np.testing.assert_allclose(held.theta, free.theta, rtol=1e-4)
    np.testing.assert_allclose(list(held.fix_ef.values()), list(free.fix_ef.values()),
                               rtol=1e-6)
    assert held.n_parameters == free.n_parameters - 1
    assert held.aic == pytest.approx(held.deviance + 2 * 5)


def test_sigma_fixed_elsewhere_is_held_and_scales_the_covariances():
    data = datasets.load("sleepstudy")
    free = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)
    held = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data, sigma=40.0)
    assert held.sigma == 40.0 and held.sigma2 == 1600.0
    assert held.deviance > free.deviance
    np.testing.assert_allclose(held.fix_ef_cov_mat.to_numpy(),
                               1600.0 * held.record.estimates.beta_cov_unscaled)
    vc = held.var_corr()
    assert vc.iloc[-1]["sdcor"] == 40.0
    # the held-sigma optimum beats the free fit's theta on the held-sigma objective
    assert held.dev_fun(free.theta) > held.deviance


@pytest.mark.parametrize("sigma", [0.0, -1.0, np.inf, np.nan])
def test_sigma_must_be_positive(sigma):
    with pytest.raises(DataError, match="sigma must be a positive number"):
        LMM.from_formula("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"), sigma=sigma)


@pytest.mark.parametrize("call", [
    lambda m: m.anova(),
    lambda m: m.fix_ef_p(method="lrt", variable="Days"),
    lambda m: m.profile(),
    lambda m: m.fix_ef_conf_int(method="profile"),
])
def test_raw_models_refuse_term_based_inference_with_a_model_error(sleepstudy_pair, call):
    raw, _ = sleepstudy_pair
    with pytest.raises(ModelError, match="built from raw matrices has none"):
        call(raw)


def test_raw_models_have_satterthwaite_but_not_kenward_roger(sleepstudy_pair):
    raw, formula = sleepstudy_pair
    np.testing.assert_allclose(raw.fix_ef_summary(ddf="satterthwaite")["df"],
                               formula.fix_ef_summary(ddf="satterthwaite")["df"], rtol=1e-4)
    with pytest.raises(ModelError, match="not available for a model built from raw"):
        raw.fix_ef_summary(ddf="kenward-roger")
