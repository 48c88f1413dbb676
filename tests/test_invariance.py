"""Invariance properties on hypothesis-generated data sets, to 1e-6 relative (issue 5).

Each property compares two fits whose answers are known to be related exactly: rows
permuted, levels relabelled, a constant added to the response, the response scaled, and
(1 | g) + (0 + x | g) against (x || g); integer weights against duplicated rows compare
the penalized least-squares solution at the same theta.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixed_models import LMM
from mixed_models.core.problem import LmmProblem
from mixed_models.design import build_design
from mixed_models.formula import parse_formula

RTOL = 1e-6
FORMULA = "y ~ x + (x | g)"
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def grouped_data(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n_groups = draw(st.integers(6, 14))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    x = rng.normal(size=len(g))
    sd_int, sd_slope, sigma = draw(st.floats(0.5, 3.0)), draw(st.floats(0.3, 2.0)), \
        draw(st.floats(0.2, 1.5))
    u = rng.normal(scale=sd_int, size=n_groups)
    v = rng.normal(scale=sd_slope, size=n_groups)
    y = 1.0 + 0.5 * x + u[g] + v[g] * x + rng.normal(scale=sigma, size=len(g))
    return pd.DataFrame({"y": y, "x": x, "g": [f"L{k:02d}" for k in g]})


def fit(data, formula=FORMULA, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(formula, data, **kwargs)


def sds(model):
    vc = model.var_corr()
    return vc[vc["var2"].isna()]["sdcor"].to_numpy()


def assert_same_fit(a, b, scale=1.0, shift=0.0):
    np.testing.assert_allclose(b.deviance - a.deviance, _deviance_shift(a, scale), rtol=RTOL,
                               atol=RTOL * abs(a.deviance))
    beta_a = np.array(list(a.fix_ef.values()))
    beta_b = np.array(list(b.fix_ef.values()))
    beta_a = beta_a * scale
    beta_a[0] += shift
    np.testing.assert_allclose(beta_b, beta_a, rtol=RTOL, atol=RTOL * np.abs(beta_a).max())
    np.testing.assert_allclose(sds(b), sds(a) * abs(scale), rtol=RTOL,
                               atol=RTOL * sds(a).max() * abs(scale))


def assert_same_theta(a, b):
    # theta is relative to sigma, so 1e-6 of 1 is the floor when every entry is ~0
    np.testing.assert_allclose(b.theta, a.theta, rtol=RTOL,
                               atol=RTOL * max(1.0, np.abs(a.theta).max()))


def _deviance_shift(model, scale):
    # scaling y by c adds (n - p) log c^2 to the REML criterion (n log c^2 for ML)
    nu = model.n_obs - (len(model.fix_ef) if model.reml else 0)
    return nu * np.log(scale**2)


@SETTINGS
@given(grouped_data(), st.integers(0, 1000))
def test_row_order_does_not_matter(data, seed):
    perm = np.random.default_rng(seed).permutation(len(data))
    a, b = fit(data), fit(data.iloc[perm].reset_index(drop=True))
    assert_same_fit(a, b)
    # row i of the shuffled data is row perm[i] of the original
    np.testing.assert_allclose(b.fitted()[np.argsort(perm)], a.fitted(), rtol=RTOL,
                               atol=RTOL * np.abs(a.fitted()).max())


@SETTINGS
@given(grouped_data())
def test_level_labels_do_not_matter(data):
    relabelled = data.assign(g=data["g"].map(lambda s: f"Z{99 - int(s[1:])}"))
    a, b = fit(data), fit(relabelled)
    assert_same_fit(a, b)
    ta = a.ran_ef_table().set_index(["level", "term"])["value"]
    tb = b.ran_ef_table().set_index(["level", "term"])["value"]
    # modes of a variance at zero are rounding-level numbers (1e-52): compare on the
    # response's scale, not only on theirs
    scale = max(float(np.abs(ta).max()), a.sigma)
    for (level, term), value in ta.items():
        other = tb[(f"Z{99 - int(level[1:])}", term)]
        np.testing.assert_allclose(other, value, rtol=RTOL, atol=RTOL * scale)


@SETTINGS
@given(grouped_data(), st.floats(-1e3, 1e3))
def test_adding_a_constant_moves_only_the_intercept(data, shift):
    a, b = fit(data), fit(data.assign(y=data["y"] + shift))
    assert_same_fit(a, b, shift=shift)
    assert_same_theta(a, b)


@SETTINGS
@given(grouped_data(), st.sampled_from([1e-4, 0.01, 7.5, 1e4, -3.0]))
def test_scaling_the_response_scales_sigma_and_sds_not_theta(data, scale):
    a, b = fit(data, reml=False), fit(data.assign(y=data["y"] * scale), reml=False)
    assert_same_fit(a, b, scale=scale)
    np.testing.assert_allclose(b.sigma, a.sigma * abs(scale), rtol=RTOL)
    assert_same_theta(a, b)


@SETTINGS
@given(grouped_data())
def test_separate_bars_equal_double_bar(data):
    a = fit(data, "y ~ x + (1 | g) + (0 + x | g)")
    b = fit(data, "y ~ x + (x || g)")
    assert_same_fit(a, b)
    assert_same_theta(a, b)


@SETTINGS
@given(grouped_data(), st.integers(0, 1000))
def test_integer_weights_equal_duplicated_rows_at_any_theta(data, seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, len(data))
    duplicated = data.loc[data.index.repeat(counts)].reset_index(drop=True)
    theta = np.abs(rng.normal(size=3)) + 0.1
    theta[1] = rng.normal()
    weighted, dup = _problem(data, counts), _problem(duplicated, None)
    ea, eb = weighted.estimates(theta), dup.estimates(theta)
    np.testing.assert_allclose(ea.beta, eb.beta, rtol=RTOL)
    np.testing.assert_allclose(ea.pwrss, eb.pwrss, rtol=RTOL)
    np.testing.assert_allclose(np.concatenate([b.ravel() for b in ea.b]),
                               np.concatenate([b.ravel() for b in eb.b]), rtol=RTOL, atol=1e-9)
    # the log-determinant terms agree too; only n and sum(log w) differ in the objective
    weighted.factor.update(theta)
    dup.factor.update(theta)
    np.testing.assert_allclose(weighted.factor.logdet_random(), dup.factor.logdet_random(),
                               rtol=RTOL)


def _problem(data, weights):
    design = build_design(parse_formula(FORMULA), data, weights=weights)
    return LmmProblem([r.term_data() for r in design.random], design.fixed.matrix, design.y,
                      design.weights, design.offset)


# --- a random-slope covariate moved and rescaled (the model is unchanged) ----------------
#
# x -> c x + a leaves y ~ x + (x | g) the same model: ML deviances are equal, the REML
# criterion moves by 2 log|c| (log|R_X|^2 with a column of X scaled by c), the slope is
# divided by c, the intercept loses slope * a / c, and the random effects' covariance
# becomes A Sigma A' with A = [[1, -a/c], [0, 1/c]].
OBJECTIVE_RTOL = 1e-8
SHIFT_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
_BASE_FITS: dict = {}


def _sleepstudy():
    from mixed_models.datasets import load

    return load("sleepstudy").assign(Days=lambda d: d["Days"].astype(float))


def _base_fit(key, data, formula, reml):
    if (key, reml) not in _BASE_FITS:
        _BASE_FITS[(key, reml)] = fit(data, formula, reml=reml)
    return _BASE_FITS[(key, reml)]


def assert_moved_fit(base, moved, shift, scale):
    expected = base.deviance + (2 * np.log(abs(scale)) if base.reml else 0.0)
    assert moved.deviance == pytest.approx(expected, rel=OBJECTIVE_RTOL)
    assert moved.optimization_result.confirmed
    (b0, b1), (m0, m1) = base.fix_ef.values(), moved.fix_ef.values()
    assert m1 == pytest.approx(b1 / scale, rel=1e-6)
    assert m0 == pytest.approx(b0 - b1 * shift / scale, rel=1e-6, abs=1e-6 * abs(b0))
    se_b, se_m = base.fix_ef_summary()["sd"].to_numpy(), moved.fix_ef_summary()["sd"].to_numpy()
    assert se_m[1] == pytest.approx(se_b[1] / abs(scale), rel=1e-5)
    a = np.array([[1.0, -shift / scale], [0.0, 1.0 / scale]])
    expected_cov = a @ base.sigma_mat.to_numpy() @ a.T
    got = moved.sigma_mat.to_numpy()
    # compared as correlations and relative variances: the entries differ by 1e16 in size
    d = np.sqrt(np.diag(expected_cov))
    np.testing.assert_allclose(np.diag(got) / d**2, 1.0, rtol=2e-5)
    np.testing.assert_allclose(got / np.outer(d, d), expected_cov / np.outer(d, d), atol=2e-5)
    assert moved.singular == base.singular


# (shift, scale, reml): the covariate becomes (x + shift) * scale. Shifting before scaling
# keeps x's digits; x * 1e-8 + 1e4 would store only four significant digits of x (another
# data set, whose slope column the rank check rightly takes for a copy of the intercept).
moves = st.tuples(st.floats(-1e4, 1e4), st.floats(-8, 8).map(lambda e: 10.0**e),
                  st.booleans()).map(lambda m: (m[0] * m[1], m[1], m[2]))


@SHIFT_SETTINGS
@given(moves)
def test_sleepstudy_days_moved_and_rescaled(move):
    shift, scale, reml = move
    data = _sleepstudy()
    formula = "Reaction ~ Days + (Days | Subject)"
    base = _base_fit("sleepstudy", data, formula, reml)
    moved = fit(data.assign(Days=data["Days"] * scale + shift), formula, reml=reml)
    assert_moved_fit(base, moved, shift, scale)


@SHIFT_SETTINGS
@given(grouped_data(), moves)
def test_random_slope_covariate_moved_and_rescaled(data, move):
    shift, scale, reml = move
    base = fit(data, reml=reml)
    moved = fit(data.assign(x=data["x"] * scale + shift), reml=reml)
    assert_moved_fit(base, moved, shift, scale)


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs"])
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("shift, scale", [(1000.0, 1.0), (0.0, 1e-8)])
def test_sleepstudy_days_far_from_zero_or_tiny_reach_the_optimum(shift, scale, reml,
                                                                  optimizer):
    from mixed_models.control import Control

    data = _sleepstudy()
    formula = "Reaction ~ Days + (Days | Subject)"
    base = _base_fit("sleepstudy", data, formula, reml)
    moved = fit(data.assign(Days=data["Days"] * scale + shift), formula, reml=reml,
                control=Control(optimizer=optimizer))
    assert_moved_fit(base, moved, shift, scale)
    assert not moved.singular
