"""Fixtures of the display tests: the lme4 summary reference values and a lookup of
models in the reference panel and in tests/data/reference_core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
CORE_IDS = {"sleep_weights_reml", "sleep_offset_ml", "penicillin_ml"}


@pytest.fixture(scope="session")
def summary_reference() -> dict:
    """tests/data/display/summary_reference.json (see its PROVENANCE.md)."""
    return json.loads((DATA / "display" / "summary_reference.json").read_text())


@pytest.fixture(scope="session")
def model_by_id(fitted, core_fitted):
    """model_by_id(id) -> the fitted model of a panel or reference_core model id."""
    return lambda model_id: core_fitted(model_id) if model_id in CORE_IDS else fitted(model_id)
