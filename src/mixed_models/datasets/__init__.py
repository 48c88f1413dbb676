"""Data sets shipped with mixed_models: the Ruby gem's examples and lme4's classics.

>>> from mixed_models import datasets
>>> datasets.load("alien_species").shape
(100, 4)
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from mixed_models.errors import NotFoundError

__all__ = ["load", "names"]


def names() -> list[str]:
    """Names of the bundled data sets."""
    folder = resources.files(__package__) / "data"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set as a pandas DataFrame (text columns stay text).

    Parameters
    ----------
    name
        One of :func:`names`, e.g. ``"alien_species"``, ``"sleepstudy"``, ``"penicillin"``.
    """
    available = names()
    if name not in available:
        raise NotFoundError(
            f"no bundled data set named {name!r}; the data sets are: {', '.join(available)}"
        )
    with (resources.files(__package__) / "data" / f"{name}.csv").open("rb") as handle:
        return pd.read_csv(handle)
