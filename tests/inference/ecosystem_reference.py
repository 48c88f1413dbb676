"""The oracle of the ecosystem tests (tests/data/reference_ecosystem, made by R's emmeans,
performance, lme4, lmerTest and broom.mixed) and the models it describes, each fitted
once per session."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

from mixed_models import LMM
from mixed_models.datasets import load

FOLDER = Path(__file__).parents[1] / "data" / "reference_ecosystem"
MODELS = ("alien_reml", "sleep_reml", "penicillin_reml", "cat_x_cat_reml", "cake_factor_reml")
DDFS = ("satterthwaite", "kenward-roger")
# The gem's example: its REML surface is flat along theta's first entry (Hessian
# eigenvalues 7e-4, 157, 308), so optima whose deviances agree to 1e-12 (Newton's method
# from lme4's start or from the moments, numpy's evaluation or the compiled one) differ
# by 1e-8 in theta, and Satterthwaite's df near 2 by up to 5e-5 (1.99991-1.99999), which
# moves a confidence limit by up to 1.3e-4 of itself.
LOOSE = {"alien_reml"}


@cache
def reference(name: str) -> dict:
    """One JSON file of the oracle."""
    with open(FOLDER / f"{name}.json") as handle:
        return json.load(handle)


def data_of(dataset: str):
    """The dataset as the R script read it (cake's temperature as a factor)."""
    data = load(dataset)
    if dataset == "cake":
        data["temperature"] = data["temperature"].astype(str)
    return data


@cache
def fit(name: str, formula: str | None = None, reml: bool = True) -> LMM:
    """The reference model ``name`` (or ``formula`` on its data), fitted once."""
    ref = reference(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(formula or ref["formula"], data_of(ref["dataset"]), reml=reml)


def df_rtol(name: str) -> float:
    """Relative tolerance of degrees of freedom (and what depends on them)."""
    return 2e-4 if name in LOOSE else 1e-6
