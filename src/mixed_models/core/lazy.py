"""Modules imported on first use, so that ``import mixed_models`` stays cheap.

scipy.sparse, scipy.linalg, scipy.stats and formulaic are slow to import; a user who only
imports the package (or a process pool that imports it in every worker) should not pay
for them before a fit needs them. A module-level name bound to
:func:`lazy_module` behaves like the module: the first attribute read imports it, and
each attribute, once read, is stored on the proxy so later reads cost an ordinary
attribute lookup (this matters for LAPACK calls made once per objective evaluation).

Stable: the proxy's behaviour. Unstable: the class name.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for module ``name`` that imports it when an attribute is first read.

    Parameters
    ----------
    name : str
        The dotted module name, e.g. ``"scipy.sparse"``.
    """

    def __init__(self, name: str) -> None:
        self.__dict__["_lazy_name"] = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self.module(), attribute)
        self.__dict__[attribute] = value  # the next read skips __getattr__
        return value

    def module(self) -> ModuleType:
        """The real module, imported now if it is not yet."""
        name = self.__dict__["_lazy_name"]
        return sys.modules.get(name) or importlib.import_module(name)

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_lazy_name']!r}>"


def lazy_module(name: str) -> Any:
    """Module ``name`` if it is already imported, else a proxy importing it on first use.

    Parameters
    ----------
    name : str
        The dotted module name.

    Returns
    -------
    module or LazyModule
        Typed as ``Any`` so call sites read like the module's own.
    """
    return sys.modules.get(name) or LazyModule(name)
