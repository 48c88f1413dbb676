"""The suite runs the same way on every machine: hypothesis is derandomized."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

SEEN: list[float] = []


def test_hypothesis_profile_is_deterministic():
    assert settings.default.derandomize is True
    assert settings.default.database is None and settings.default.deadline is None
    # a test module's own settings inherit the profile
    assert settings(max_examples=5).derandomize is True


@settings(max_examples=5)
@given(st.floats(-1e6, 1e6))
def _draw(x: float) -> None:
    SEEN.append(x)


def test_two_runs_draw_the_same_examples():
    SEEN.clear()
    _draw()
    first = list(SEEN)
    SEEN.clear()
    _draw()
    assert len(first) == 5 and SEEN == first
