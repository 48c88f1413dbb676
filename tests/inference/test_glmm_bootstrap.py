"""The parametric bootstrap of a GLMM: reproducible by seed whatever the processes, its
replicates' spread matching the Wald standard errors, its intervals of every type."""

from __future__ import annotations

import numpy as np
import pytest
from glmm_panel import panel_fit

NSIM = 200


@pytest.fixture(scope="module")
def cbpp():
    return panel_fit("cbpp_binomial")


@pytest.fixture(scope="module")
def replicates(cbpp):
    return cbpp.bootstrap(NSIM, seed=2024, n_jobs=1)


def test_columns_and_reproducibility(cbpp, replicates):
    assert list(replicates.columns) == [*cbpp.fix_ef, "sd_intercept|herd", "deviance"]
    assert not replicates.attrs["failures"]
    again = cbpp.bootstrap(12, seed=2024, n_jobs=2)
    np.testing.assert_allclose(again.to_numpy(), replicates.iloc[:12].to_numpy(), rtol=1e-10)


def test_replicates_spread_as_the_wald_standard_errors(cbpp, replicates):
    se = cbpp.fix_ef_summary()["sd"].to_numpy()
    boot_sd = replicates[list(cbpp.fix_ef)].std().to_numpy()
    np.testing.assert_allclose(boot_sd, se, rtol=0.2)
    centre = replicates[list(cbpp.fix_ef)].mean().to_numpy()
    assert np.all(np.abs(centre - np.array(list(cbpp.fix_ef.values()))) < 0.5 * se)


def test_intervals_of_every_type(cbpp):
    wald = cbpp.fix_ef_conf_int()
    for boottype in ("percentile", "basic", "normal", "studentized"):
        table = cbpp.fix_ef_conf_int(method="bootstrap", boottype=boottype, nsim=NSIM,
                                     seed=2024)
        beta = np.array(list(cbpp.fix_ef.values()))
        assert np.all((table["lower"] < beta) & (beta < table["upper"]))
        width = (table["upper"] - table["lower"]).to_numpy()
        np.testing.assert_allclose(width, (wald["upper"] - wald["lower"]).to_numpy(), rtol=0.3)
    every = cbpp.conf_int(method="bootstrap", nsim=NSIM, seed=2024)
    assert list(every.index) == ["sd_intercept|herd", *cbpp.fix_ef]  # no sigma: binomial
    assert 0 < every.loc["sd_intercept|herd", "lower"] < cbpp.theta[0] \
        < every.loc["sd_intercept|herd", "upper"]


def test_a_gamma_model_collects_its_scale():
    model = panel_fit("sleepstudy_gamma_log")
    reps = model.bootstrap(4, seed=1, n_jobs=1)
    assert "sigma" in reps.columns and reps["sigma"].notna().all()
    assert np.all(np.abs(reps["sigma"] / model.sigma - 1) < 0.5)
