"""The summary laid out as blocks of formatted cells, shared by every rendering.

:func:`summary_blocks` turns a :class:`~mixed_models.display.summary.SummaryValues` into
a list of :class:`Lines` and :class:`Table` blocks whose cells are already formatted
strings; the text, HTML and Markdown renderers only arrange them. So the three
renderings always show the same numbers with the same digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.display.numbers import (
    abbreviate,
    decimals_for,
    format_column,
    format_pvalues,
)
from mixed_models.display.values import GlmmValues, SummaryValues

MAX_CORRELATION_SIZE = 12  # as lme4: the correlation of more fixed effects is not printed
DIGITS = 4


@dataclass(frozen=True)
class Lines:
    """A few lines of text, with an optional title."""

    key: str
    title: str | None
    lines: tuple[str, ...]
    bullets: bool = False


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    ``row_labels`` (when given) are row header cells; ``short_columns`` are narrow
    column headers for the plain-text rendering; ``numeric`` says which columns are
    right-aligned; ``notes`` are lines printed under the table.
    """

    key: str
    title: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    row_labels: tuple[str, ...] | None = None
    short_columns: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()


Block = Lines | Table


STREAMED_RESIDUALS = ("not available: a streamed fit keeps no rows "
                      "(model.write_rows(path) writes the residuals)")


def summary_blocks(s: SummaryValues) -> list[Block]:
    """The blocks of a summary in lme4's order."""
    blocks: list[Block | None] = [
        _heading(s), _criteria(s), _residuals(s), _random_effects(s), _fixed_effects(s),
        _overdispersion(s), _fixed_correlation(s), _optimizer(s), _messages(s),
    ]
    return [b for b in blocks if b is not None]


def title_line(s: SummaryValues) -> str:
    """``Linear mixed model fit by REML`` (or maximum likelihood); for a GLMM lme4's
    ``Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)``."""
    if isinstance(s, GlmmValues):
        return ("Generalized linear mixed model fit by maximum likelihood "
                f"({s.approximation})")
    return "Linear mixed model fit by " + ("REML" if s.reml else "maximum likelihood")


def _heading(s: SummaryValues) -> Lines:
    lines = [f" Family: {s.family}  ( {s.link} )"] if isinstance(s, GlmmValues) else []
    lines += [f"Formula: {s.formula}" if s.formula is not None
             else "Formula: none (model built from matrices)"]
    if s.weighted:
        lines.append("Weights: prior weights given")
    if s.has_offset:
        lines.append("Offset: given")
    return Lines("heading", title_line(s), tuple(lines))


def _criteria(s: SummaryValues) -> Block:
    if s.reml:
        return Lines("criteria", None, (f"REML criterion at convergence: {s.criterion:.4f}",))
    values = [s.aic, s.bic, s.log_likelihood, s.criterion]
    cells = [f"{v:.4f}" for v in values] + [str(s.df_residual)]
    deviance = "-2*log(L)" if isinstance(s, GlmmValues) else "deviance"
    return Table("criteria", None, ("AIC", "BIC", "logLik", deviance, "df.resid"),
                 (tuple(cells),), (True,) * 5)


def _residuals(s: SummaryValues) -> Block:
    if s.scaled_residuals.empty:  # a model fitted from streamed rows
        return Lines("residuals", "Scaled residuals", (STREAMED_RESIDUALS,))
    values = s.scaled_residuals.to_numpy()
    decimals = decimals_for(values, DIGITS)
    largest = np.max(np.abs(values))
    if decimals is not None and largest > 0:
        # as lme4's zapsmall: no more decimals than DIGITS + 1 digits of the largest give
        decimals = min(decimals, max(DIGITS - int(np.floor(np.log10(largest))), 0))
    cells = format_column(values, DIGITS, decimals=decimals)
    return Table("residuals", "Scaled residuals", tuple(s.scaled_residuals.index),
                 (tuple(cells),), (True,) * len(cells))


def _random_effects(s: SummaryValues) -> Table:
    re = s.random_effects
    groups = re["group"].where(~re["group"].duplicated(), "").tolist()
    variance = format_column(re["variance"].to_numpy(), DIGITS)
    std_dev = format_column(re["std_dev"].to_numpy(), DIGITS)
    corr = _correlation_cells(s, re)
    if not any(cell for row in corr for cell in row):  # no correlation parameter at all
        corr = [[] for _ in corr]
    width = max((len(c) for c in corr), default=0)
    columns = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] + [""] * (width - 1)
                                                           if width else [])
    rows = tuple(tuple([g, str(n), v, d] + c + [""] * (width - len(c)))
                 for g, n, v, d, c in zip(groups, re["name"], variance, std_dev, corr))
    return Table("random-effects", "Random effects", tuple(columns), rows,
                 (False, False, True, True) + (True,) * width, notes=(_group_line(s),))


