"""HTML rendering of a model summary: a fragment for Jupyter and for the report.

The fragment carries a small style sheet scoped to ``.mm-summary`` so it reads the
same in a notebook and in the standalone report; wide tables scroll inside their box
instead of widening the page (phones). Every string is escaped
(:func:`mixed_models.display.escape.html_text`), names from the data included.
"""

from __future__ import annotations

from mixed_models.display.escape import html_text as escape
from mixed_models.display.layout import Block, Lines, Table, summary_blocks
from mixed_models.display.values import SummaryValues

STYLE = """
.mm-summary { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.4; color: #1a1a1a; max-width: 100%; }
.mm-summary h3 { font-size: 1.15em; margin: 0 0 .3em; }
.mm-summary h4 { font-size: 1em; margin: 1em 0 .3em; }
.mm-summary p { margin: .2em 0; }
.mm-summary .mm-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
.mm-summary table { border-collapse: collapse; font-variant-numeric: tabular-nums;
  font-size: .92em; margin: .2em 0; }
.mm-summary th, .mm-summary td { padding: .2em .6em; border-bottom: 1px solid #e3e3e3;
  white-space: nowrap; }
.mm-summary thead th { border-bottom: 2px solid #999; text-align: center; }
.mm-summary td.num { text-align: right; }
.mm-summary td.txt, .mm-summary th[scope=row] { text-align: left; }
.mm-summary th[scope=row] { font-weight: 600; }
.mm-summary .mm-note { color: #444; font-size: .9em; }
.mm-summary ul.mm-messages { margin: .2em 0; padding-left: 1.2em; color: #8a4b00; }
"""


def render_html(summary: SummaryValues, standalone_style: bool = True) -> str:
    """The summary as an HTML fragment (a ``div.mm-summary``).

    Parameters
    ----------
    summary
        The model summary.
    standalone_style
        Include the ``<style>`` element (a page that already has :data:`STYLE` can
        leave it out).
    """
    parts = [f"<style>{STYLE}</style>"] if standalone_style else []
    parts.append('<div class="mm-summary">')
    for block in summary_blocks(summary):
        parts.append(_block(block))
    parts.append("</div>")
    return "\n".join(parts)


def _block(block: Block) -> str:
    tag = "h3" if block.key == "heading" else "h4"
    title = f"<{tag}>{escape(block.title)}</{tag}>" if block.title else ""
    if isinstance(block, Lines):
        if block.bullets:
            items = "".join(f"<li>{escape(line)}</li>" for line in block.lines)
            body = f'<ul class="mm-messages">{items}</ul>'
        else:
            body = "".join(f"<p>{escape(line)}</p>" for line in block.lines)
    else:
        notes = "".join(f'<p class="mm-note">{escape(n)}</p>' for n in block.notes)
        body = f'<div class="mm-scroll">{table_html(block)}</div>{notes}'
    return f'<section class="mm-{block.key}">{title}{body}</section>'


def table_html(table: Table) -> str:
    """A :class:`Table` as an HTML table with a header row and row headers."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    if table.row_labels is not None:
        head = '<th scope="col"></th>' + head
    rows = []
    labels = table.row_labels or [None] * len(table.rows)
    for label, row in zip(labels, table.rows):
        cells = "".join(f'<td class="{"num" if right else "txt"}">{escape(c)}</td>'
                        for c, right in zip(row, table.numeric))
        if label is not None:
            cells = f'<th scope="row">{escape(label)}</th>' + cells
        rows.append(f"<tr>{cells}</tr>")
    return (f'<table class="mm-table" data-table="{escape(table.key)}">'
            f"<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
