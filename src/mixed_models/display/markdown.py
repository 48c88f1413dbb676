"""Markdown rendering of a model summary (GitHub-flavoured pipe tables).

Every cell and line is escaped (:func:`mixed_models.display.escape.markdown`): names
from the data and the formula show as text, never as links, images, HTML or table
structure.
"""

from __future__ import annotations

from mixed_models.display.escape import markdown
from mixed_models.display.layout import Block, Lines, Table, summary_blocks
from mixed_models.display.values import SummaryValues


def render_markdown(summary: SummaryValues, heading_level: int = 3) -> str:
    """The summary as Markdown; section titles are headings of ``heading_level``."""
    hashes = "#" * heading_level
    parts = []
    for block in summary_blocks(summary):
        text = _block(block)
        if block.title:
            text = f"{hashes} {_escape(block.title)}\n\n{text}"
        parts.append(text)
    return "\n\n".join(parts) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Lines):
        if block.bullets:
            return "\n".join(f"- {_escape(line, True)}" for line in block.lines)
        return "  \n".join(_escape(line, True) for line in block.lines)
    lines = _table(block)
    if block.notes:
        lines += [""] + [_escape(n, True) for n in block.notes]
    return "\n".join(lines)


def _table(table: Table) -> list[str]:
    headers = [_escape(h) or " " for h in table.columns]
    aligns = ["---:" if right else ":---" for right in table.numeric]
    rows = [[_escape(c) for c in r] for r in table.rows]
    if table.row_labels is not None:
        headers.insert(0, " ")
        aligns.insert(0, ":---")
        rows = [[_escape(label)] + r for label, r in zip(table.row_labels, rows)]
    return ["| " + " | ".join(cells) + " |" for cells in [headers, aligns] + rows]


def _escape(text: str, line_start: bool = False) -> str:
    """Text Markdown shows literally; ``line_start`` for text that begins a line."""
    return markdown(text, line_start)