def _correlation_cells(s: SummaryValues, re: pd.DataFrame) -> list[list[str]]:
    """lme4's lower triangle: the row of a column holds its correlations with earlier ones."""
    cells = []
    for group, name in zip(re["group"], re["name"]):
        corr = s.random_effects_corr.get(group)
        if corr is None or name not in corr.index:
            cells.append([])
            continue
        position = list(corr.index).index(name)
        values = corr.loc[name].to_numpy()[:position]
        cells.append(["" if np.isnan(v) else f"{v:.3f}" for v in values])
    return cells


def _group_line(s: SummaryValues) -> str:
    groups = "; ".join(f"{g}, {n}" for g, n in s.n_groups.items())
    dropped = (f" ({s.n_dropped} rows with missing values dropped)" if s.n_dropped else "")
    return f"Number of obs: {s.n_obs}{dropped}" + (f", groups: {groups}" if groups else "")


# How fix_ef_summary's columns are shown: header and kind of number.
_FIXED_COLUMNS = {
    "coef": ("Estimate", "estimate"), "estimate": ("Estimate", "estimate"),
    "sd": ("Std. Error", "estimate"), "se": ("Std. Error", "estimate"),
    "std_error": ("Std. Error", "estimate"),
    "df": ("df", "df"), "ddf": ("df", "df"), "den_df": ("df", "df"),
    "z_score": ("z value", "statistic"), "z_value": ("z value", "statistic"),
    "z": ("z value", "statistic"),
    "t_value": ("t value", "statistic"), "t_score": ("t value", "statistic"),
    "t": ("t value", "statistic"),
}


def fixed_column(name: str, test_method: str) -> tuple[str, str]:
    """Header and kind (estimate, df, statistic, p) of a fix_ef_summary column."""
    key = name.lower()
    if key in _FIXED_COLUMNS:
        return _FIXED_COLUMNS[key]
    if "p_value" in key or key in ("p", "pvalue", "pr"):
        return ("Pr(>|z|)" if test_method == "wald" else "Pr(>|t|)"), "p"
    return name, "estimate"


def _format_by_kind(values: np.ndarray, kind: str, decimals: int | None) -> list[str]:
    if kind == "p":
        return format_pvalues(values)
    if kind == "df":
        return format_column(values, decimals=2)
    if kind == "statistic":
        return format_column(values, decimals=3)
    return format_column(values, DIGITS, decimals=decimals)


def _fixed_effects(s: SummaryValues) -> Table:
    table = s.fixed_effects
    names = [str(n) for n in table.columns]
    heads = [fixed_column(n, s.test_method) for n in names]
    # estimates and standard errors share their decimals, as in R's printCoefmat
    shared = decimals_for(np.concatenate(
        [table[n].to_numpy(dtype=float) for n, (_, kind) in zip(names, heads)
         if kind == "estimate"] or [np.zeros(0)]), DIGITS)
    columns = [_format_by_kind(table[n].to_numpy(dtype=float), kind, shared)
               for n, (_, kind) in zip(names, heads)]
    rows = tuple(zip(*columns)) if columns else ()
    return Table("fixed-effects", "Fixed effects", tuple(h for h, _ in heads), tuple(rows),
                 (True,) * len(heads), row_labels=tuple(map(str, table.index)),
                 notes=(f"Tests: {s.test_description}.",))


def _overdispersion(s: SummaryValues) -> Lines | None:
    if not isinstance(s, GlmmValues) or s.overdispersion is None:
        return None
    chi2, df, ratio, p = s.overdispersion
    return Lines("overdispersion", None, (
        f"Overdispersion: Pearson chi2 = {chi2:.2f} on {df} df, ratio {ratio:.3f}, "
        f"p = {format_pvalues(np.array([p]))[0]}",))


def _fixed_correlation(s: SummaryValues) -> Block | None:
    corr = s.fixed_effects_corr
    p = corr.shape[0]
    if p < 2:
        return None
    if p > MAX_CORRELATION_SIZE:
        return Lines("fixed-correlation", "Correlation of fixed effects", (
            f"not shown for {p} fixed effects (more than {MAX_CORRELATION_SIZE}); "
            "it is in summary().fixed_effects_corr",))
    names = [str(n) for n in corr.index]
    values = corr.to_numpy()
    rows = tuple(tuple(f"{values[i, j]:.3f}" if j < i else "" for j in range(p - 1))
                 for i in range(1, p))
    return Table("fixed-correlation", "Correlation of fixed effects", tuple(names[:-1]), rows,
                 (True,) * (p - 1), row_labels=tuple(names[1:]),
                 short_columns=tuple(abbreviate(n) for n in names[:-1]))


def _optimizer(s: SummaryValues) -> Lines:
    o = s.optimizer
    state = "converged" if o.converged else "NOT CONFIRMED, see the messages"
    return Lines("optimizer", None, (f"Optimizer: {o.optimizer}, {o.evaluations} evaluations, "
                                     f"return code {o.return_code} ({state})",))


def _messages(s: SummaryValues) -> Lines | None:
    if not s.messages:
        return None
    return Lines("messages", "Messages", s.messages, bullets=True)
