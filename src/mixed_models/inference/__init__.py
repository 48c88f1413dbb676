"""Inference for fitted models: tests, degrees of freedom, intervals, profiles,
likelihood ratio tests, refits and the parametric bootstrap. The model's methods
delegate here; these are the same functions, taking the model as first argument.

The names below are imported on first use (PEP 562), so that importing one module of
the package (the bootstrap's, say) does not import every other one and scipy.stats.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_WHERE = {
    "LikelihoodRatioTest": "lrt",
    "anova": "anova",
    "conf_int": "intervals",
    "drop_fix_ef": "refit",
    "drop_ran_ef": "refit",
    "fix_ef_conf_int": "intervals",
    "fix_ef_p": "tests",
    "fix_ef_summary": "tests",
    "fix_ef_test": "tests",
    "likelihood_ratio": "lrt",
    "likelihood_ratio_test": "lrt",
    "profile": "profile",
    "profile_intervals": "intervals",
    "ran_ef_p": "tests",
    "refit": "refit",
    "refit_ml": "refit",
}

__all__ = sorted(_WHERE)


def _load(name: str) -> Any:
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _load(name)
    globals()[name] = value
    return value


def _function_named_as_module(name: str) -> property:
    # Importing the submodule of the same name binds the package's attribute to the
    # module; the package's name stays the function, as with eager imports.
    return property(lambda self: _load(name), lambda self, value: None)


class _Package(types.ModuleType):
    profile = _function_named_as_module("profile")
    refit = _function_named_as_module("refit")


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
