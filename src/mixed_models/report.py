"""A self-contained HTML report of a fitted model: the summary tables and the diagnostic
plots, with the images embedded as base64 PNG (one file, no network, no scripts). Every
name from the data, the formula and the title is escaped, in the HTML and in the plots'
labels.

The page is responsive (the plots form a grid that becomes one column on a phone, wide
tables scroll inside their box) and has print rules (no scrolling boxes, no breaks
inside a table or a figure). Needs matplotlib (``mixed_models[plot]``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mixed_models._version import __version__
from mixed_models.display.escape import html_text as escape
from mixed_models.display.export import write_text_atomically
from mixed_models.display.summary import summarize
from mixed_models.fitted.record import as_record
from mixed_models.fitted.results import ran_ef_table
from mixed_models.display.html import STYLE, render_html, table_html
from mixed_models.display.layout import Table
from mixed_models.display.numbers import format_column
from mixed_models.plotting import diagnostics, glmm_diagnostics
from mixed_models.plotting._backend import figure_class
from mixed_models.plotting.ranef import caterpillar

DPI = 100
# the GLMM report's quantile residuals: fixed, so that a report is reproducible
REPORT_NSIM = 250
REPORT_SEED = 20240601
MAX_TABLE_ROWS = 200  # longer tables of conditional modes are cut (the plots show them all)

PAGE_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0 auto; max-width: 64rem; padding: 1rem 1.25rem 3rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  background: #fff; -webkit-text-size-adjust: 100%; }
header h1 { font-size: 1.5rem; margin: .5rem 0 .2rem; }
header p { margin: 0; color: #555; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd;
  padding-bottom: .2rem; }
.mm-grid { display: grid; gap: 1rem;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; width: 100%; max-width: 100%; height: auto;
  border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; margin-top: .25rem; }
footer { margin-top: 2.5rem; font-size: .8rem; color: #777; }
@media (max-width: 40rem) {
  body { padding: .75rem .6rem 2rem; font-size: 15px; }
  header h1 { font-size: 1.25rem; }
  .mm-summary table { font-size: .82em; }
  .mm-summary th, .mm-summary td { padding: .15em .35em; }
}
@media print {
  @page { margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .mm-summary .mm-scroll { overflow: visible; }
  .mm-grid { display: block; }
  figure { width: 80%; margin: 0 auto 1rem; }
  section, table, figure { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""


@dataclass(frozen=True)
class Image:
    """A PNG embedded in the report."""

    caption: str
    data: str  # base64
    width: int
    height: int

    def html(self) -> str:
        return (f'<figure><img src="data:image/png;base64,{self.data}" '
                f'width="{self.width}" height="{self.height}" alt="{escape(self.caption)}">'
                f"<figcaption>{escape(self.caption)}</figcaption></figure>")


def _png(draw: Callable[[Any], Any], figsize: tuple[float, float], caption: str) -> Image:
    fig = figure_class()(figsize=figsize, layout="constrained")
    draw(fig.add_subplot())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    width, height = (round(v * DPI) for v in figsize)
    return Image(caption, base64.b64encode(buffer.getvalue()).decode("ascii"), width, height)


def diagnostic_images(model: Any) -> list[Image]:
    """The four residual plots, as images."""
    plots = [
        (diagnostics.residuals_vs_fitted, "Residuals against fitted values"),
        (diagnostics.qq_plot, "Normal Q-Q plot of the scaled residuals"),
        (diagnostics.residual_histogram, "Histogram of the scaled residuals, N(0, 1) density"),
        (diagnostics.observed_vs_fitted, "Observed response against fitted values"),
    ]
    return [_png(lambda ax, f=f: f(model, ax=ax), (5.0, 4.0), caption) for f, caption in plots]


def glmm_diagnostic_images(model: Any, quantiles: Any) -> list[Image]:
    """A GLMM's residual plots: the simulated quantile residuals (uniform Q-Q plot, and
    against the predicted values), Pearson residuals against the linear predictor, and
    for binary data the binned residual plot."""
    plots = [
        (lambda ax: glmm_diagnostics.quantile_qq_plot(quantiles, ax=ax),
         f"Uniform Q-Q plot of the simulated quantile residuals ({quantiles.nsim} "
         "simulations given the conditional modes)"),
        (lambda ax: glmm_diagnostics.quantile_residuals_vs_predicted(quantiles, ax=ax),
         "Simulated quantile residuals against the predicted values (ranks)"),
        (lambda ax: glmm_diagnostics.pearson_vs_linear_predictor(model, ax=ax),
         "Pearson residuals against the linear predictor"),
    ]
    if is_binary(model):
        plots.append((lambda ax: glmm_diagnostics.binned_residual_plot(model, ax=ax),
                      "Binned residuals: mean residual per bin of fitted probabilities, "
                      "+-2 standard errors"))
    return [_png(draw, (5.0, 4.0), caption) for draw, caption in plots]


def is_binary(model: Any) -> bool:
    """A binomial GLMM with one trial per row (0/1 data)."""
    fit = as_record(model)
    return (fit.is_generalized and fit.family.name == "binomial"
            and bool(np.allclose(fit.problem.core.weights, 1.0)))


def _checks_table(model: Any, quantiles: Any) -> str:
    """The residual checks of a GLMM: the KS test of the quantile residuals, and the
    Pearson overdispersion statistic (binomial and Poisson)."""
    from mixed_models.display.glmm_summary import summarize_glmm

    rows = [("Quantile residuals vs U(0, 1): Kolmogorov-Smirnov", "D",
             format_column([quantiles.ks_statistic])[0],
             format_column([quantiles.p_value])[0])]
    over = summarize_glmm(model).overdispersion
    if over is not None:
        chi2, df, ratio, p_value = over
        rows.append((f"Overdispersion: Pearson chi2 {format_column([chi2])[0]} on {df} df",
                     "ratio", format_column([ratio])[0], format_column([p_value])[0]))
    cells = Table("residual-checks", None, ("Check", "Statistic", "Value", "p-value"),
                  tuple(rows), (False, False, True, True))
    return f'<div class="mm-summary"><div class="mm-scroll">{table_html(cells)}</div></div>'


def caterpillar_images(model: Any, table: pd.DataFrame) -> list[Image]:
    """One caterpillar plot per grouping factor and random-effect column with at least
    two levels (``table`` is the model's ``ran_ef_table()``)."""
    images = []
    for (group, term), rows in table.groupby(["group", "term"], sort=False):
        if len(rows) < 2:  # nothing to compare (e.g. a model built from matrices)
            continue
        height = max(3.0, min(0.2 * len(rows) + 1.4, 12.0))
        images.append(_png(lambda ax, g=group, t=term: caterpillar(model, g, t, ax=ax,
                                                                   table=table),
                           (5.0, height),
                           f"Conditional modes of {term} by {group}, 95% intervals"))
    return images


def _modes_table(table: pd.DataFrame) -> str:
    """The conditional modes with conditional SDs (at most MAX_TABLE_ROWS rows)."""
    shown = table.head(MAX_TABLE_ROWS)
    cells = Table(
        "conditional-modes", None, ("Group", "Level", "Term", "Mode", "Cond. SD"),
        tuple(zip(shown["group"].astype(str), shown["level"].astype(str),
                  shown["term"].astype(str), format_column(shown["value"].to_numpy()),
                  format_column(shown["cond_sd"].to_numpy()))),
        (False, False, False, True, True))
    note = ""
    if len(table) > MAX_TABLE_ROWS:
        note = (f'<p class="mm-note">First {MAX_TABLE_ROWS} of {len(table)} rows; '
                "model.ran_ef_table() has them all.</p>")
    return f'<div class="mm-summary"><div class="mm-scroll">{table_html(cells)}</div>{note}</div>'


def render_report(model: Any, title: str | None = None, ddf: str | None = None) -> str:
    """The report as one HTML document (a string).

    For a GLMM: the glmer summary (Wald z tests; ``ddf`` None or ``"wald"``), the
    residual checks (simulated quantile residuals with their Kolmogorov-Smirnov test,
    the overdispersion statistic) and GLMM residual plots (see
    :func:`glmm_diagnostic_images`).
    """
    model = as_record(model)
    modes = ran_ef_table(model)
    checks = ""
    if model.is_generalized:
        title = title or "Generalized linear mixed model report"
        summary, figures, checks = _glmm_parts(model, ddf)
    else:
        title = title or "Linear mixed model report"
        summary = summarize(model, ddf=ddf)
        figures = "".join(i.html() for i in diagnostic_images(model))
    caterpillars = "".join(i.html() for i in caterpillar_images(model, modes))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}{PAGE_STYLE}</style>
