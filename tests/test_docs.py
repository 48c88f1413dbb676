"""Every ```python block of every page in docs/ (and of README.md) runs, and every
output a page shows is what running it prints.

The blocks of one page run in order in one namespace (a page is one session), in a
temporary working directory, with matplotlib's non-interactive backend. A failure
names the page and the line of the block in it.

Output blocks
-------------
A fenced block whose info string is ``output`` shows what the ``python`` block right
before it prints to stdout (what a block prints with no output block after it is not
shown). It is never
written by hand: ``python tests/test_docs.py --update`` runs every page and rewrites
its output blocks (``--update PAGE...`` only those pages). An output block whose last
line is ``...`` shows the first lines of the output only; regenerating keeps that
number of lines.

The test compares what a page shows with what running it prints:

- the text between numbers must be equal, with runs of whitespace taken as one space
  (a longer number may shift a table's columns);
- a number with a decimal point or an exponent may differ from the shown one by one
  unit in its last shown digit (rounding of a value that sits on a boundary) or by
  1e-4 of its value, whichever is larger. A flat direction of the criterion leaves
  the fifth digit of an estimate to the optimizer's path: alien_species' intercept SD
  was 104.2252 and is 104.2233 at the same REML criterion 333.7155 (a change of 4e-10
  in the criterion), and another machine's BLAS rounding can change the path. A
  number below 1e-10 in size (a p-value far in a tail, which moves by z dz for a
  change dz of its statistic z) may differ by 1% of its value. A change a reader
  would notice fails;
- an integer must be equal, except the count before ``evaluations``, which follows
  the optimizer's path and is not compared (pages should not dwell on it);
- after a change to the numeric core, run ``--update`` and review the diff.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
LOOSE_COUNT = re.compile(r"\s*evaluations\b")
REL_TOL = 1e-4
TINY, TINY_REL_TOL = 1e-10, 1e-2
# pages of this issue that must hold code (so the test cannot pass by finding none)
MUST_HAVE_CODE = ["index.md", "tutorials/fitting.md", "tutorials/multiple_random_effects.md",
                  "summaries_and_plots.md", "command_line.md", "lme4_names.md"]


def _page_id(page: Path) -> str:
    return str(page.relative_to(DOCS)) if page.is_relative_to(DOCS) else page.name


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line of the code in the page, code) of each ```python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: its kind (``python``, ``output`` or another info
    string), its text, where the text starts and ends, and its first line."""

    kind: str
    text: str
    start: int
    end: int
    line: int


def blocks(text: str) -> list[Block]:
    """The page's fenced blocks, in order."""
    return [Block(m.group(1).strip(), m.group(2), m.start(2), m.end(2),
                  text.count("\n", 0, m.start(2)) + 1) for m in FENCE.finditer(text)]


def run_page(page: Path, text: str) -> list[tuple[Block, str]]:
    """Run the page's python blocks in order (in the current directory); return each
    output block with what the python block before it printed."""
    import pandas as pd

    pd.reset_option("^display")  # a page is a fresh session: no options left by another
    namespace: dict = {"__name__": "__docs__"}
    printed = io.StringIO()
    out = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pages show the fits' messages themselves
            for block in blocks(text):
                if block.kind == "python":
                    printed = io.StringIO()
                    # pad so that a traceback gives the line number in the page
                    code = compile("\n" * (block.line - 1) + block.text, str(page), "exec")
                    with contextlib.redirect_stdout(printed):
                        exec(code, namespace)
                elif block.kind == "output":
                    out.append((block, printed.getvalue()))
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
    return out


def shown_part(shown: str, printed: str) -> str:
    """What an output block should hold for ``printed``: all of it, or as many first
    lines as the block shows when it ends with ``...``."""
    lines = shown.rstrip("\n").split("\n")
    body = printed.rstrip("\n").split("\n")
    if lines and lines[-1].strip() == "...":
        body = body[:len(lines) - 1] + ["..."]
    return "\n".join(body) + "\n"


