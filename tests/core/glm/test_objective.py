"""lme4's GLMM objective at lme4's best parameters, for every model of the reference panel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from glmm_oracle import case  # noqa: E402

from mixed_models.core.glm.agq import agq_deviance  # noqa: E402
from mixed_models.core.glm.laplace import laplace_deviance  # noqa: E402
from mixed_models.core.glm.pirls import pirls  # noqa: E402

PANEL = ["cbpp_binomial", "cbpp_binomial_agq9", "cbpp_probit", "cbpp_poisson_offset",
         "grouseticks_poisson", "verbagg_binomial", "contraception_binomial",
         "sleepstudy_gamma_log", "grouseticks_nb"]


@pytest.mark.parametrize("model_id", PANEL)
def test_objective_at_the_reference_parameters(model_id):
    c = case(model_id)
    state = pirls(c.problem, c.theta, c.beta)
    dev = c.fit["devcomp"]
    if c.n_agq > 1:
        relative, full = agq_deviance(c.problem, state, c.n_agq)
        assert abs(relative - c.fit["objective"]) < 1e-6
        assert abs(full - c.fit["objective_full"]) < 1e-6
    else:
        assert abs(laplace_deviance(c.problem, state) - c.fit["objective"]) < 1e-6
    assert abs(state.factor.logdet() - dev["ldL2"]) < 1e-6
    assert abs(state.u_sq - dev["ussq"]) < 1e-6
    assert abs(state.deviance - dev["drsum"]) < 1e-6


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "cbpp_poisson_offset", "grouseticks_nb"])
def test_one_node_quadrature_is_the_laplace_objective(model_id):
    c = case(model_id)
    state = pirls(c.problem, c.theta, c.beta)
    relative, full = agq_deviance(c.problem, state, 1)
    assert abs(full - laplace_deviance(c.problem, state)) < 1e-9
    assert abs(full - relative - c.problem.saturated) < 1e-9


def test_quadrature_approaches_the_integral_with_more_nodes():
    c = case("cbpp_binomial_agq9")
    state = pirls(c.problem, c.theta, c.beta)
    values = [agq_deviance(c.problem, state, k)[1] for k in (9, 15, 25)]
    # the README: 9 nodes are within 6e-6 of the exact integral on cbpp
    assert max(values) - min(values) < 1e-5
    assert abs(values[0] - laplace_deviance(c.problem, state)) > 0.05


def test_the_mode_is_warm_startable():
    c = case("verbagg_binomial")
    cold = pirls(c.problem, c.theta, c.beta)
    warm = pirls(c.problem, c.theta * 1.01, c.beta, cold.u_lead, cold.u_rest)
    again = pirls(c.problem, c.theta * 1.01, c.beta)
    assert warm.iterations < again.iterations
    assert abs(laplace_deviance(c.problem, warm) - laplace_deviance(c.problem, again)) < 1e-8
