"""Hostile names (column names, level labels, the formula's text) leave every rendering as
plain text: the same structure as a model with harmless names, no live Markdown or
HTML, no control characters."""

from __future__ import annotations

import dataclasses
import unicodedata
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.display import ModelSummary
from mixed_models.display.escape import html_text, markdown, printable

HOSTILE = {
    "image": "![p](http://host/pixel)",
    "link": "[click](javascript:alert(1))",
    "pipe": "a|b",
    "backticks": "x`y`",
    "script": "<script>alert(1)</script>",
    "newline": "new\nline",
    "carriage return": "over\rwrite",
    "tab": "tab\there",
    "terminal escape": "esc\x1b[2J",
    "bidi override": "abc\u202edef",
    "mathtext": "$\\frac{$",
    "heading": "# head",
    "entity": "&lt;b&gt;",
    "emphasis": "*a* _b_ ~c~",
    "autolink": "<http://host>",
}
HARMLESS = "plain"
# Markdown's inline markup characters: none may reach the output unescaped.
MARKUP = set("`*_[]<>!$&~")


def hostile_model(name: str) -> LMM:
    """sleepstudy with ``name`` in a column name (so in the formula), in the level labels
    of the grouping factor and in those of a fixed factor."""
    sleep = datasets.load("sleepstudy")
    column = name if "`" not in name else "x"  # a backtick cannot be written in backticks
    labels = {s: f"{name} {i}" for i, s in enumerate(sleep["Subject"].unique())}
    data = pd.DataFrame({
        "Reaction": sleep["Reaction"],
        column: sleep["Days"],
        "g": sleep["Subject"].map(labels),
        "f": pd.Categorical(np.where(sleep["Days"] % 2 == 0, "base", name),
                            categories=["base", name]),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(f"Reaction ~ `{column}` + f + (1 | g)", data)


def hostile_summary(model: LMM, name: str) -> ModelSummary:
    """The model's summary with ``name`` also in the grouping factor's name and in the
    formula's text (the grouping factor is called ``g`` in the data)."""
    s = model.summary()
    group = f"{name} g"
    random = s.random_effects.assign(group=s.random_effects["group"].replace("g", group))
    return dataclasses.replace(s, formula=f"{s.formula} + (1 | `{group}`)",
                               random_effects=random, n_groups={group: s.n_groups["g"]})


@pytest.fixture(scope="module")
def summaries():
    cache: dict[str, ModelSummary] = {}

    def get(name: str) -> ModelSummary:
        if name not in cache:
            cache[name] = hostile_summary(hostile_model(name), name)
        return cache[name]

    return get


def _controls(text: str) -> list[str]:
    return [c for c in text if c != "\n" and (unicodedata.category(c) in ("Cc", "Zl", "Zp")
                                              or c == "\u202e")]


def _unescaped(text: str, chars: set[str]) -> list[str]:
    """The characters of ``chars`` in ``text`` that no backslash escapes."""
    found, escaped = [], False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in chars:
            found.append(c)
    return found


def _pipes(line: str) -> int:
    return len(_unescaped(line, {"|"}))


class _Tags(HTMLParser):
    """Start tags with their attribute names, and the text content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_text_has_no_control_characters_and_keeps_its_lines(kind, summaries):
    name = HOSTILE[kind]
    text, plain = summaries(name).to_text(), summaries(HARMLESS).to_text()
    assert _controls(text) == []
    assert len(text.splitlines()) == len(plain.splitlines())
    assert printable(name) in text


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_markdown_shows_names_as_text(kind, summaries):
    name = HOSTILE[kind]
    md = summaries(name).to_markdown()
    plain = summaries(HARMLESS).to_markdown()
    assert _unescaped(md, MARKUP) == []
    assert _controls(md) == []
    # the same lines, tables of the same shape, the same headings
    assert [_pipes(line) for line in md.splitlines()] == \
        [_pipes(line) for line in plain.splitlines()]
    assert [line for line in md.splitlines() if line.startswith("#")] == \
        [line for line in plain.splitlines() if line.startswith("#")]
    assert markdown(name) in md
    assert "http://" not in md  # no autolink trigger


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_html_has_the_tags_of_harmless_names(kind, summaries):
    name = HOSTILE[kind]
    page = _parse(summaries(name).to_html())
    plain = _parse(summaries(HARMLESS).to_html())
    assert page.tags == plain.tags  # no <script>, <img> or <a> from a name
    text = "".join(page.text)
    assert printable(name) in text
    assert _controls(text) == []


@pytest.mark.parametrize("name", list(HOSTILE.values()) + ["ok", "", "a\\b"])
def test_escapes_round_trip_for_a_reader(name):
    # what a Markdown reader shows: each backslash escape gives its character back
    md = markdown(name, line_start=True)
    shown, escaped = [], False
    for c in md:
        if escaped or c != "\\":
            shown.append(c)
            escaped = False
        else:
            escaped = True
    assert "".join(shown) == printable(name)
    assert _parse(f"<p>{html_text(name)}</p>").text in ([printable(name)], [])


@pytest.mark.parametrize("line, escaped", [
    ("# title", "\\# title"), ("- item", "\\- item"), ("+ item", "\\+ item"),
    ("1. first", "1\\. first"), ("12) twelfth", "12\\) twelfth"), ("=", "\\="),
    ("Formula: y ~ x", "Formula: y \\~ x"),
])
def test_block_markers_at_the_start_of_a_line(line, escaped):
    assert markdown(line, line_start=True) == escaped
