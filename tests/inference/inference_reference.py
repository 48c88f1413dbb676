"""Reference values for the inference tests, and how to compare with them.

Two sources: the lme4 panel (tests/data/reference, via ``reference.py``) and the extra
models of tests/data/reference_extra (made by its R script: lmerTest, pbkrtest and
lme4 on models the panel does not hold, and lme4 ``anova(m0, m1)`` on model pairs).
"""

from __future__ import annotations

import csv
import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import reference
from mixed_models import LMM

EXTRA = Path(__file__).parent.parent / "data" / "reference_extra"
PANEL_IDS = list(reference.specs())


@cache
def extra_specs() -> dict[str, dict]:
    with open(EXTRA / "models.csv") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@cache
def lrt_pairs() -> dict[str, dict]:
    with open(EXTRA / "lrt_pairs.csv") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    for item in json.loads((EXTRA / "lrt.json").read_text()):
        rows[item["id"]]["lme4"] = item
    return rows


def load_extra_data(path: str) -> pd.DataFrame:
    return pd.read_csv(EXTRA / path)


@cache
def fit_extra(model_id: str) -> LMM:
    spec = extra_specs()[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(spec["formula"], load_extra_data(spec["data"]),
                                reml=spec["REML"] == "TRUE")


@cache
def extra_json(model_id: str) -> dict:
    return json.loads((EXTRA / "fits" / f"{model_id}.json").read_text())


def ref_json(model_id: str) -> dict:
    """The reference record of a panel or extra model."""
    if model_id in extra_specs():
        return extra_json(model_id)
    return reference.fit_json(model_id)


def model_for(fitted, model_id: str) -> LMM:
    return fit_extra(model_id) if model_id in extra_specs() else fitted(model_id)


def ids_with(key: str, panel: bool = True, extra: bool = True) -> list[str]:
    """Model ids (panel, then extra) whose reference record has ``key``."""
    out = []
    if panel:
        out += [i for i in PANEL_IDS if key in reference.fit_json(i)]
    if extra:
        out += [i for i in extra_specs() if key in extra_json(i)]
    return out


def vector_labels(value) -> list:
    return reference.as_list(value)


def vector(value) -> np.ndarray:
    return np.array(reference.as_list(value), dtype=float)


def assert_rel(ours, want, rtol: float, what: str = "") -> None:
    ours, want = np.asarray(ours, dtype=float), np.asarray(want, dtype=float)
    err = np.abs(ours - want) / np.abs(want)
    assert np.all(err <= rtol), f"{what}: relative error {err.max():.2e} > {rtol:g}\n{ours}\n{want}"


def assert_p_values(ours, want, rtol: float, what: str = "") -> None:
    """p-values within relative rtol; below 1e-10, where a relative error of p only
    reflects the last digits of t and df, their logarithms within relative rtol."""
    ours, want = np.asarray(ours, dtype=float), np.asarray(want, dtype=float)
    tiny = want < 1e-10
    assert_rel(ours[~tiny], want[~tiny], rtol, what)
    assert_rel(np.log(ours[tiny]), np.log(want[tiny]), rtol, what + " (log p)")
