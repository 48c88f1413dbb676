"""Marginal means and their contrasts against R's emmeans (tests/data/reference_ecosystem)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ecosystem_reference import DDFS, MODELS, df_rtol, fit, reference

from mixed_models.errors import InvalidArgumentError, NotFoundError
from mixed_models.inference.emmeans import contrasts, emmeans

P_ATOL = 1e-6


def _request(block: dict) -> dict:
    """emmeans' arguments of one oracle block as keyword arguments."""
    specs = block["spec"]
    args = {"specs": specs if isinstance(specs, str) else list(specs), "by": block["by"]}
    if specs == "Days" and block["by"] is None:
        args["at"] = {"Days": [0, 4.5, 9]}
    return args


MEANS = [(name, key, ddf) for name in MODELS for key in reference(name)["emmeans"]
         for ddf in DDFS]
CONTRASTS = [(name, key, ddf, which) for name, key, ddf in MEANS
             for which in reference(name)["emmeans"][key][ddf]["contrasts"]]


def _close(ours: pd.Series, theirs: list, rtol: float, what: str) -> None:
    """Relative closeness; a value that is zero up to rounding (a contrast of two equal
    cell means of a balanced design) is compared on the scale of its column."""
    theirs = np.asarray(theirs, dtype=float)
    np.testing.assert_allclose(np.asarray(ours, dtype=float), theirs, rtol=rtol,
                               atol=1e-12 * np.max(np.abs(theirs)), err_msg=what)


@pytest.mark.parametrize("name, key, ddf", MEANS)
def test_emmeans_match_r(name: str, key: str, ddf: str) -> None:
    block = reference(name)["emmeans"][key]
    want = block[ddf]["emmeans"]
    got = emmeans(fit(name), ddf=ddf, level=block["level"], **_request(block))
    loose = df_rtol(name)
    for column in got.columns[:got.columns.get_loc("emmean")]:
        if isinstance(want[column][0], str):
            assert list(map(str, got[column])) == want[column]
        else:
            _close(got[column], want[column], 1e-12, column)
    _close(got["emmean"], want["emmean"], 1e-6, "emmean")
    _close(got["se"], want["SE"], max(1e-6, loose / 100), "se")
    _close(got["df"], want["df"], loose, "df")
    _close(got["lower"], want["lower.CL"], loose, "lower")
    _close(got["upper"], want["upper.CL"], loose, "upper")
    np.testing.assert_allclose(got.attrs["linfct"], block[ddf]["linfct"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, key, ddf, which", CONTRASTS)
def test_contrasts_match_r(name: str, key: str, ddf: str, which: str) -> None:
    block = reference(name)["emmeans"][key]
    want_block = block[ddf]["contrasts"][which]
    want = want_block["table"]
    got = contrasts(fit(name), method=want_block["method"], adjust=want_block["adjust"],
                    ddf=ddf, level=block["level"], **_request(block))
    loose = df_rtol(name)
    assert list(got["contrast"]) == want["contrast"]
    if block["by"]:
        assert list(got[block["by"]].astype(str)) == want[block["by"]]
    _close(got["estimate"], want["estimate"], 1e-6, "estimate")
    _close(got["se"], want["SE"], max(1e-6, loose / 100), "se")
    _close(got["df"], want["df"], loose, "df")
    _close(got["t_value"], want["t.ratio"], max(1e-6, loose / 100), "t")
    np.testing.assert_allclose(got["p_value"], want["p.value"], rtol=loose, atol=P_ATOL,
                               err_msg="p")
    # emmeans solves the dunnettx critical value to 5e-4 only
    slack = 1e-3 * got["se"].to_numpy() if want_block["adjust"] == "dunnettx" else 0.0
    for ours, theirs in (("lower", "lower.CL"), ("upper", "upper.CL")):
        np.testing.assert_allclose(got[ours], want[theirs], rtol=loose,
                                   atol=np.max(slack, initial=1e-12 * np.max(np.abs(
                                       want[theirs]))), err_msg=ours)


def test_weights_make_custom_contrasts() -> None:
    model = fit("alien_reml")
    got = contrasts(model, "Species", method={"Dalek vs rest": [3, -1, -1, -1]})
    means = emmeans(model, "Species")["emmean"].to_numpy()
    assert got["contrast"].tolist() == ["Dalek vs rest"]
    assert got["estimate"][0] == pytest.approx(means @ [3, -1, -1, -1], rel=1e-9)


@pytest.mark.parametrize("call, error", [
    (lambda m: emmeans(m, "Nope"), NotFoundError),
    (lambda m: emmeans(m, "Species", ddf="wald"), InvalidArgumentError),
    (lambda m: emmeans(m, "Species", level=1.5), InvalidArgumentError),
    (lambda m: contrasts(m, "Species", adjust="fdr"), InvalidArgumentError),
    (lambda m: contrasts(m, "Species", method="poly"), InvalidArgumentError),
    (lambda m: contrasts(m, "Species", method={"x": [1, -1]}), InvalidArgumentError),
])
def test_bad_requests_are_refused(call, error) -> None:
    with pytest.raises(error):
        call(fit("alien_reml"))


def test_the_model_methods_are_the_functions() -> None:
    model = fit("cat_x_cat_reml")
    pd.testing.assert_frame_equal(model.emmeans("f2", by="f1"), emmeans(model, "f2", by="f1"))
    pd.testing.assert_frame_equal(model.contrasts("f1:f2", adjust="bonferroni"),
                                  contrasts(model, "f1:f2", adjust="bonferroni"))
    table = model.test("f1_lvl_b = 0")
    assert table["num_df"].iloc[0] == 1 and table["den_df"].iloc[0] == pytest.approx(
        model.fix_ef_summary("satterthwaite")["df"]["f1_lvl_b"])


def test_sidak_replaces_tukey_for_treatment_contrasts() -> None:
    with pytest.warns(UserWarning, match="sidak"):
        got = contrasts(fit("alien_reml"), "Species", method="trt.vs.ctrl", adjust="tukey")
    assert got.attrs["adjust"] == "sidak"