def _unit(token: str) -> float:
    """One unit in the last shown digit of a decimal number."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def _numbers_agree(shown: str, got: str) -> bool:
    if not any(c in shown + got for c in ".eE"):
        return shown == got
    a, b = float(shown), float(got)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    rel = TINY_REL_TOL if abs(a) < TINY else REL_TOL
    return abs(a - b) <= max(rel * abs(a), _unit(shown) * (1 + 1e-9))


def differences(shown: str, got: str) -> list[str]:
    """How ``shown`` differs from ``got`` under the rules of this module (empty when
    they agree)."""
    def split(text: str) -> tuple[list[str], list[str]]:
        numbers = NUMBER.findall(text)
        between = [" ".join(part.split()) for part in NUMBER.split(text)]
        return numbers, between

    (shown_numbers, shown_text), (got_numbers, got_text) = split(shown), split(got)
    if shown_text != got_text or len(shown_numbers) != len(got_numbers):
        for a, b in zip(shown_text, got_text):
            if a != b:
                return [f"text differs: shown {a!r}, printed {b!r}"]
        return ["the printed output has another shape (lines added or removed)"]
    out = []
    for i, (a, b) in enumerate(zip(shown_numbers, got_numbers)):
        if LOOSE_COUNT.match(shown_text[i + 1]) and "." not in a:
            continue
        if not _numbers_agree(a, b):
            out.append(f"number {i + 1}: shown {a}, printed {b} (context {shown_text[i]!r})")
    return out


def update(page: Path) -> bool:
    """Rewrite the output blocks of ``page`` with what running it prints; True when
    the page changed. Runs in a temporary directory."""
    import os
    import tempfile

    text = page.read_text(encoding="utf-8")
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            outputs = run_page(page, text)
        finally:
            os.chdir(cwd)
    new = text
    for block, printed in reversed(outputs):
        new = new[:block.start] + shown_part(block.text, printed) + new[block.end:]
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


# --- tests ------------------------------------------------------------------------------

def test_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n\n```console\n$ ls\n```\n```python\ny = x\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = x\n")]
    assert [b.kind for b in blocks(text + "```output\n1\n```\n")] == \
        ["python", "console", "python", "output"]


@pytest.mark.parametrize("name", MUST_HAVE_CODE)
def test_pages_have_code(name):
    assert python_blocks((DOCS / name).read_text(encoding="utf-8")), name


# (shown, printed, agree): the comparison rules of the module docstring
COMPARISONS = [
    ("SD 104.2252\n", "SD 104.2252\n", True),
    ("SD 104.2252\n", "SD 104.2253\n", True),          # one unit in the last digit
    ("SD 104.2252\n", "SD 104.2233\n", True),          # the optimizer's path
    ("SD 104.2252\n", "SD 104.3252\n", False),         # a stale page
    ("SE 60.17499\n", "SE 60.27390\n", False),
    ("x 1.086e+04\n", "x 1.087e+04\n", True),
    ("x 1.086e+04\n", "x 1.096e+04\n", False),
    ("p 0.467\n", "p 0.468\n", True),
    ("p 5.434720e-64\n", "p 5.406595e-64\n", True),  # far in the tail
    ("p 5.434720e-64\n", "p 5.934720e-64\n", False),
    ("n 100 rows\n", "n 101 rows\n", False),           # integers are exact
    ("bobyqa, 576 evaluations\n", "bobyqa, 449 evaluations\n", True),
    ("a   1.5  2.5\n", "a 1.5 2.5\n", True),           # columns may shift
    ("a 1.5\n", "b 1.5\n", False),
    ("a 1.5\n", "a 1.5\nb 2\n", False),
    ("intercept_g_1 0.5\n", "intercept_g_2 0.5\n", False),
]


@pytest.mark.parametrize("shown, printed, agree", COMPARISONS)
def test_output_comparison_rules(shown, printed, agree):
    assert (differences(shown, printed) == []) == agree


def test_a_shortened_output_block_keeps_its_length():
    assert shown_part("a\nb\n...\n", "1\n2\n3\n4\n") == "1\n2\n...\n"
    assert shown_part("a\n", "1\n2\n") == "1\n2\n"


def test_every_output_follows_code_and_every_text_block_is_generated():
    """Outputs are generated blocks: no hand-pasted ```text block after python code."""
    for page in PAGES:
        kinds = [b.kind for b in blocks(page.read_text(encoding="utf-8"))]
        for before, kind in zip(kinds, kinds[1:]):
            assert not (before == "python" and kind in ("", "text")), \
                f"{_page_id(page)}: a ```{kind} block after python code is not generated"
        if "output" in kinds:
            assert "python" in kinds[:kinds.index("output")], _page_id(page)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_code_blocks_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    if not python_blocks(text):
        pytest.skip("no python code on this page")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    problems = []
    for block, printed in run_page(page, text):
        for problem in differences(block.text, shown_part(block.text, printed)):
            problems.append(f"{_page_id(page)}, output block at line {block.line}: {problem}")
    assert not problems, "\n".join(problems + ["regenerate: python tests/test_docs.py --update"])


def _names_in_ours_column(text: str) -> list[str]:
    """The backticked names of the mixed_models column of lme4_names.md's tables."""
    names = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 4 and cells[2] not in ("mixed_models", "---"):
            names += re.findall(r"`([^`]+)`", cells[2])
    return names


def test_lme4_names_exist(fitted):
    """Every name the lme4 mapping page gives for mixed_models exists."""
    from mixed_models import GLMM, LMM, NegativeBinomial, plotting
    from mixed_models.control import Control

    roots = {"model": fitted("dyestuff_reml"), "LMM": LMM, "plotting": plotting,
             "Control": Control, "GLMM": GLMM, "NegativeBinomial": NegativeBinomial}
    names = _names_in_ours_column((DOCS / "lme4_names.md").read_text(encoding="utf-8"))
    assert len(names) > 50
    for name in names:
        chain = name.split("(", 1)[0].split(".")
        if chain[0] == "print":
            continue
        obj = roots[chain[0]]
        for part in chain[1:]:
            assert hasattr(obj, part), name
            obj = getattr(obj, part)


def main(argv: list[str]) -> int:
    """``--update [PAGE...]``: regenerate the output blocks of the pages (all of them
    by default) and list those that changed."""
    import os

    if not argv or argv[0] != "--update":
        print(__doc__)
        print("usage: python tests/test_docs.py --update [PAGE...]")
        return 2
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT / "src"))
    pages = [Path(p).resolve() for p in argv[1:]] or PAGES
    for page in pages:
        if update(page):
            print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
