"""mixed_models.progress: a tqdm bar on a terminal or in a notebook, nothing otherwise,
``progress=`` to choose, and tqdm imported only when a bar is shown."""

from __future__ import annotations

import io
import subprocess
import sys
import types

import pytest

from mixed_models import progress as pg
from mixed_models.errors import InvalidArgumentError, OptionalDependencyError


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _notebook(monkeypatch) -> None:
    """Pretend to run in a Jupyter kernel: IPython imported, its shell the ZMQ one."""
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))


@pytest.mark.parametrize("choice, stream, notebook, expected", [
    ("auto", Terminal(), False, True),
    ("auto", io.StringIO(), False, False),     # a file or a pipe: no bar
    ("auto", io.StringIO(), True, True),       # a notebook's stderr is no terminal
    (True, io.StringIO(), False, True),
    (False, Terminal(), False, False),
    (False, io.StringIO(), True, False),
])
def test_when_a_bar_is_shown(monkeypatch, choice, stream, notebook, expected):
    pytest.importorskip("tqdm")
    if notebook:
        _notebook(monkeypatch)
    else:
        monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert pg.wants_bar(choice, stream) is expected


@pytest.mark.parametrize("bad", ["yes", 1, None, "Auto"])
def test_other_choices_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="True, False or 'auto'"):
        pg.wants_bar(bad)


def test_without_tqdm_auto_is_silent_and_true_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if it were not installed
    assert pg.wants_bar("auto", Terminal()) is False
    assert isinstance(pg.progress_bar(5, stream=Terminal()), pg.NoProgress)
    with pytest.raises(OptionalDependencyError, match=r"mixed_models\[progress\]"):
        pg.progress_bar(5, progress=True)


def test_the_terminal_bar_counts_to_the_total():
    pytest.importorskip("tqdm")
    stream = Terminal()
    with pg.progress_bar(4, progress="auto", desc="bootstrap", stream=stream) as bar:
        for _ in range(4):
            bar.update()
    text = stream.getvalue()
    assert "bootstrap" in text and "4/4" in text


def test_no_bar_writes_nothing():
    stream = io.StringIO()
    with pg.progress_bar(3, progress="auto", stream=stream) as bar:
        bar.update(3)
    assert isinstance(bar, pg.NoProgress) and stream.getvalue() == ""


def test_the_notebook_bar_comes_from_tqdm_auto(monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    _notebook(monkeypatch)
    made = []

    def fake(**kwargs):
        made.append(kwargs)
        return pg.NoProgress()

    monkeypatch.setattr(tqdm_auto, "tqdm", fake)
    pg.progress_bar(7, progress="auto", desc="refits", stream=io.StringIO())
    assert made and made[0]["total"] == 7 and made[0]["desc"] == "refits"


def test_importing_the_package_does_not_import_tqdm():
    code = ("import sys, mixed_models, mixed_models.progress as p; "
            "p.progress_bar(3, progress='auto').update(); "
            "print('tqdm' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"  # stderr is a pipe here: no bar, no import
