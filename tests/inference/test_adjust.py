"""Every multiplicity adjustment of emmeans' contrasts against R (tests/data/reference_adjust):
p-values and confidence limits of tukey, scheffe, sidak, bonferroni, dunnettx, holm,
hochberg, hommel, bh, by and none within 1e-6; mvt within its Monte-Carlo error."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from ecosystem_reference import df_rtol, fit
from scipy import stats

from mixed_models.errors import InvalidArgumentError
from mixed_models.inference.adjust import ADJUSTMENTS, adjusted_p
from mixed_models.inference.adjust_mvt import MaxAbsT, emmeans_df, mvt_p
from mixed_models.inference.emmeans import contrasts

FILE = Path(__file__).parents[1] / "data" / "reference_adjust" / "adjustments.json"
P_ATOL = 1e-6
# mvt: the integration here is within about 1e-5 of the exact value (tests below), a fine
# mvtnorm integration (abseps 1e-6) about 1e-6; emmeans' default integration 1e-3.
MVT_P_ATOL = 3e-5
MVT_CRIT_RTOL = 1e-4
EMMEANS_MVT_ATOL = 3e-3


@cache
def oracle() -> dict:
    with open(FILE) as handle:
        return json.load(handle)


def _ours(name: str, adjust: str):
    block = oracle()["blocks"][name]
    specs = block["spec"] if isinstance(block["spec"], str) else list(block["spec"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tukey on trt.vs.ctrl becomes sidak, as in R
        return contrasts(fit(block["model"]), specs, method=block["method"],
                         adjust=adjust.lower(), by=block["by"], level=block["level"])


EXACT = [(name, adjust) for name in oracle()["blocks"]
         for adjust in oracle()["blocks"][name]["adjusted"] if adjust != "mvt"]


@pytest.mark.parametrize("name, adjust", EXACT)
def test_adjustments_match_emmeans(name: str, adjust: str) -> None:
    block = oracle()["blocks"][name]
    want = block["adjusted"][adjust]
    got = _ours(name, adjust)
    rtol = df_rtol(block["model"])
    assert list(got["contrast"]) == block["contrast"]
    np.testing.assert_allclose(got["t_value"], block["t_ratio"], rtol=max(1e-6, rtol / 100))
    np.testing.assert_allclose(got["p_value"], want["p_value"], rtol=rtol, atol=P_ATOL,
                               err_msg=f"{name} {adjust} p")
    # emmeans solves the dunnettx critical value to 5e-4 only
    slack = 1e-3 if adjust == "dunnettx" else 1e-9
    for ours, theirs in (("lower", "lower"), ("upper", "upper")):
        np.testing.assert_allclose(got[ours], want[theirs], rtol=rtol,
                                   atol=slack * got["se"].max(), err_msg=f"{name} {adjust} {ours}")


MVT = list(oracle()["blocks"])


@pytest.mark.parametrize("name", MVT)
def test_mvt_matches_a_fine_integration_in_r(name: str) -> None:
    block = oracle()["blocks"][name]
    precise = block["mvt_precise"]
    got = _ours(name, "mvt")
    np.testing.assert_allclose(got["p_value"], precise["p_value"], atol=MVT_P_ATOL)
    np.testing.assert_allclose(got["p_value"], block["adjusted"]["mvt"]["p_value"],
                               atol=EMMEANS_MVT_ATOL)
    critical = ((got["upper"] - got["estimate"]) / got["se"]).to_numpy()
    np.testing.assert_allclose(critical, precise["critical_value"], rtol=MVT_CRIT_RTOL)
    assert [emmeans_df(d) for d in got["df"]] == pytest.approx(precise["df_used"])


def _pairwise_correlation(k: int) -> np.ndarray:
    eye = np.eye(k)
    pairs = np.array([eye[i] - eye[j] for i in range(k) for j in range(i + 1, k)])
    cov = pairs @ pairs.T
    return cov / 2.0


@pytest.mark.parametrize("k, df, t", [(3, 4.0, 2.2), (4, 2.0, 3.0), (5, 17.0, 3.1),
                                      (6, np.inf, 2.9), (4, 9.0, 6.0)])
def test_mvt_of_independent_equal_means_is_tukey(k: int, df: float, t: float) -> None:
    """Pairwise differences of independent means with equal SEs: the largest |t| is the
    studentized range / sqrt(2), an exact check of the integration."""
    dist = MaxAbsT(_pairwise_correlation(k), df)
    exact_df = df if np.isfinite(df) else 1e7
    exact = stats.studentized_range.sf(np.sqrt(2.0) * t, k, exact_df)
    assert dist.standard_error(t) < 2e-5
    assert 1.0 - dist.cdf(t) == pytest.approx(exact, abs=MVT_P_ATOL)
    quantile = stats.studentized_range.ppf(0.95, k, exact_df) / np.sqrt(2.0)
    assert dist.quantile(0.95) == pytest.approx(quantile, rel=MVT_CRIT_RTOL)


def test_mvt_is_reproducible() -> None:
    corr = _pairwise_correlation(4)
    assert MaxAbsT(corr, 5.0).cdf(2.5) == MaxAbsT(corr, 5.0).cdf(2.5)


@pytest.mark.parametrize("adjust", [a for a in ADJUSTMENTS if a not in ("scheffe",)])
def test_a_single_contrast_is_not_adjusted(adjust: str) -> None:
    p = adjusted_p(np.array([2.1]), np.array([7.0]), adjust, 2, np.ones((1, 1)), 1)
    assert p[0] == pytest.approx(2 * stats.t.sf(2.1, 7.0), rel=1e-12)


def test_fdr_names_its_method() -> None:
    with pytest.raises(InvalidArgumentError, match="'bh'"):
        contrasts(fit("alien_reml"), "Species", adjust="fdr")


def test_mvt_does_not_move_with_the_rounding_of_the_correlation() -> None:
    # pairwise contrasts of 6 balanced means: a rank-5 correlation with a repeated
    # eigenvalue, whose eigenvectors rounding may rotate
    pairs = [(a, b) for a in range(6) for b in range(a + 1, 6)]
    contrast = np.zeros((len(pairs), 6))
    for i, (a, b) in enumerate(pairs):
        contrast[i, a], contrast[i, b] = 1.0, -1.0
    cov = contrast @ contrast.T
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    t = np.linspace(0.5, 3.5, len(pairs))
    df = np.full(len(pairs), 30.0)
    noise = np.random.default_rng(0).normal(scale=1e-12, size=corr.shape)
    moved = mvt_p(t, df, corr + (noise + noise.T) / 2)
    np.testing.assert_allclose(moved, mvt_p(t, df, corr), atol=1e-10)
    tukey = stats.studentized_range.sf(t * np.sqrt(2), 6, 30.0)
    np.testing.assert_allclose(moved, tukey, atol=2e-4)  # the same family, exactly
