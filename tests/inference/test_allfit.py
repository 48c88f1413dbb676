"""all_fit() against lme4's allFit (tests/data/reference_ecosystem/allfit.json), loosely:
our optimizers are not lme4's, so every one must reach lme4's best optimum."""

from __future__ import annotations

import numpy as np
import pytest
from ecosystem_reference import fit, reference

from mixed_models.inference.allfit import OPTIMIZERS

SDCOR = {"sleep_reml": {"Subject.(Intercept)": "sd_intercept|Subject",
                        "Subject.Days.(Intercept)": "cor_intercept.Days|Subject",
                        "Subject.Days": "sd_Days|Subject", "sigma": "sigma"},
         "alien_reml": {"Location.(Intercept)": "sd_intercept|Location",
                        "Location.Age.(Intercept)": "cor_intercept.Age|Location",
                        "Location.Age": "sd_Age|Location", "sigma": "sigma"}}


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
    for r_name, value in zip(want["sdcor"]["names"], want["sdcor"]["values"][row]):
        np.testing.assert_allclose(got[SDCOR[name][r_name]].to_numpy(dtype=float), value,
                                   rtol=1e-4, atol=1e-6, err_msg=r_name)
