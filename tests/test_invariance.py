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
    for (level, term), value in ta.items():
        other = tb[(f"Z{99 - int(level[1:])}", term)]
        np.testing.assert_allclose(other, value, rtol=RTOL, atol=RTOL * np.abs(ta).max())


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
