"""The plain-text rendering (print(model))."""

from __future__ import annotations

import numpy as np

from mixed_models import LMM, datasets


def test_alien_summary_reads_like_lme4(fitted):
    model = fitted("alien_reml")
    text = str(model)
    expected_in_order = [
        "Linear mixed model fit by REML",
        "Formula: Aggression ~ Age + Species + (Age | Location)",
        f"REML criterion at convergence: {model.deviance:.4f}",
        "Scaled residuals:",
        "Random effects:",
        " Groups   Name",
        "Number of obs: 100, groups: Location, 3",
        "Fixed effects:",
        "Estimate Std. Error    df   t value Pr(>|t|)",
        "Tests: t tests with Satterthwaite's degrees of freedom.",
        "Correlation of fixed effects:",
        "Optimizer: newton",
    ]
    positions = [text.index(part) for part in expected_in_order]
    assert positions == sorted(positions)


def _table_after(text: str, title: str) -> list[str]:
    lines = text.split(title + ":\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line for line in lines if line.startswith(" ")]


def test_tables_are_aligned(fitted):
    text = str(fitted("alien_reml"))
    fixed = _table_after(text, "Fixed effects")
    assert len(fixed) == 6  # header and five fixed effects
    assert len({len(line) for line in fixed}) == 1  # right-aligned last column
    residuals = _table_after(text, "Scaled residuals")
    assert len({len(line) for line in residuals}) == 1


def test_fixed_effect_rows_hold_the_estimates(fitted):
    model = fitted("sleep_reml")
    rows = _table_after(str(model), "Fixed effects")[1:]
    for row, (name, coef) in zip(rows, model.fix_ef.items()):
        label, estimate = row.split()[:2]
        assert label == name
        assert abs(float(estimate) - coef) < 1e-3


def test_ml_header_and_dropped_rows():
    data = datasets.load("penicillin")
    data.loc[[0, 5, 9], "diameter"] = np.nan
    model = LMM.from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)", data, reml=False)
    text = str(model)
    assert text.startswith("Linear mixed model fit by maximum likelihood\n")
    assert "AIC" in text and "df.resid" in text and f"{model.aic:.4f}" in text
    assert "Number of obs: 141 (3 rows with missing values dropped), groups: plate, 24; " \
           "sample, 6" in text


def test_messages_are_printed(fitted):
    model = fitted("crossed_ml")
    text = str(model)
    assert "Messages:\n  - boundary (singular) fit" in text
