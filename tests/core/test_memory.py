"""core.memory: a model whose dense blocks exceed the memory cap is refused before they
are allocated, with a library error that is also a MemoryError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM
from mixed_models.core import crossprod, memory
from mixed_models.errors import InvalidArgumentError, MixedModelsError, ResourceError

FORMULA = "y ~ x + (1 | a) + (1 | b)"


def crossed(levels_a=300, levels_b=200, n=2000, seed=1):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, levels_a, n), rng.integers(0, levels_b, n)
    y = rng.normal(size=levels_a)[a] + rng.normal(size=levels_b)[b] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": rng.normal(size=n), "a": a.astype(str),
                         "b": b.astype(str)})


def _no_allocation(*args, **kwargs):
    raise AssertionError("the dense block was allocated before the memory check")


def test_a_block_over_the_cap_is_refused_before_it_is_allocated(monkeypatch):
    # 203 x 203 doubles, three copies: about 1 MB, against a cap of 0.1 MB
    monkeypatch.setattr(crossprod.CrossProductAccumulator, "add", _no_allocation)
    with pytest.raises(ResourceError) as info:
        memory.limited(1e-4, LMM.from_formula, FORMULA, crossed())
    exc = info.value
    assert isinstance(exc, MemoryError) and isinstance(exc, MixedModelsError)
    text = str(exc)
    needed = 3 * 8 * 203**2 / memory.GB  # 200 + 2 + 1 rows: levels of b, X and y
    assert "203 x 203" in text and f"{needed:.3g} GB" in text
    assert f"{1e-4 * memory.GB / memory.GB:.3g} GB" in text
    assert "200 levels" in text and "nested instead of a crossed design" in text


def test_the_cap_is_restored_and_a_model_within_it_fits():
    assert memory.limit_bytes()[0] is None
    model = memory.limited(0.01, LMM.from_formula, FORMULA, crossed(40, 30, 500))
    assert np.isfinite(model.deviance)
    assert memory.limit_bytes()[0] is None


def test_the_environment_variable_sets_a_cap(monkeypatch):
    monkeypatch.setenv(memory.ENVIRONMENT_VARIABLE, "0.0001")
    with pytest.raises(ResourceError, match=memory.ENVIRONMENT_VARIABLE):
        LMM.from_formula(FORMULA, crossed())
    monkeypatch.setenv(memory.ENVIRONMENT_VARIABLE, "lots")
    with pytest.raises(InvalidArgumentError, match="positive number of GB, got 'lots'"):
        LMM.from_formula(FORMULA, crossed())


def test_more_than_the_memory_available_is_refused(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 5e5)
    with pytest.raises(ResourceError, match="more than the memory available"):
        LMM.from_formula(FORMULA, crossed())


def test_the_memory_available_is_known_here():
    free = memory.available_bytes()
    assert free is not None and 1e6 < free < 1e15


@pytest.mark.parametrize("bad", [0, -1.0, "2", True, float("nan")])
def test_a_cap_must_be_a_positive_number(bad):
    with pytest.raises(InvalidArgumentError):
        memory.set_limit(bad)
