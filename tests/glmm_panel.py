"""The lme4 GLMM panel (tests/data/reference_glmm) for every GLMM test: each model fitted
once per session (cached), with its reference fit."""

from __future__ import annotations

import csv
import json
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd

from mixed_models import GLMM

FOLDER = Path(__file__).resolve().parent / "data" / "reference_glmm"
with open(FOLDER / "models.csv", newline="") as handle:
    MODELS = {row["id"]: row for row in csv.DictReader(handle)}
DATA_FILES = {"grouseticks": "grouseticks_scaled"}
FAMILIES = {"binomial": "binomial", "poisson": "poisson", "Gamma": "gamma",
            "inverse.gaussian": "inverse_gaussian", "negative.binomial": "negative_binomial"}


def with_extra(extra: str) -> list[str]:
    """The panel's models whose ``extras`` list ``extra`` (profile, lrt, predict)."""
    return [k for k, row in MODELS.items() if extra in row["extras"].split(";")]


@lru_cache(maxsize=None)
def panel_data(model_id: str) -> pd.DataFrame:
    row = MODELS[model_id]
    name = DATA_FILES.get(row["dataset"], row["dataset"])
    data = pd.read_csv(FOLDER / "data" / f"{name}.csv")
    for column in filter(None, row["factors"].split(";")):
        data[column] = data[column].astype(str)
    return data


@lru_cache(maxsize=None)
def reference(model_id: str) -> dict:
    return json.loads((FOLDER / "fits" / f"{model_id}.json").read_text())


def formula(model_id: str) -> str:
    row = MODELS[model_id]
    return row["formula_py"] or row["formula"]


def fit(model_id: str, formula_: str | None = None) -> GLMM:
    """Fit a panel model (or another formula on its data, family and n_agq)."""
    row = MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GLMM.from_formula(formula_ or formula(model_id), panel_data(model_id),
                                 family=FAMILIES[row["family"]], link=row["link"],
                                 n_agq=int(row["nAGQ"]), weights=row["weights"] or None)


@lru_cache(maxsize=None)
def panel_fit(model_id: str) -> GLMM:
    return fit(model_id)
