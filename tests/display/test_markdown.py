"""The Markdown rendering: pipe tables with escaped cells."""

from __future__ import annotations

import dataclasses
import re

from mixed_models.display.layout import Table, summary_blocks


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_pipe_tables_are_well_formed(fitted):
    summary = fitted("alien_reml").summary()
    markdown = summary.to_markdown()
    table_lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    tables = [b for b in summary_blocks(summary) if isinstance(b, Table)]
    expected_rows = sum(len(t.rows) + 2 for t in tables)
    assert len(table_lines) == expected_rows
    for table in tables:
        width = len(table.columns) + (table.row_labels is not None)
        rows = [line for line in table_lines if _unescaped_pipes(line) == width + 1]
        assert len(rows) >= len(table.rows) + 2


def test_headings_and_escapes(fitted):
    s = fitted("alien_reml").summary(ddf="wald")
    markdown = s.to_markdown()
    assert markdown.startswith("### Linear mixed model fit by REML\n")
    assert "### Fixed effects" in markdown and "### Random effects" in markdown
    assert r"Formula: Aggression \~ Age + Species + (Age \| Location)" in markdown
    assert r"| Pr(\>\|z\|) |" in markdown
    odd = dataclasses.replace(s, messages=("x_1 * y",))
    assert r"- x\_1 \* y" in odd.to_markdown()
    assert s.to_markdown().count("| ---: |") >= 1


def test_heading_level(fitted):
    from mixed_models.display import render_markdown

    text = render_markdown(fitted("dyestuff_reml").summary(), heading_level=2)
    assert text.startswith("## Linear mixed model")
