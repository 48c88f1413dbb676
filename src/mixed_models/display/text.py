"""Plain-text rendering of a model summary, laid out as lme4's ``summary()``."""

from __future__ import annotations

from mixed_models.display.layout import Block, Lines, Table, summary_blocks
from mixed_models.display.summary import ModelSummary


def render_text(summary: ModelSummary) -> str:
    """The summary as fixed-width text (what ``print(model)`` shows)."""
    parts = [_block(b) for b in summary_blocks(summary)]
    return "\n\n".join(parts)


def _block(block: Block) -> str:
    if isinstance(block, Lines):
        lines = [f"  - {line}" for line in block.lines] if block.bullets else list(block.lines)
    else:
        lines = table_lines(block) + list(block.notes)
    if block.title:
        lines.insert(0, block.title + ("" if block.key == "heading" else ":"))
    return "\n".join(lines)


def table_lines(table: Table) -> list[str]:
    """A table as aligned lines: numbers right-aligned, text left-aligned."""
    headers = list(table.short_columns or table.columns)
    body = [list(r) for r in table.rows]
    aligns = list(table.numeric)
    if table.row_labels is not None:
        headers.insert(0, "")
        body = [[label] + r for label, r in zip(table.row_labels, body)]
        aligns.insert(0, False)
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, aligns)]
        return (" " + " ".join(padded)).rstrip()

    return [line(headers)] + [line(r) for r in body]
