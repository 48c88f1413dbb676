"""Shared fixtures: each reference model is fitted once per test session."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

import reference  # noqa: E402

# Hypothesis runs the same examples on every machine and every run: a property test that
# fails fails again, and a green run is not luck. The profile is loaded here, before any
# test module builds its settings, so their own settings inherit it. Another profile
# (e.g. a randomized "explore" run) can be chosen with --hypothesis-profile.
settings.register_profile("deterministic", derandomize=True, deadline=None, database=None,
                          print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile("deterministic")

_FITS: dict[object, object] = {}


@pytest.fixture(scope="session")
def compiled_kernels() -> None:
    """The compiled small-model kernels, compiled here when the installation step did
    not; tests that compare them with numpy skip without numba."""
    from mixed_models.core import kernels

    if not kernels.compile_small_kernels():
        pytest.skip("numba is not installed")


@pytest.fixture(scope="session")
def fitted():
    """fitted(model_id) -> the LMM for that row of models.csv, fitted once per session."""

    def get(model_id: str):
        if model_id not in _FITS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _FITS[model_id] = reference.fit(reference.specs()[model_id])
        return _FITS[model_id]

    return get


@pytest.fixture(scope="session")
def core_fitted():
    """core_fitted(model_id) -> the LMM of that row of tests/data/reference_core/models.csv,
    fitted once per session."""
    import csv

    import pandas as pd

    from mixed_models import LMM

    folder = Path(__file__).parent / "data" / "reference_core"
    with open(folder / "models.csv") as handle:
        specs = {row["id"]: row for row in csv.DictReader(handle)}

    def get(model_id: str):
        key = ("core", model_id)
        if key not in _FITS:
            spec = specs[model_id]
            data = pd.read_csv(folder / "data" / f"{spec['dataset']}.csv")
            for column in filter(None, spec["factors"].split(";")):
                data[column] = pd.Categorical(data[column])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _FITS[key] = LMM.from_formula(
                    spec["py_formula"], data, reml=spec["REML"] == "TRUE",
                    weights=spec["weights"] or None, offset=spec["offset"] or None)
        return _FITS[key]

    return get
