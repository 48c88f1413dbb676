"""Caterpillar plot: the conditional modes of one random-effect column, sorted, with
intervals from their conditional standard deviations (``model.ran_ef_table()``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mixed_models._validate import check_level
from mixed_models.errors import NotFoundError
from mixed_models.fitted.record import as_record
from mixed_models.fitted.results import ran_ef_table
from mixed_models.plotting._backend import axes_or_new, label

MAX_LABELLED_LEVELS = 60


def caterpillar_data(model: Any, group: str | None = None, term: str | None = None,
                     level: float = 0.95, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows a caterpillar plot draws, sorted by value: ``level, value, lower, upper``.

    ``group`` defaults to the first grouping factor, ``term`` to its first column.
    The interval is value +- z * cond_sd, z the normal quantile for ``level``.
    ``table`` is ``model.ran_ef_table()`` when the caller has it already (it is costly
    for large models).
    """
    check_level(level)
    table = ran_ef_table(as_record(model)) if table is None else table
    groups = list(dict.fromkeys(table["group"]))
    group = groups[0] if group is None else group
    if group not in groups:
        raise NotFoundError(f"no grouping factor {group!r}; the model has: {', '.join(groups)}")
    rows = table[table["group"] == group]
    terms = list(dict.fromkeys(rows["term"]))
    term = terms[0] if term is None else term
    if term not in terms:
        raise NotFoundError(f"grouping factor {group!r} has no random effect {term!r}; "
                            f"it has: {', '.join(map(str, terms))}")
    rows = rows[rows["term"] == term].sort_values("value")
    half = stats.norm.ppf(0.5 + level / 2) * rows["cond_sd"].to_numpy()
    values = rows["value"].to_numpy()
    out = pd.DataFrame({"level": rows["level"].astype(str).to_numpy(), "value": values,
                        "lower": values - half, "upper": values + half})
    out.attrs.update(group=group, term=term)
    return out


def caterpillar(model: Any, group: str | None = None, term: str | None = None,
                ax: Any = None, level: float = 0.95, table: pd.DataFrame | None = None) -> Any:
    """Conditional modes of ``term`` for each level of ``group``, with ``level``
    intervals from their conditional SDs, sorted; returns the Axes.

    Levels are labelled when there are at most 60 of them. ``table``: see
    :func:`caterpillar_data`.
    """
    data = caterpillar_data(model, group, term, level, table)
    ax = axes_or_new(ax, figsize=(5.0, max(3.0, min(0.22 * len(data) + 1.2, 12.0))))
    y = np.arange(len(data))
    ax.hlines(y, data["lower"], data["upper"], color="#7f9fc0", linewidth=1.2)
    ax.scatter(data["value"], y, s=16, color="#1f5a94", zorder=3)
    ax.axvline(0.0, color="#b03a2e", linewidth=1.0)
    if len(data) <= MAX_LABELLED_LEVELS:
        ax.set_yticks(y, [label(v) for v in data["level"]],
                      fontsize=8 if len(data) > 20 else 9)
    else:
        ax.set_yticks([])
    group, term = data.attrs["group"], data.attrs["term"]
    group, term = label(group), label(term)
    ax.set(xlabel=f"Conditional mode of {term} ({level:.0%} interval)", ylabel=group,
           title=f"Random effects: {group} ({term})")
    return ax
