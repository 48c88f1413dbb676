"""all_fit() against lme4's allFit (tests/data/reference_ecosystem/allfit.json), loosely:
our optimizers are not lme4's, so every one must reach lme4's best optimum."""

from __future__ import annotations

import numpy as np
import pytest
from ecosystem_reference import fit, reference

from mixed_models.inference.allfit import OPTIMIZERS

# allFit's sdcor values come as SD, SD, correlation, sigma (its column names do not say
# so: "Subject.Days.(Intercept)" holds the slope's SD).
SDCOR = {"sleep_reml": ["sd_intercept|Subject", "sd_Days|Subject",
                        "cor_intercept.Days|Subject", "sigma"],
         "alien_reml": ["sd_intercept|Location", "sd_Age|Location",
                        "cor_intercept.Age|Location", "sigma"]}


@pytest.fixture(scope="module", params=["sleep_reml", "alien_reml"])
def case(request):
    return request.param, fit(request.param).all_fit(), reference("allfit")[request.param]


def test_every_optimizer_reaches_lme4s_best(case) -> None:
    name, got, want = case
    assert got.index.tolist() == list(OPTIMIZERS)
    assert got["ok"].all()
    best = min(want["objective"])
    assert (got["objective"] <= best + 1e-6).all()


def test_estimates_agree_with_lme4s_best(case) -> None:
    name, got, want = case
    row = int(np.argmin(want["objective"]))
    model = fit(name)
    fixed = np.array(want["fixef"]["values"][row])
    np.testing.assert_allclose(got[model.fix_ef_names].to_numpy(dtype=float),
                               np.tile(fixed, (len(got), 1)), rtol=1e-4)
    for ours, value in zip(SDCOR[name], want["sdcor"]["values"][row]):
        np.testing.assert_allclose(got[ours].to_numpy(dtype=float), value,
                                   rtol=1e-4, atol=1e-5, err_msg=ours)  # a flat correlation
