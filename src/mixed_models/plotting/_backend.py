"""The lazy import of matplotlib: the only place the package imports it.

``import mixed_models`` (and ``import mixed_models.plotting``) never imports
matplotlib; the first plot does, and says how to install it when it is missing.

Text drawn from names in the data (level labels, column and factor names) goes through
:func:`label`: matplotlib reads a pair of ``$`` as mathtext, and a label like
``$\frac{$`` would make the figure fail to draw.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from mixed_models._validate import check_choice, check_positive_int, shown
from mixed_models.display.escape import printable
from mixed_models.errors import DataTypeError, OptionalDependencyError

INSTALL_HINT = "pip install 'mixed_models[plot]'"
BIN_RULES = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")


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


def label(text: object) -> str:
    """A name from the data as literal plot text: control characters made visible and
    every ``$`` escaped, so matplotlib never reads it as mathtext."""
    return printable(text).replace("$", r"\$")


def axes_or_new(ax: Any, figsize: tuple[float, float] = (5.0, 4.0)) -> Any:
    """``ax`` itself (it must be a matplotlib Axes), or the Axes of a new pyplot figure."""
    if ax is not None:
        pyplot()  # the same error when matplotlib is missing
        if not isinstance(ax, importlib.import_module("matplotlib.axes").Axes):
            raise DataTypeError(f"ax must be a matplotlib Axes or None, got {shown(ax)} "
                                f"({type(ax).__name__})")
        return ax
    _, new = pyplot().subplots(figsize=figsize, layout="constrained")
    return new


def check_bins(bins: object) -> None:
    """A histogram's ``bins``: a positive int, one of numpy's rule names, or edges."""
    if isinstance(bins, str):
        check_choice("bins", bins, BIN_RULES)
    elif not isinstance(bins, (list, tuple, np.ndarray)):
        check_positive_int("bins", bins, "number of bins")


def figure_or_new(fig: Any, figsize: tuple[float, float]) -> Any:
    """``fig`` itself (it must be a matplotlib Figure), or a new pyplot figure."""
    if fig is None:
        return pyplot().figure(figsize=figsize, layout="constrained")
    pyplot()  # the same error when matplotlib is missing
    figures = importlib.import_module("matplotlib.figure")
    if not isinstance(fig, (figures.Figure, figures.SubFigure)):
        raise DataTypeError(f"fig must be a matplotlib Figure or None, got {shown(fig)} "
                            f"({type(fig).__name__})")
    return fig

