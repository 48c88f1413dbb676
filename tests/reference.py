"""The lme4 reference fits (tests/data/reference, see PROVENANCE.md) and how to fit them."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from mixed_models import LMM, datasets

REFERENCE = Path(__file__).parent / "data" / "reference"
LARGE = ("insteval_ml", "insteval_dept_ml")


@dataclass(frozen=True)
class Spec:
    """One row of models.csv."""

    id: str
    dataset: str
    formula: str
    reml: bool
    extras: tuple[str, ...]
    factors: tuple[str, ...]


def as_list(value) -> list:
    """jsonlite stores length-one vectors as scalars and empty lists as {}."""
    if value is None or value == {}:
        return []
    return value if isinstance(value, list) else [value]


@cache
def specs() -> dict[str, Spec]:
    with open(REFERENCE / "models.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {r["id"]: Spec(r["id"], r["dataset"], r["formula"], r["REML"] == "TRUE",
                          tuple(filter(None, r["extras"].split(";"))),
                          tuple(filter(None, r["factors"].split(";")))) for r in rows}


@cache
def fit_json(model_id: str) -> dict:
    return json.loads((REFERENCE / "fits" / f"{model_id}.json").read_text())


@cache
def predictions_json(model_id: str) -> dict:
    return json.loads((REFERENCE / "predictions" / f"{model_id}.json").read_text())


def load_data(name: str) -> pd.DataFrame:
    if name == "insteval":
        return pd.read_csv(REFERENCE / "insteval.csv")
    return datasets.load(name)


def model_data(spec: Spec) -> pd.DataFrame:
    """The model's data, numeric-coded factor columns made categorical (R's factor())."""
    data = load_data(spec.dataset)
    for column in spec.factors:
        data[column] = pd.Categorical(data[column])
    return data


def fit(spec: Spec, **kwargs) -> LMM:
    return LMM.from_formula(spec.formula, model_data(spec), reml=spec.reml, **kwargs)


def varcorr_by_group(ref: dict) -> dict[str, list[dict]]:
    """lme4's VarCorr rows per grouping factor ("Subject.1" merged into "Subject")."""
    groups: dict[str, list[dict]] = {}
    for row in ref["varcorr"]:
        name = row["grp"]
        base = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1].isdigit() else name
        groups.setdefault(base, []).append(row)
    return groups


def ranef_blocks(ref: dict) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per grouping factor: level labels, values (levels x terms) and conditional SDs."""
    out = {}
    for block in ref["ranef"]:
        values = np.array(block["values"], dtype=float).reshape(len(as_list(block["levels"])), -1)
        sds = np.array(block["condsd"], dtype=float).reshape(values.shape)
        out[block["group"]] = (as_list(block["levels"]), values, sds)
    return out


# --- checks shared by the reference-panel tests (issue 2's tolerances) ----------------

def check_objective(model: LMM, ref: dict, large: bool = False) -> None:
    """Objective no larger than lme4's best + 1e-6 (relative 2e-10 for large data)."""
    slack = 2e-10 * abs(ref["objective"]) if large else 1e-6
    assert model.deviance <= ref["objective"] + slack, (model.deviance, ref["objective"])


def check_fixed_effects(model: LMM, ref: dict) -> None:
    """Estimates within 1e-3 of their SEs; SEs within relative 5e-3."""
    beta = ref["beta"]
    beta_ref = np.array(list(beta.values()) if isinstance(beta, dict) else as_list(beta),
                        dtype=float)
    se_ref = np.array(as_list(ref["se"]), dtype=float)
    table = model.fix_ef_summary()
    assert len(table) == len(beta_ref)
    assert np.all(np.abs(table["coef"].to_numpy() - beta_ref) <= 1e-3 * se_ref)
    np.testing.assert_allclose(table["sd"].to_numpy(), se_ref, rtol=5e-3)


def check_variance_components(model: LMM, ref: dict) -> None:
    """sigma and the random-effect SDs within relative 5e-3, correlations within 5e-3."""
    ours = model.var_corr()
    np.testing.assert_allclose(model.sigma, ref["sigma"], rtol=5e-3)
    for group, rows in varcorr_by_group(ref).items():
        mine = ours[ours["group"] == group]
        assert len(mine) == len(rows), group
        mine = mine.assign(_cov=mine["var2"].notna()).sort_values("_cov", kind="stable")
        want_rows = sorted(rows, key=lambda r: r["var2"] is not None)
        for (_, got), want in zip(mine.iterrows(), want_rows):
            if want["var2"] is None:
                np.testing.assert_allclose(got["sdcor"], want["sdcor"], rtol=5e-3,
                                           atol=1e-6 * ref["sigma"])
            else:
                assert abs(got["sdcor"] - want["sdcor"]) <= 5e-3


def check_conditional_modes(model: LMM, ref: dict) -> None:
    """Conditional modes and conditional SDs within 1e-3 relative to their scale."""
    table = model.ran_ef_table()
    for group, (levels, values, sds) in ranef_blocks(ref).items():
        got = table[table["group"] == group].groupby("level", sort=False)
        value = np.array([got.get_group(lvl)["value"].to_numpy() for lvl in levels])
        cond_sd = np.array([got.get_group(lvl)["cond_sd"].to_numpy() for lvl in levels])
        assert value.shape == values.shape
        scale = np.maximum(np.abs(values).max(axis=0), 1e-8)
        assert np.all(np.abs(value - values) <= 1e-3 * scale), (value, values)
        sd_scale = np.maximum(sds.max(axis=0), 1e-8)
        assert np.all(np.abs(cond_sd - sds) <= 1e-3 * sd_scale), (cond_sd, sds)


def check_rows(model: LMM, ref: dict) -> None:
    """Fitted values (with and without random effects) and residuals."""
    y_scale = np.std(np.array(ref["fitted"]) + np.array(ref["residuals"]))
    np.testing.assert_allclose(model.fitted(), ref["fitted"], rtol=0, atol=1e-3 * y_scale)
    if "fitted_population" in ref:
        np.testing.assert_allclose(model.fitted(with_ran_ef=False), ref["fitted_population"],
                                   rtol=0, atol=1e-3 * y_scale)
    np.testing.assert_allclose(model.residuals, ref["residuals"], rtol=0,
                               atol=1e-3 * ref["sigma"])
