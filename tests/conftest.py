"""Shared fixtures: each reference model is fitted once per test session."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import reference  # noqa: E402

_FITS: dict[str, object] = {}


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
