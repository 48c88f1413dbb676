"""cs() and ar1() fits against glmmTMB (and homogeneous cs/diag against nlme).

Reference values: tests/data/reference_structured (see its PROVENANCE.md). Objective,
fixed effects, sigma, the random effects' SDs and the correlation parameter must agree
within 1e-4 relative.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM
from mixed_models.control import Control

BASE = Path(__file__).parent.parent / "data" / "reference_structured"
SPECS = pd.read_csv(BASE / "models.csv")
RTOL = 1e-4


def reference(model_id: str) -> dict:
    return json.loads((BASE / "fits" / f"{model_id}.json").read_text())


@pytest.fixture(scope="module")
def fits() -> dict[str, LMM]:
    out = {}
    # Several of these designs have one observation per random effect (Orthodont); the
    # structure keeps them identifiable, so lme4's nobs-vs-nRE check is switched off.
    control = Control(check_nobs_vs_nre="ignore", check_singular="ignore")
    for spec in SPECS.itertuples():
        data = pd.read_csv(BASE / "data" / f"{spec.dataset}.csv")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out[spec.id] = LMM.from_formula(spec.py_formula, data, reml=bool(spec.REML),
                                            control=control)
    return out


def test_the_reference_set_covers_two_data_sets_per_structure():
    kinds = SPECS.assign(kind=SPECS["py_formula"].str.extract(r"(cs|ar1)\(")[0])
    for kind in ("cs", "ar1"):
        rows = kinds[(kinds["kind"] == kind) & (kinds["engine"] == "glmmTMB")]
        assert rows["dataset"].nunique() >= 2, kind


@pytest.mark.parametrize("model_id", list(SPECS["id"]))
def test_structured_fit_agrees_with_the_reference(fits, model_id):
    model, ref = fits[model_id], reference(model_id)
    assert ref["converged"]
    assert model.reml == ref["REML"]
    assert model.deviance == pytest.approx(ref["objective"], rel=RTOL)
    # the optimum we find is never worse than the reference's
    assert model.deviance <= ref["objective"] + 1e-6
    np.testing.assert_allclose(list(model.fix_ef.values()), list(ref["beta"].values()),
                               rtol=RTOL, atol=RTOL * np.abs(list(ref["beta"].values())).max())
    assert model.sigma == pytest.approx(ref["sigma"], rel=RTOL)
    cov = model.sigma_mat.to_numpy()
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(sd, ref["sd"], rtol=RTOL)
    corr = cov / np.outer(sd, sd)
    np.testing.assert_allclose(corr, np.array(ref["corr"]), atol=RTOL)
    if not model.singular:
        # At rho = 1 (orthodont_cs_reml) glmmTMB's standard errors come from a Hessian on
        # its logit scale that is not positive definite and differ by up to 12%; ours
        # equal sqrt(diag(sigma^2 (X' V^-1 X)^-1)) computed densely.
        np.testing.assert_allclose(model.fix_ef_summary()["sd"], ref["se"], rtol=1e-3)


@pytest.mark.parametrize(("model_id", "n_theta"), [
    ("machines_cs_reml", 4), ("oats_ar1_reml", 2), ("machines_homcs_reml", 2),
    ("machines_homdiag_ml", 1),
])
def test_natural_parameters_in_theta_and_var_corr(fits, model_id, n_theta):
    model, ref = fits[model_id], reference(model_id)
    theta = model.theta
    assert len(theta) == n_theta == model.n_parameters - len(model.fix_ef) - 1
    sds = np.broadcast_to(theta[:len(ref["sd"])] if n_theta > 2 else theta[0], len(ref["sd"]))
    np.testing.assert_allclose(sds * model.sigma, ref["sd"], rtol=RTOL)
    if n_theta > 1:
        assert theta[-1] == pytest.approx(np.array(ref["corr"])[0, 1], abs=RTOL)
    vc = model.var_corr()
    variances = vc[vc["var2"].isna() & (vc["group"] != "Residual")]
    np.testing.assert_allclose(variances["sdcor"], ref["sd"], rtol=RTOL)
    pairs = vc[vc["var2"].notna()]
    size = len(ref["sd"])
    assert len(pairs) == (size * (size - 1) // 2 if n_theta > 1 else 0)
    for row in pairs.itertuples():
        i, j = list(variances["var1"]).index(row.var1), list(variances["var1"]).index(row.var2)
        assert row.sdcor == pytest.approx(np.array(ref["corr"])[i, j], abs=RTOL)


def test_boundary_correlation_is_a_singular_fit(fits):
    assert fits["orthodont_cs_reml"].singular  # rho = 1
    assert not fits["machines_cs_reml"].singular


def test_newuoa_gives_way_to_bobyqa_for_correlation_bounds():
    data = pd.read_csv(BASE / "data" / "machines.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula("score ~ Machine + ar1(0 + Machine | Worker)", data,
                                 reml=False, control=Control(optimizer="newuoa"))
    result = model.optimization_result
    assert result.optimizer == "bobyqa" and any("newuoa" in m for m in result.messages)
    assert model.deviance == pytest.approx(reference("machines_ar1_ml")["objective"], rel=RTOL)


@pytest.mark.parametrize("reml", [True, False])
def test_homogeneous_structures_equal_the_nested_formula(reml):
    """pastes: (1 | batch/cask) is cs(0 + cask | batch, hom = TRUE) with rho >= 0 (batch
    variance = rho s^2), and (1 | batch:cask) is diag(0 + cask | batch, hom = TRUE)."""
    from mixed_models import datasets

    pastes = datasets.load("pastes")
    nested = LMM.from_formula("strength ~ 1 + (1 | batch/cask)", pastes, reml=reml)
    cs = LMM.from_formula("strength ~ 1 + cs(0 + cask | batch, hom = TRUE)", pastes, reml=reml)
    assert cs.deviance == pytest.approx(nested.deviance, abs=1e-6)
    vc, ref = cs.var_corr(), nested.var_corr().set_index("group")["vcov"]
    assert vc.iloc[0]["vcov"] == pytest.approx(ref["batch"] + ref["cask:batch"], rel=1e-5)
    assert vc.iloc[3]["vcov"] == pytest.approx(ref["batch"], rel=1e-4)
    inner = LMM.from_formula("strength ~ 1 + (1 | batch:cask)", pastes, reml=reml)
    diag = LMM.from_formula("strength ~ 1 + diag(0 + cask | batch, hom = TRUE)", pastes,
                            reml=reml)
    assert diag.deviance == pytest.approx(inner.deviance, abs=1e-6)
    assert diag.theta[0] == pytest.approx(inner.theta[0], rel=1e-5)
