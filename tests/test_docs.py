"""Every ```python block of every page in docs/ runs.

The blocks of one page run in order in one namespace (a page is one session), in a
temporary working directory, with matplotlib's non-interactive backend. A failure
names the page and the line of the block in it.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
# pages of this issue that must hold code (so the test cannot pass by finding none)
MUST_HAVE_CODE = ["index.md", "tutorials/fitting.md", "tutorials/multiple_random_effects.md",
                  "summaries_and_plots.md", "command_line.md", "lme4_names.md"]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line of the code in the page, code) of each ```python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n\n```console\n$ ls\n```\n```python\ny = x\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = x\n")]


@pytest.mark.parametrize("name", MUST_HAVE_CODE)
def test_pages_have_code(name):
    assert python_blocks((DOCS / name).read_text(encoding="utf-8")), name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip("no python code on this page")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pages show the fits' messages themselves
            for line, code in blocks:
                # pad so that a traceback gives the line number in the page
                exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    finally:
        plt = __import__("sys").modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")


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
    from mixed_models import LMM, plotting
    from mixed_models.control import Control

    roots = {"model": fitted("dyestuff_reml"), "LMM": LMM, "plotting": plotting,
             "Control": Control}
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
