"""tidy(), glance() and coef() against broom.mixed and lme4 (tests/data/reference_ecosystem)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ecosystem_reference import MODELS, df_rtol, fit, reference

from mixed_models.errors import InvalidArgumentError

EFFECTS = ("fixed", "ran_pars", "ran_vals")


def _our_term(term: str, model) -> str:
    """broom.mixed's term in our names (sd__(Intercept) -> sd__intercept, SpeciesHuman ->
    Species_lvl_Human: the fixed effects are in the same order)."""
    r_names = reference_names(model)
    mapping = dict(zip(r_names, model.fix_ef_names)) | {"(Intercept)": "intercept"}
    prefix, _, rest = term.rpartition("__")
    parts = [mapping.get(p, p) for p in rest.split(".")] if prefix else [mapping.get(rest, rest)]
    return f"{prefix}__{'.'.join(parts)}" if prefix else parts[0]


def reference_names(model) -> list[str]:
    return model._r_names


@pytest.mark.parametrize("name", MODELS)
def test_tidy_matches_broom_mixed(name: str) -> None:
    want = pd.DataFrame(reference(name)["tidy"])
    model = fit(name)
    model._r_names = reference(name)["fit"]["beta_names"]
    got = model.tidy(effects=EFFECTS, conf_int=True)
    assert list(got.columns) == ["effect", "group", "level", "term", "estimate", "std_error",
                                 "statistic", "df", "p_value", "conf_low", "conf_high"]
    assert got["effect"].tolist() == want["effect"].tolist()
    assert got["term"].tolist() == [_our_term(t, model) for t in want["term"]]
    assert got["group"].fillna("").tolist() == want["group"].fillna("").tolist()
    assert got["level"].fillna("").astype(str).tolist() == \
        want["level"].fillna("").astype(str).tolist()
    rtol = df_rtol(name)
    scale = np.nanmax(np.abs(want["estimate"].to_numpy(dtype=float)))
    est = max(1e-6, rtol)  # the gem's example: the intercept SD along a flat direction
    for ours, theirs, tol in [("estimate", "estimate", est), ("std_error", "std.error", est),
                              ("statistic", "statistic", est), ("df", "df", rtol),
                              ("p_value", "p.value", rtol * 10), ("conf_low", "conf.low", rtol),
                              ("conf_high", "conf.high", rtol)]:
        np.testing.assert_allclose(got[ours].to_numpy(dtype=float),
                                   want[theirs].to_numpy(dtype=float), rtol=tol,
                                   atol=1e-8 * scale if ours != "p_value" else 1e-12,
                                   err_msg=ours)


def test_tidy_defaults_leave_out_intervals_and_levels() -> None:
    got = fit("sleep_reml").tidy()
    assert list(got.columns) == ["effect", "group", "term", "estimate", "std_error",
                                 "statistic", "df", "p_value"]
    assert set(got["effect"]) == {"fixed", "ran_pars"}


@pytest.mark.parametrize("kwargs", [{"effects": ("fixed", "nope")}, {"effects": ()},
                                    {"conf_level": 2.0}, {"ddf": "residual"}])
def test_tidy_refuses_bad_options(kwargs: dict) -> None:
    with pytest.raises(InvalidArgumentError):
        fit("sleep_reml").tidy(**kwargs)


@pytest.mark.parametrize("name", MODELS)
def test_glance_matches_broom_mixed(name: str) -> None:
    want = reference(name)["glance"]
    got = fit(name).glance()
    assert list(got.columns) == ["nobs", "sigma", "logLik", "AIC", "BIC", "REML_criterion",
                                 "df_residual"]
    row = got.iloc[0]
    assert row["nobs"] == want["nobs"] and row["df_residual"] == want["df.residual"]
    for ours, theirs in [("sigma", "sigma"), ("logLik", "logLik"), ("AIC", "AIC"),
                         ("BIC", "BIC"), ("REML_criterion", "REMLcrit")]:
        assert row[ours] == pytest.approx(want[theirs], rel=1e-6), ours


def test_glance_of_an_ml_fit_has_the_deviance() -> None:
    model = fit("sleep_reml", None, False)
    got = model.glance()
    assert "deviance" in got.columns and "REML_criterion" not in got.columns
    assert got["deviance"][0] == pytest.approx(model.deviance)


@pytest.mark.parametrize("name", MODELS)
def test_coef_matches_lme4(name: str) -> None:
    want = reference(name)["coef"]
    got = fit(name).coef()
    assert list(got) == list(want)
    for group, block in want.items():
        table = got[group]
        assert table.index.astype(str).tolist() == [str(v) for v in block["levels"]]
        assert list(table.columns) == fit(name).fix_ef_names
        values = np.array(block["values"], dtype=float)
        np.testing.assert_allclose(table.to_numpy(), values, rtol=1e-6,
                                   atol=1e-9 * np.max(np.abs(values)))
