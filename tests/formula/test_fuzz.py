"""Fuzzing the formula path: only the library's own errors may come out (issue 5).

Each example is a valid formula, a mutated one or token soup (tests/formula/fuzz.py),
fitted on a small data frame. ``python tests/formula/fuzz.py 10000`` runs a longer
campaign outside the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(fuzz.PAYLOADS), st.integers(0, 2**32 - 1))
def test_payloads_anywhere_in_a_formula_never_run(payload, seed):
    rng = np.random.default_rng(seed)
    formula = fuzz.valid_formula(rng)
    pos = int(rng.integers(0, len(formula) + 1))
    for candidate in (formula[:pos] + payload + formula[pos:],
                      formula.replace("x", payload, 1)):
        assert fuzz.attempt(candidate, FRAME) in ("fit", "error")


def test_the_generator_makes_both_fits_and_errors():
    import numpy as np

    rng = np.random.default_rng(1)
    outcomes = {fuzz.attempt(fuzz.random_formula(rng), FRAME) for _ in range(60)}
    assert outcomes == {"fit", "error"}
