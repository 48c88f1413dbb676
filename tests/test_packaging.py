"""The wheel that ``python -m build`` makes holds the bundled data sets with their
sources and licences, and installs the ``mixed-models`` command.

The build runs on a copy of the project (so the worktree gets no ``build/`` or
``*.egg-info``), in this environment when its setuptools can build the project, else in an
isolated build environment that pip fills from the package index.
Installing the wheel in a fresh venv and running ``mixed-models demo`` is checked by hand
(see docs/install.md): a venv with numpy, scipy and pandas takes minutes to create.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mixed_models import datasets

ROOT = Path(__file__).parents[1]
DATA = "mixed_models/datasets/data/"


def _can_build_here() -> bool:
    """Whether setuptools here is recent enough for pyproject.toml (SPDX licence string)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return major >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pytest.importorskip("build")
    work = tmp_path_factory.mktemp("packaging")
    project = work / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    # no isolation when this environment can build (no download); otherwise pip fetches
    # the build backend named in pyproject.toml
    isolation = ["--no-isolation"] if _can_build_here() else []
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", *isolation,
                             "--outdir", str(work / "dist"), str(project)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (path,) = (work / "dist").glob("mixed_models-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_holds_every_data_set_and_their_sources(wheel):
    names = set(wheel.namelist())
    missing = [n for n in datasets.names() if f"{DATA}{n}.csv" not in names]
    assert missing == []
    assert f"{DATA}SOURCES.md" in names
    sources = wheel.read(f"{DATA}SOURCES.md").decode("utf-8")
    for name in datasets.names():  # every file has its line of provenance
        assert f"`{name}.csv`" in sources, name


def test_the_wheel_installs_the_command(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode("utf-8")
    assert "[console_scripts]" in text
    assert "mixed-models = mixed_models.cli:main" in text


def test_the_wheel_holds_the_package_and_no_tests(wheel):
    names = wheel.namelist()
    assert "mixed_models/__init__.py" in names and "mixed_models/cli.py" in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_the_sources_file_names_every_bundled_file():
    folder = ROOT / "src" / DATA
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    unnamed = [p.name for p in sorted(folder.glob("*.csv")) if f"`{p.name}`" not in sources]
    assert unnamed == []
