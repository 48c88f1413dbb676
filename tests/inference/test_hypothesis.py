"""General linear hypotheses against lmerTest's contest (tests/data/reference_ecosystem)."""

from __future__ import annotations

import numpy as np
import pytest
from ecosystem_reference import DDFS, MODELS, df_rtol, fit, reference

from mixed_models.errors import FormulaError, InvalidArgumentError
from mixed_models.inference.hypothesis import linear_hypothesis, parse_hypothesis

CASES = [(name, i, ddf) for name in MODELS for i in range(len(reference(name)["hypotheses"]))
         for ddf in DDFS]


@pytest.mark.parametrize("name, i, ddf", CASES)
def test_matrix_hypotheses_match_lmertest(name: str, i: int, ddf: str) -> None:
    block = reference(name)["hypotheses"][i]
    want = block[ddf]
    got = linear_hypothesis(fit(name), block["L"], rhs=block["rhs"], ddf=ddf).iloc[0]
    rtol = df_rtol(name)
    if "F" in want:
        f, ndf, ddf_, p = want["F"], want["ndf"], want["ddf"], want["p"]
    else:
        f, ndf, ddf_, p = want["t"] ** 2, 1, want["df"], want["p"]
    assert got["num_df"] == ndf
    assert got["F_value"] == pytest.approx(f, rel=max(1e-6, rtol / 100))
    assert got["den_df"] == pytest.approx(ddf_, rel=rtol)
    assert got["p_value"] == pytest.approx(p, rel=max(1e-6, rtol * 10), abs=1e-12)


@pytest.mark.parametrize("name, text, index", [
    ("alien_reml", "Species_lvl_Human = Species_lvl_Ood", 0),
    ("alien_reml", "Species_lvl_Human = Species_lvl_Ood = Species_lvl_WeepingAngel = 0", 1),
    ("alien_reml", ["Age = 0", "Species_lvl_Human - Species_lvl_Ood = 0"], 2),
    ("sleep_reml", "intercept + 5*Days = 300", 0),
    ("sleep_reml", "intercept = 0 = Days", 1),
])
def test_equations_give_the_same_tests(name: str, text: object, index: int) -> None:
    block = reference(name)["hypotheses"][index]
    by_text = linear_hypothesis(fit(name), text)
    by_matrix = linear_hypothesis(fit(name), block["L"], rhs=block["rhs"])
    np.testing.assert_allclose(by_text.to_numpy(dtype=float), by_matrix.to_numpy(dtype=float),
                               rtol=1e-6)  # a chain spans the same rows differently


def test_parser_reads_terms() -> None:
    names = ["intercept", "a", "b:c"]
    rows, rhs = parse_hypothesis("2*a - b:c + 1 = -intercept * 0.5 + 3", names)
    np.testing.assert_allclose(rows, [[0.5, 2.0, -1.0]])
    np.testing.assert_allclose(rhs, [2.0])


@pytest.mark.parametrize("text", ["a", "a = __import__('os')", "a = nope", "a + = 0",
                                  "a = b *", "a ** 2 = 0", "a = 0; b = 1", "= a"])
def test_parser_refuses_what_is_not_an_equation(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_hypothesis(text, ["intercept", "a", "b"])


def test_matrix_shape_is_checked() -> None:
    with pytest.raises(InvalidArgumentError):
        linear_hypothesis(fit("sleep_reml"), [[1, 0, 0]])
