"""The Wald chi-square test of a GLMM's linear hypotheses: one row is the squared Wald z,
several rows the quadratic form over the Wald covariance, equations and matrices alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixed_models import GLMM

DATA = Path(__file__).parents[1] / "data" / "reference_glmm" / "data"


@pytest.fixture(scope="module")
def binomial() -> GLMM:
    data = pd.read_csv(DATA / "cbpp.csv").astype({"herd": str, "period": str})
    return GLMM.from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)", data)


def test_one_row_is_the_squared_wald_z(binomial):
    table = binomial.test("period_lvl_2 = 0")
    z = binomial.fix_ef_summary().loc["period_lvl_2", "z_score"]
    assert list(table.columns) == ["Chisq", "df", "p_value"]
    assert table["Chisq"].iloc[0] == pytest.approx(z ** 2, rel=1e-10)
    assert table["df"].iloc[0] == 1
    assert table["p_value"].iloc[0] == pytest.approx(
        binomial.fix_ef_summary().loc["period_lvl_2", "WaldZ_p_value"], rel=1e-8)


@pytest.mark.parametrize("hypothesis, matrix, rhs", [
    ("period_lvl_2 = period_lvl_3 = period_lvl_4 = 0",
     [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [0, 0, 0]),
    ("period_lvl_2 = period_lvl_3", [[0, 1, -1, 0]], [0]),
    ("2*period_lvl_4 - period_lvl_2 = -1", [[0, -1, 0, 2]], [-1]),
])
def test_equations_and_matrices_give_the_wald_quadratic_form(binomial, hypothesis, matrix,
                                                             rhs):
    lmat, right = np.array(matrix, dtype=float), np.array(rhs, dtype=float)
    beta = np.array(list(binomial.fix_ef.values()))
    cov = binomial.fix_ef_cov_mat.to_numpy()
    diff = lmat @ beta - right
    expected = float(diff @ np.linalg.solve(lmat @ cov @ lmat.T, diff))
    by_text = binomial.test(hypothesis)
    by_matrix = binomial.test(lmat, rhs=right)
    for table in (by_text, by_matrix):
        assert table["Chisq"].iloc[0] == pytest.approx(expected, rel=1e-10)
        assert table["df"].iloc[0] == len(matrix)
        assert table["p_value"].iloc[0] == pytest.approx(stats.chi2.sf(expected, len(matrix)),
                                                         rel=1e-10)
