"""Escaping of user-derived text (column names, level labels, the formula, file names) on
its way out of the library: plain text, Markdown and HTML.

Names come from data files and formulas, which are untrusted: a column named
``![p](http://host/pixel)`` must show as those characters, never as an image that a
Markdown viewer loads; a level label holding a terminal escape sequence or a newline
must not rewrite a terminal or break a table. So every renderer passes every string it
did not write itself through one of these functions.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Bidirectional controls reorder what a reader sees (unicode's "Trojan source" problem);
# they are format characters (Cf), most of which (joiners in emoji and scripts) are fine.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Characters Markdown (CommonMark, GitHub's extensions, GitHub's $math$) reads as
# inline markup; escaping '[' and ']' is what turns links and images into text.
_MARKDOWN_INLINE = "\\`*_[]<>|~!&$"
# Markup that only counts at the start of a line: headings, lists, quotes, rules.
_LINE_MARKER = re.compile(r"^(\s*)([#+=-])")
_LINE_NUMBER = re.compile(r"^(\s*\d+)([.)])")


def _visible(char: str) -> str:
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI


def printable(text: object) -> str:
    """``str(text)`` with control characters (newlines, tabs, escape sequences, bidi
    overrides) shown as Python-style escapes (``\\n``, ``\\x1b``, ``\\u202e``), so one
    name stays one line of plain characters."""
    text = str(text)
    if not any(_is_control(c) for c in text):
        return text
    return "".join(_visible(c) if _is_control(c) else c for c in text)


def markdown(text: object, line_start: bool = False) -> str:
    """Text that a Markdown renderer shows literally, in a table cell or a line.

    Control characters are made visible (:func:`printable`), inline markup characters
    are backslash-escaped (links, images, emphasis, code, raw HTML, entities, math and
    table pipes become text) and ``"://"`` loses its autolink trigger. With
    ``line_start``, a leading heading, list or rule marker is escaped too.
    """
    text = printable(text)
    out = "".join("\\" + c if c in _MARKDOWN_INLINE else c for c in text)
    out = out.replace("://", "\\://")
    if line_start:
        out = _LINE_MARKER.sub(r"\1\\\2", out)
        out = _LINE_NUMBER.sub(r"\1\\\2", out)
    return out


def html_text(text: object) -> str:
    """Text for HTML element content or a quoted attribute value: control characters
    made visible, then ``& < > " '`` as entities."""
    return html.escape(printable(text), quote=True)
