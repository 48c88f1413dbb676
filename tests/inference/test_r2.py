"""Nakagawa's R² and the ICC against R's performance (tests/data/reference_ecosystem)."""

from __future__ import annotations

import warnings

import pytest
from ecosystem_reference import MODELS, fit, reference

from mixed_models.errors import SingularFitWarning
from mixed_models.inference.r2 import icc, r2, variance_components

TOL = 1e-6


def _expected(name: str) -> tuple[dict, dict]:
    ref = reference(name)
    if ref["r2"]["conditional"] is None:  # singular: performance's values with tolerance 0
        t0 = ref["tolerance_0"]
        return ({"marginal": t0["r2_marginal"], "conditional": t0["r2_conditional"]},
                {"adjusted": t0["icc_adjusted"], "unadjusted": t0["icc_unadjusted"]})
    return ({k: ref["r2"][k] for k in ("marginal", "conditional")},
            {k: ref["icc"][k] for k in ("adjusted", "unadjusted")})


@pytest.mark.parametrize("name", MODELS)
def test_r2_and_icc_match_performance(name: str) -> None:
    want_r2, want_icc = _expected(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        got_r2, got_icc = fit(name).r2(), fit(name).icc()
    assert got_r2 == pytest.approx(want_r2, abs=TOL)
    assert got_icc == pytest.approx(want_icc, abs=TOL)


@pytest.mark.parametrize("name", MODELS)
def test_variance_components_match_insight(name: str) -> None:
    want = reference(name)["variance_components"]
    got = variance_components(fit(name))
    scale = want["var.fixed"] + want.get("var.random", 0) + want["var.residual"]
    assert got["fixed"] == pytest.approx(want["var.fixed"], abs=TOL * scale)
    assert got["random"] == pytest.approx(want.get("var.random", 0.0), abs=TOL * scale)
    assert got["residual"] == pytest.approx(want["var.residual"], abs=TOL * scale)


def test_singular_fit_warns() -> None:
    with pytest.warns(SingularFitWarning):
        r2(fit("cat_x_cat_reml"))
    with pytest.warns(SingularFitWarning):
        icc(fit("cat_x_cat_reml"))


def test_a_raw_matrix_model_is_refused() -> None:
    import numpy as np

    from mixed_models import LMM
    from mixed_models.errors import ModelError

    rng = np.random.default_rng(1)
    x, zt = np.ones((30, 1)), np.kron(np.eye(3), np.ones((1, 10)))
    y = rng.normal(size=30) + zt.T @ rng.normal(size=3)
    model = LMM(x=x, y=y, zt=zt, lambdat=lambda th: th[0] * np.eye(3), start_point=[1.0],
                lower_bound=[0.0])
    with pytest.raises(ModelError):
        model.r2()
