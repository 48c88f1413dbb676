"""Conditional modes and conditional SDs against lme4's ranef(condVar = TRUE)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from glmm_oracle import case, reference_order  # noqa: E402

from mixed_models.core.glm.modes import (  # noqa: E402
    conditional_variances, lme4_sigma, random_effects,
)
from mixed_models.core.glm.pirls import pirls  # noqa: E402


@pytest.mark.parametrize("model_id", ["cbpp_binomial", "grouseticks_poisson", "verbagg_binomial",
                                      "contraception_binomial", "sleepstudy_gamma_log",
                                      "grouseticks_nb"])
def test_modes_and_conditional_sds(model_id):
    c = case(model_id)
    state = pirls(c.problem, c.theta, c.beta)
    modes = random_effects(c.problem, state)
    variances = conditional_variances(c.problem, state)
    scale = lme4_sigma(c.problem, state) if c.problem.family.has_dispersion and \
        c.problem.family.name != "negative.binomial" else 1.0
    for k, ref in enumerate(c.fit["ranef"]):
        order = reference_order(c, k)
        sd = scale * np.sqrt(np.diagonal(variances[k], axis1=1, axis2=2))[order]
        np.testing.assert_allclose(sd, ref["condsd"], rtol=1e-6)
        # modes within 1e-3 of their conditional SD (the reference's own PIRLS precision)
        assert np.max(np.abs(modes[k][order] - ref["values"]) / sd) < 1e-3


def test_lme4_sigma_of_the_gamma_fit():
    c = case("sleepstudy_gamma_log")
    state = pirls(c.problem, c.theta, c.beta)
    assert abs(lme4_sigma(c.problem, state) - c.fit["dispersion"]["value"]) < 1e-9
