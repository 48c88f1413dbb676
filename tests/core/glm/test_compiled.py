"""The compiled GLMM objectives (core/glm/compiled.py, numba_glmm*.py) against numpy's:
the same modes, Laplace values and gradients, the same fits, and the models they do not
cover left to numpy."""

from __future__ import annotations

import numpy as np
import pytest

from glmm_panel import fit as panel_fit
from mixed_models.core import kernels
from mixed_models.core.glm import GlmmSettings, fit_glmm, pirls
from mixed_models.core.glm.compiled import ScalarSystem, covered
from mixed_models.core.glm.gradient import laplace_gradient
from mixed_models.core.glm.laplace import laplace_deviance

COVERED = ["cbpp_binomial", "cbpp_poisson_offset", "grouseticks_poisson", "verbagg_binomial"]
NOT_COVERED = ["cbpp_probit", "contraception_binomial", "sleepstudy_gamma_log"]


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("model_id", COVERED)
def test_compiled_modes_values_and_gradients_are_numpys(model_id, joint, compiled_kernels):
    record = panel_fit(model_id).record.problem
    problem, fit = record.core, record.fit
    assert covered(problem)
    system = ScalarSystem(problem)
    for factor, shift in ((1.0, 0.0), (1.3, 0.1), (0.6, -0.2)):
        theta, beta = fit.theta * factor, fit.beta + shift
        state = pirls(problem, theta, beta, joint=joint)
        compiled = system.modes(theta, beta, None, joint)
        value = laplace_deviance(problem, state)
        assert system.value(compiled) == pytest.approx(value, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(compiled.u, state.u(), atol=1e-8)
        np.testing.assert_allclose(compiled.beta, state.beta, atol=1e-8)
        g_theta, g_beta = laplace_gradient(problem, theta, state, joint)
        expected = np.concatenate([g_theta, g_beta])
        np.testing.assert_allclose(system.gradient(theta, compiled, joint), expected,
                                   rtol=1e-7, atol=1e-7 * (1.0 + np.max(np.abs(expected))))


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "grouseticks_poisson"])
def test_compiled_fits_are_numpys(model_id, compiled_kernels):
    record = panel_fit(model_id).record.problem
    assert kernels.use_small_kernels()
    fast = fit_glmm(record.core, 1)
    slow = fit_glmm(record.core, 1, GlmmSettings(compiled=False))
    assert fast.confirmed and slow.confirmed
    assert fast.objective == pytest.approx(slow.objective, abs=1e-8)
    np.testing.assert_allclose(fast.theta, slow.theta, atol=1e-5)
    np.testing.assert_allclose(fast.beta, slow.beta, atol=1e-5)
    np.testing.assert_allclose(fast.check.hessian, slow.check.hessian, rtol=1e-3, atol=1e-6)


def test_the_nagq0_fit_ends_with_numpys_state(compiled_kernels):
    record = panel_fit("cbpp_binomial").record.problem
    assert kernels.use_small_kernels()
    fast = fit_glmm(record.core, 0)
    slow = fit_glmm(record.core, 0, GlmmSettings(compiled=False))
    assert fast.objective == pytest.approx(slow.objective, abs=1e-8)
    assert fast.state.factor.l11 is not None   # numpy's PIRLS state, as the record reads


@pytest.mark.parametrize("model_id", NOT_COVERED)
def test_what_the_kernels_do_not_cover_stays_with_numpy(model_id):
    assert not covered(panel_fit(model_id).record.problem.core)


def test_a_numpy_fit_of_a_covered_model_counts_toward_loading(monkeypatch):
    record = panel_fit("cbpp_binomial").record.problem
    monkeypatch.setattr(kernels, "_numpy_seconds", [0.0])
    fit_glmm(record.core, 1)
    assert kernels._numpy_seconds[0] > 0.0


def _synthetic(family: str) -> object:
    """A slope-only scalar term crossed with an intercept term, prior weights and an
    offset: the arrays the compiled kernels must read like numpy."""
    import pandas as pd
    from mixed_models import GLMM

    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame({"x": rng.standard_normal(n), "g": rng.integers(0, 30, n).astype(str),
                          "h": rng.integers(0, 7, n).astype(str),
                          "trials": rng.integers(1, 6, n).astype(float),
                          "exposure": rng.uniform(0.5, 2.0, n)})
    eta = 0.2 + 0.4 * frame["x"] + 0.3 * rng.standard_normal(n)
    if family == "binomial":
        frame["y"] = rng.binomial(frame["trials"].astype(int), 1 / (1 + np.exp(-eta))) \
            / frame["trials"]
        options = dict(weights="trials")
        formula = "y ~ x + (0 + x | g) + (1 | h)"
    else:
        frame["y"] = rng.poisson(frame["exposure"] * np.exp(eta))
        options = {}
        formula = "y ~ x + offset(log(exposure)) + (0 + x | g) + (1 | h)"
    return GLMM.from_formula(formula, frame, family=family, **options).record.problem


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_compiled_slopes_weights_and_offsets_are_numpys(family, compiled_kernels):
    record = _synthetic(family)
    problem, fit = record.core, record.fit
    assert covered(problem)
    system = ScalarSystem(problem)
    theta, beta = fit.theta * 1.2 + 0.05, fit.beta - 0.1
    for joint in (False, True):
        state = pirls(problem, theta, beta, joint=joint)
        compiled = system.modes(theta, beta, None, joint)
        assert system.value(compiled) == pytest.approx(laplace_deviance(problem, state),
                                                       rel=1e-12, abs=1e-9)
        expected = np.concatenate(laplace_gradient(problem, theta, state, joint))
        np.testing.assert_allclose(system.gradient(theta, compiled, joint), expected,
                                   rtol=1e-7, atol=1e-7 * (1.0 + np.max(np.abs(expected))))


def test_a_term_nested_in_the_lead_term_is_eliminated_first(compiled_kernels):
    import pandas as pd
    from mixed_models import GLMM

    rng = np.random.default_rng(5)
    n = 300
    herd = rng.integers(0, 40, n)
    frame = pd.DataFrame({"x": rng.standard_normal(n), "herd": [f"h{h}" for h in herd],
                          "region": [f"r{h % 6}" for h in herd]})
    frame["y"] = rng.poisson(np.exp(0.3 + 0.5 * frame["x"] + 0.4 * rng.standard_normal(n)))
    record = GLMM.from_formula("y ~ x + (1 | herd) + (1 | region)", frame,
                               family="poisson").record.problem
    problem, fit = record.core, record.fit
    system = ScalarSystem(problem)
    assert system.prefix == 6
    theta, beta = fit.theta + 0.2, fit.beta
    state = pirls(problem, theta, beta)
    compiled = system.modes(theta, beta, None, False)
    assert system.value(compiled) == pytest.approx(laplace_deviance(problem, state), rel=1e-12)
    expected = np.concatenate(laplace_gradient(problem, theta, state))
    np.testing.assert_allclose(system.gradient(theta, compiled, False), expected, rtol=1e-7,
                               atol=1e-7 * (1.0 + np.max(np.abs(expected))))


def test_fits_call_the_kernels_with_the_signature_compile_kernels_caches(compiled_kernels):
    """A second signature would be compiled inside a user's fit (tens of seconds)."""
    from mixed_models.core.glm import numba_glmm, numba_glmm_gradient

    for model_id in COVERED:
        fit_glmm(panel_fit(model_id).record.problem.core, 1)
    kernels_ = (numba_glmm.pirls, numba_glmm_gradient.gradient, numba_glmm.log_determinant)
    assert [len(k.signatures) for k in kernels_] == [1, 1, 1]