</head>
<body>
<header><h1>{escape(title)}</h1><p>{escape(str(model.formula))}</p></header>
<main>
<h2>Summary</h2>
{render_html(summary, standalone_style=False)}
{checks}<h2>Diagnostic plots</h2>
<div class="mm-grid" id="diagnostics">{figures}</div>
<h2>Random effects</h2>
<div class="mm-grid" id="random-effects">{caterpillars}</div>
<h2>Conditional modes</h2>
{_modes_table(modes)}
</main>
<footer>Made by mixed_models {escape(__version__)}.</footer>
</body>
</html>
"""


def _glmm_parts(model: Any, ddf: str | None) -> tuple[Any, str, str]:
    """A GLMM's summary, its residual plots (HTML) and its residual checks section."""
    from mixed_models.display.glmm_summary import summarize_glmm
    from mixed_models.errors import InvalidArgumentError
    from mixed_models.inference.glmm_simulate import simulate_responses
    from mixed_models.inference.quantile_residuals import quantile_residuals

    if ddf not in (None, "wald"):
        raise InvalidArgumentError(f"a GLMM's report has Wald z tests: ddf must be None or "
                                   f"'wald', got {ddf!r}")
    rng = np.random.default_rng(REPORT_SEED)
    simulated = simulate_responses(model, REPORT_NSIM, rng, use_ran_ef=True)
    quantiles = quantile_residuals(model, simulated, rng)
    figures = "".join(i.html() for i in glmm_diagnostic_images(model, quantiles))
    checks = f"<h2>Residual checks</h2>\n{_checks_table(model, quantiles)}\n"
    return summarize_glmm(model), figures, checks


def write_report(model: Any, path: str | Path, title: str | None = None,
                 ddf: str | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (parent folders are created; atomically,
    see :func:`~mixed_models.display.export.write_text_atomically`); returns it."""
    return write_text_atomically(path, render_report(model, title, ddf))
