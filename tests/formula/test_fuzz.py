"""Fuzzing the formula path: only the library's own errors may come out (issue 5).

Each example is a valid formula, a mutated one or token soup (tests/formula/fuzz.py),
fitted on a small data frame. ``python tests/formula/fuzz.py 10000`` runs a longer
campaign outside the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings

sys.path.insert(0, str(Path(__file__).parent))

import fuzz  # noqa: E402

FRAME = fuzz.data()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fuzz.formulas())
# the response as its own random slope: the polish reaches an objective of -inf (an
# exact fit), which once crashed the restart that followed with a FloatingPointError
@example("z ~ x:f + diag(x | g) + (z | h)")
def test_formulas_give_a_fit_or_a_library_error(formula):
    assert fuzz.attempt(formula, FRAME) in ("fit", "error")


def test_the_generator_makes_both_fits_and_errors():
    import numpy as np

    rng = np.random.default_rng(1)
    outcomes = {fuzz.attempt(fuzz.random_formula(rng), FRAME) for _ in range(60)}
    assert outcomes == {"fit", "error"}
