"""Plain-text rendering of a model summary, laid out as lme4's ``summary()``.

Control characters in names (newlines, tabs, terminal escape sequences) are shown as
escapes (:func:`mixed_models.display.escape.printable`): one name, one cell.
"""

from __future__ import annotations

from mixed_models.display.escape import printable
from mixed_models.display.layout import Block, Lines, Table, summary_blocks
from mixed_models.display.values import SummaryValues


def render_text(summary: SummaryValues) -> str:
    """The summary as fixed-width text (what ``print(model)`` shows)."""
    parts = [_block(b) for b in summary_blocks(summary)]
    return "\n\n".join(parts)


def _block(block: Block) -> str:
    if isinstance(block, Lines):
        lines = [printable(line) for line in block.lines]
        if block.bullets:
            lines = [f"  - {line}" for line in lines]
    else:
        lines = table_lines(block) + [printable(n) for n in block.notes]
    if block.title:
        lines.insert(0, printable(block.title) + ("" if block.key == "heading" else ":"))
    return "\n".join(lines)


def table_lines(table: Table) -> list[str]:
    """A table as aligned lines: numbers right-aligned, text left-aligned."""
    headers = [printable(h) for h in table.short_columns or table.columns]
    body = [[printable(c) for c in r] for r in table.rows]
    aligns = list(table.numeric)
    if table.row_labels is not None:
        headers.insert(0, "")
        body = [[printable(label)] + r for label, r in zip(table.row_labels, body)]
        aligns.insert(0, False)
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, aligns)]
        return (" " + " ".join(padded)).rstrip()

    return [line(headers)] + [line(r) for r in body]
