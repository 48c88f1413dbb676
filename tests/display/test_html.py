"""The HTML rendering (Jupyter's _repr_html_ and the report's tables)."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from mixed_models.display.layout import Table, summary_blocks


class _Tables(HTMLParser):
    """Collects the tables (as lists of rows of cell texts) and checks tag nesting."""

    VOID = {"br", "img", "meta", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.tables, self.keys = [], [], []
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
            self.keys.append(dict(attrs).get("data-table"))
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self.stack and self.stack[-1] in ("td", "th"):
            self.tables[-1][-1][-1] += data


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


def test_tables_hold_the_layout_cells(fitted):
    summary = fitted("alien_reml").summary()
    parsed = _parse(summary.to_html())
    tables = [b for b in summary_blocks(summary) if isinstance(b, Table)]
    assert parsed.keys == [t.key for t in tables]
    for got, table in zip(parsed.tables, tables):
        header, body = got[0], got[1:]
        labels = [] if table.row_labels is None else [""]
        assert header == labels + list(table.columns)
        want = [([] if table.row_labels is None else [label]) + list(row)
                for label, row in zip(table.row_labels or [None] * len(table.rows), table.rows)]
        assert body == want


def test_fragment_is_scoped_and_styled(fitted):
    html = fitted("dyestuff_reml").summary().to_html()
    assert html.startswith("<style>") and '<div class="mm-summary">' in html
    assert ".mm-summary" in html.split("</style>")[0]
    bare = fitted("dyestuff_reml").summary()
    from mixed_models.display import render_html
    assert "<style>" not in render_html(bare, standalone_style=False)


def test_text_is_escaped(fitted):
    s = fitted("dyestuff_reml").summary()
    odd = dataclasses.replace(s, formula="y ~ <b>x</b> & (1 | g)", messages=("a < b",))
    html = odd.to_html()
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt; &amp;" in html
    parsed = _parse(html)
    assert "Formula: y ~ <b>x</b> & (1 | g)" in "".join(parsed.text)
