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
