"""``import mixed_models`` loads no heavy or optional dependency; modules load on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mixed_models.core.lazy import LazyModule, lazy_module

# Slow to import, or optional: none may load with the package.
HEAVY = ("scipy.stats", "scipy.optimize", "formulaic", "nlopt", "matplotlib", "numba")
# Imported by the layers below the model (formula, design, core) only on first use.
LOWER_LAYERS = ("mixed_models.formula", "mixed_models.design", "mixed_models.core.problem",
                "mixed_models.core.optimize", "mixed_models.core.gradient",
                "mixed_models.core.blocked_gradient", "mixed_models.core.solve")


def _loaded_after(statement: str) -> set[str]:
    """The heavy modules (and scipy.sparse, scipy.linalg) in sys.modules after running
    ``statement`` in a fresh interpreter."""
    watched = (*HEAVY, "scipy.sparse", "scipy.linalg")
    code = (f"import sys\n{statement}\n"
            f"print(' '.join(m for m in {watched!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


def test_package_import_loads_nothing_heavy():
    assert _loaded_after("import mixed_models") == set()


# The fit machinery (formula parser, design, numeric core) loads with the first model.
FIT_MACHINERY = ("mixed_models.formula.parse", "mixed_models.design", "mixed_models.core.fit",
                 "mixed_models.fitted.fit")


def test_package_import_leaves_the_fit_machinery_for_the_first_fit():
    code = ("import sys, mixed_models\n"
            f"print(' '.join(m for m in {FIT_MACHINERY!r} if m in sys.modules))\n"
            "import pandas\n"
            "model = mixed_models.LMM.from_formula('y ~ 1 + (1 | g)', pandas.DataFrame("
            "{'y': [1.0, 2.0, 4.0, 3.0, 5.0, 9.0], 'g': list('aabbcc')}))\n"
            f"print(' '.join(m for m in {FIT_MACHINERY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    before, after = done.stdout.split("\n")[:2]
    assert before == ""
    assert set(after.split()) == set(FIT_MACHINERY)


@pytest.mark.parametrize("module", LOWER_LAYERS)
def test_lower_layers_load_nothing_heavy(module):
    # the package's __init__ runs first; stub the model layer so only `module` is measured
    statement = ("import types, sys\n"
                 "package = types.ModuleType('mixed_models')\n"
                 f"package.__path__ = [{_package_dir()!r}]\n"
                 "sys.modules['mixed_models'] = package\n"
                 f"import {module}")
    assert _loaded_after(statement) == set()


def _package_dir() -> str:
    import mixed_models
    return mixed_models.__path__[0]


def test_lazy_module_imports_on_first_attribute():
    proxy = LazyModule("json")
    assert proxy.dumps([1]) == "[1]"
    assert "dumps" in vars(proxy)  # the second read is an ordinary attribute lookup
    assert proxy.module() is sys.modules["json"]


def test_lazy_module_returns_a_loaded_module_itself():
    assert lazy_module("sys") is sys


def test_lazy_module_of_a_missing_module_raises_on_use():
    proxy = lazy_module("mixed_models_no_such_module")
    with pytest.raises(ModuleNotFoundError):
        proxy.anything
