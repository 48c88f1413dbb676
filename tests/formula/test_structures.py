"""lme4 2.x's covariance wrappers us(), diag(), cs(), ar1() in formulas and designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixed_models.core.covariance import BlockDiagonal, PatternCovariance, ScaledCorrelation
from mixed_models.design import build_design
from mixed_models.errors import FormulaError
from mixed_models.formula import parse_formula

# formula -> fixed part, [(expr, grouping, structure, homogeneous)]
VALID = [
    ("y ~ x + cs(0 + f | g)", "x", [("0 + f", ("g",), "cs", None)]),
    ("y ~ ar1(0 + f | g, hom = FALSE) + x", "x", [("0 + f", ("g",), "ar1", False)]),
    ("y ~ x + diag(x | g)", "x", [("x", ("g",), "diag", None)]),
    ("y ~ x + diag(x || g)", "x", [("x", ("g",), "diag", None)]),
    ("y ~ x + (x || g)", "x", [("x", ("g",), "diag", None)]),
    ("y ~ x + us(x | g)", "x", [("x", ("g",), "us", None)]),
    ("y ~ x + (x | g)", "x", [("x", ("g",), "us", None)]),
    ("y ~ cs(1 + x | g, hom=T)", "1", [("1 + x", ("g",), "cs", True)]),
    ("y ~ x + cs (x | a/b)", "x", [("x", ("a",), "cs", None), ("x", ("b", "a"), "cs", None)]),
    ("y ~ (1 | g) + ar1(0 + f | g)", "1",
     [("1", ("g",), "us", None), ("0 + f", ("g",), "ar1", None)]),
]


@pytest.mark.parametrize(("formula", "fixed", "terms"), VALID)
def test_wrappers_parse_to_structured_terms(formula, fixed, terms):
    parsed = parse_formula(formula)
    assert parsed.fixed_formula == fixed
    got = [(t.expr, t.grouping, t.structure, t.homogeneous) for t in parsed.random]
    assert got == terms
    for t in parsed.random:
        assert t.correlated == (t.structure != "diag")
        assert formula[t.span[0]:t.span[1]].endswith(")")


INVALID = [
    ("y ~ toep(x | g)", "unknown covariance structure 'toep(...)'", 4),
    ("y ~ cs(x || g)", "a double bar already means diag()", 9),
    ("y ~ us(x || g)", "a double bar already means diag()", 9),
    ("y ~ cs(x | g, hom = maybe)", "hom = TRUE or hom = FALSE", 13),
    ("y ~ cs(x | g, d = 2)", "hom = TRUE or hom = FALSE", 13),
    ("y ~ (x | g, hom = TRUE)", "only inside a covariance wrapper", 10),
    ("y ~ us(x | g, hom = TRUE)", "us() has no homogeneous variant", 13),
    ("y ~ x * cs(x | g)", "cannot be combined with '*'", 6),
]


@pytest.mark.parametrize(("formula", "message", "position"), INVALID)
def test_bad_wrappers_are_named_and_located(formula, message, position):
    with pytest.raises(FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")) \
            as info:
        parse_formula(formula)
    assert info.value.position == position


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n),
                         "f": np.tile(["a", "b", "c"], n // 3),
                         "g": np.repeat([f"g{i}" for i in range(6)], n // 6)})


@pytest.mark.parametrize(("formula", "kind", "cls", "n_theta"), [
    ("y ~ x + cs(0 + f | g)", "cs", ScaledCorrelation, 4),
    ("y ~ x + cs(0 + f | g, hom = TRUE)", "cs", ScaledCorrelation, 2),
    ("y ~ x + ar1(0 + f | g)", "ar1", ScaledCorrelation, 2),
    ("y ~ x + diag(0 + f | g)", "diag", PatternCovariance, 3),
    ("y ~ x + diag(0 + f | g, hom = TRUE)", "diag", ScaledCorrelation, 1),
    ("y ~ x + us(0 + f | g)", "us", PatternCovariance, 6),
    ("y ~ x + (1 | g) + cs(0 + f | g)", "block", BlockDiagonal, 5),
])
def test_design_chooses_the_structure(frame, formula, kind, cls, n_theta):
    design = build_design(parse_formula(formula), frame)
    cov = design.random[0].covariance
    assert isinstance(cov, cls) and cov.kind == kind and cov.n_theta == n_theta
    assert cov.size == design.random[0].z.shape[1]
