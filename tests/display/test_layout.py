"""The blocks every rendering is made of: which, in what order, with which cells."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mixed_models.display.layout import (
    MAX_CORRELATION_SIZE,
    Lines,
    Table,
    fixed_column,
    summary_blocks,
)


def _blocks(summary) -> dict:
    return {b.key: b for b in summary_blocks(summary)}


def test_reml_blocks_in_lme4_order(fitted):
    keys = [b.key for b in summary_blocks(fitted("alien_reml").summary())]
    assert keys == ["heading", "criteria", "residuals", "random-effects", "fixed-effects",
                    "fixed-correlation", "optimizer"]


def test_ml_fit_shows_the_information_criteria(fitted):
    model = fitted("dyestuff_ml")
    criteria = _blocks(model.summary())["criteria"]
    assert isinstance(criteria, Table)
    assert criteria.columns == ("AIC", "BIC", "logLik", "deviance", "df.resid")
    assert [float(c) for c in criteria.rows[0]] == pytest.approx(
        [model.aic, model.bic, model.log_likelihood, model.deviance, model.n_obs - 3],
        abs=1e-4)


def test_random_effects_rows_and_correlation_triangle(fitted):
    model = fitted("alien_reml")
    table = _blocks(model.summary())["random-effects"]
    assert table.columns == ("Groups", "Name", "Variance", "Std.Dev.", "Corr")
    assert [r[:2] for r in table.rows] == [("Location", "intercept"), ("", "Age"),
                                           ("Residual", "")]
    corr = model.summary().random_effects_corr["Location"].loc["Age", "intercept"]
    assert table.rows[1][4] == f"{corr:.3f}" and table.rows[0][4] == ""
    assert table.notes == ("Number of obs: 100, groups: Location, 3",)


def test_no_correlation_column_without_correlation_parameters(fitted):
    table = _blocks(fitted("sleep_zerocorr_reml").summary())["random-effects"]
    assert "Corr" not in table.columns
    assert all(len(r) == 4 for r in table.rows)


def test_fixed_effects_cells_are_the_estimates(fitted):
    model = fitted("sleep_reml")
    table = _blocks(model.summary(ddf="wald"))["fixed-effects"]
    assert table.row_labels == tuple(model.fix_ef_names)
    assert table.columns == ("Estimate", "Std. Error", "z value", "Pr(>|z|)")
    summary = model.fix_ef_summary()
    for row, (_, want) in zip(table.rows, summary.iterrows()):
        decimals = len(row[0].split(".")[1])
        assert float(row[0]) == pytest.approx(want["coef"], abs=0.51 * 10 ** -decimals)
        assert float(row[1]) == pytest.approx(want["sd"], abs=0.51 * 10 ** -decimals)
        assert float(row[2]) == pytest.approx(want["z_score"], abs=5.1e-4)
    assert table.notes == ("Tests: Wald z tests (normal approximation).",)


@pytest.mark.parametrize(("column", "method", "header", "kind"), [
    ("coef", "wald", "Estimate", "estimate"),
    ("sd", "wald", "Std. Error", "estimate"),
    ("z_score", "wald", "z value", "statistic"),
    ("WaldZ_p_value", "wald", "Pr(>|z|)", "p"),
    ("t_value", "satterthwaite", "t value", "statistic"),
    ("p_value", "kenward-roger", "Pr(>|t|)", "p"),
    ("df", "satterthwaite", "df", "df"),
    ("something_new", "wald", "something_new", "estimate"),
])
def test_fixed_columns(column, method, header, kind):
    assert fixed_column(column, method) == (header, kind)


def test_fixed_correlation_is_the_lower_triangle(fitted):
    s = fitted("alien_reml").summary()
    table = _blocks(s)["fixed-correlation"]
    names = s.fixed_effects_corr.index.tolist()
    assert table.row_labels == tuple(names[1:]) and table.columns == tuple(names[:-1])
    assert table.short_columns[0] == "intrcp"
    values = s.fixed_effects_corr.to_numpy()
    for i, row in enumerate(table.rows, start=1):
        assert [float(c) for c in row[:i]] == pytest.approx(values[i, :i], abs=5e-4)
        assert all(c == "" for c in row[i:])


def test_one_fixed_effect_has_no_correlation_block(fitted):
    assert "fixed-correlation" not in _blocks(fitted("dyestuff_reml").summary())


def test_large_correlation_matrix_is_not_shown(fitted):
    s = fitted("alien_reml").summary()
    p = MAX_CORRELATION_SIZE + 1
    names = [f"b{i}" for i in range(p)]
    big = dataclasses.replace(s, fixed_effects_corr=pd.DataFrame(np.eye(p), names, names))
    block = _blocks(big)["fixed-correlation"]
    assert isinstance(block, Lines)
    assert f"{p} fixed effects" in block.lines[0]


def test_messages_and_dropped_rows(fitted):
    s = fitted("alien_reml").summary()
    changed = dataclasses.replace(s, messages=("something happened",), n_dropped=3)
    blocks = _blocks(changed)
    assert blocks["messages"].lines == ("something happened",)
    assert "(3 rows with missing values dropped)" in blocks["random-effects"].notes[0]
    assert "messages" not in _blocks(s)


def test_unconfirmed_optimum_is_flagged(fitted):
    s = fitted("alien_reml").summary()
    bad = dataclasses.replace(s, optimizer=dataclasses.replace(s.optimizer, converged=False))
    assert "NOT CONFIRMED" in _blocks(bad)["optimizer"].lines[0]
    assert "(converged)" in _blocks(s)["optimizer"].lines[0]


def test_model_from_matrices_has_no_formula_nor_groups(fitted):
    s = dataclasses.replace(fitted("dyestuff_reml").summary(), formula=None, n_groups={})
    blocks = _blocks(s)
    assert blocks["heading"].lines[0] == "Formula: none (model built from matrices)"
    assert blocks["random-effects"].notes == ("Number of obs: 30",)
