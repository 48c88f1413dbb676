"""The lazy import of matplotlib: the only place the package imports it.

``import mixed_models`` (and ``import mixed_models.plotting``) never imports
matplotlib; the first plot does, and says how to install it when it is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from mixed_models.errors import OptionalDependencyError

INSTALL_HINT = "pip install 'mixed_models[plot]'"


def pyplot() -> ModuleType:
    """``matplotlib.pyplot``, or OptionalDependencyError naming the extra to install."""
    try:
        return importlib.import_module("matplotlib.pyplot")
    except ImportError as exc:
        raise OptionalDependencyError(
            f"plotting needs matplotlib, which is not installed ({exc}); install the "
            f"optional extra with: {INSTALL_HINT}"
        ) from exc


def figure_class() -> Any:
    """``matplotlib.figure.Figure`` (for figures drawn off screen, without pyplot)."""
    pyplot()  # the same error when matplotlib is missing
    return importlib.import_module("matplotlib.figure").Figure


def axes_or_new(ax: Any, figsize: tuple[float, float] = (5.0, 4.0)) -> Any:
    """``ax`` itself, or the Axes of a new pyplot figure."""
    if ax is not None:
        return ax
    _, new = pyplot().subplots(figsize=figsize, layout="constrained")
    return new
