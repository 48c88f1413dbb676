"""Models outside the reference panel (tests/data/reference_core, made by its R script):
other nlme/lme4 data sets, categorical and continuous slopes, nesting with '/', '||' on a
factor, transforms, prior weights and an offset. Same tolerances as the panel."""

from __future__ import annotations

import csv
import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reference
from mixed_models import LMM

FOLDER = Path(__file__).parent / "data" / "reference_core"
with open(FOLDER / "models.csv") as handle:
    SPECS = {row["id"]: row for row in csv.DictReader(handle)}


@cache
def fit(model_id: str) -> LMM:
    spec = SPECS[model_id]
    data = pd.read_csv(FOLDER / "data" / f"{spec['dataset']}.csv")
    for column in filter(None, spec["factors"].split(";")):  # numeric codes of an R factor
        data[column] = pd.Categorical(data[column])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(spec["py_formula"], data, reml=spec["REML"] == "TRUE",
                                weights=spec["weights"] or None, offset=spec["offset"] or None)


def ref(model_id: str) -> dict:
    return json.loads((FOLDER / "fits" / f"{model_id}.json").read_text())


CHECKS = [reference.check_objective, reference.check_fixed_effects,
          reference.check_variance_components, reference.check_conditional_modes,
          reference.check_rows]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("model_id", list(SPECS))
def test_against_lme4(model_id, check):
    check(fit(model_id), ref(model_id))


@pytest.mark.parametrize("model_id", list(SPECS))
def test_sizes(model_id):
    model, want = fit(model_id), ref(model_id)
    assert model.n_obs == want["nobs"]
    assert model.n_groups == want["ngroups"]


@pytest.mark.parametrize("model_id", list(SPECS))
def test_warnings_only_where_lme4_confirms(model_id):
    model, want = fit(model_id), ref(model_id)
    theta = np.atleast_1d(np.array(want["theta"], dtype=float))
    lme4_singular = bool(np.any(theta[model.record.problem.diagonal_mask()] < 1e-4))
    assert model.singular == lme4_singular
    assert any("boundary" in m for m in model.warnings) == lme4_singular
    assert not any("not confirmed" in m for m in model.warnings)
