"""Checks of the data and the design before a fit (lme4's ``check.*`` family).

Data that cannot give a number (infinite values, non-positive weights, a response fitted
exactly) always raise. Checks that lme4 makes configurable take their action from
:class:`~mixed_models.control.Control`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mixed_models.control import Control, enforce
from mixed_models.design.fixed import FixedDesign, independent_columns
from mixed_models.design.random import RandomDesign
from mixed_models.errors import DataError, DataWarning, ModelError

SCALE_RATIO = 1e3


def check_finite(data: pd.DataFrame | Mapping[str, pd.Series], weights: np.ndarray | None,
                 offset: np.ndarray | None, rows: np.ndarray) -> None:
    """Refuse infinite values in the model's numeric columns, weights and offset.

    ``data`` is the model frame or its columns by name; ``rows`` maps the model's rows
    to the rows of the user's data, for the message.
    """
    columns = {name: column for name, column in data.items()  # each column read once
               if _may_be_infinite(column.dtype)}
    columns.update({"weights": weights, "offset": offset})
    for name, values in columns.items():
        if values is None:
            continue
        values = np.asarray(values, dtype=float)
        infinite = np.isinf(values)
        if infinite.any():
            bad = np.flatnonzero(infinite)
            raise DataError(
                f"'{name}' has {len(bad)} infinite value(s) (first {values[bad[0]]} at row "
                f"{rows[bad[0]]}); remove or recode them: only finite numbers can be fitted"
            )


def _may_be_infinite(dtype: object) -> bool:
    """Numeric and not boolean; numpy's integers are always finite."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fc"
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def check_weights(weights: np.ndarray | None, rows: np.ndarray) -> None:
    """Prior weights must be positive: they are precisions (1 / relative variance)."""
    if weights is None:
        return
    bad = np.flatnonzero(weights <= 0)
    if len(bad):
        raise DataError(
            f"weights must be positive; {len(bad)} row(s) have weight <= 0 (first "
            f"{weights[bad[0]]} at row {rows[bad[0]]}). A zero precision weight means the row "
            "carries no information: remove such rows from the data"
        )


def check_grouping(random: list[RandomDesign], n_obs: int, control: Control) -> None:
    """lme4's check.nlev.gtr.1, check.nobs.vs.nlev and check.nobs.vs.nRE."""
    for term in random:
        if term.n_levels < 2:
            enforce(control.check_nlev_gtr_1,
                    f"grouping factor '{term.group}' has {term.n_levels} level; a variance "
                    "between groups needs at least 2 levels (and in practice 5 or more)",
                    ModelError, DataWarning, stacklevel=5)
        if term.n_levels >= n_obs:
            enforce(control.check_nobs_vs_nlev,
                    f"grouping factor '{term.group}' has {term.n_levels} levels for {n_obs} "
                    "observations; with one observation per level its random effects cannot "
                    "be told apart from the residual. Use a grouping factor with fewer levels "
                    "than observations (or Control(check_nobs_vs_nlev='ignore'))",
                    ModelError, DataWarning, stacklevel=5)
        # lme4 counts each bar (each piece of a split double bar) on its own
        blocks = [(part.columns.start + sum(part.block_sizes[:k]), size)
                  for part in term.parts for k, size in enumerate(part.block_sizes)]
        start, size = max(blocks, key=lambda block: block[1])
        q = term.n_levels * size
        if q >= n_obs:
            columns = term.columns[start:start + size]
            enforce(control.check_nobs_vs_nre,
                    f"the term for '{term.group}' has {q} random effects ({term.n_levels} "
                    f"levels x {size} columns {columns}) for only {n_obs} "
                    "observations; its variance parameters and the residual variance cannot "
                    "all be identified. Simplify the term (fewer columns, or '||')",
                    ModelError, DataWarning, stacklevel=5)


def check_scale(fixed: FixedDesign, control: Control) -> None:
    """Warn when predictors' standard deviations differ by more than a factor 1000."""
    if fixed.matrix.shape[1] < 2:
        return  # no two predictors to compare
    sds = fixed.matrix.std(axis=0)
    varying = sds > 0
    if varying.sum() < 2:
        return
    spread = sds[varying]
    if spread.max() / spread.min() > SCALE_RATIO:
        names = np.array(fixed.names)[varying]
        big, small = names[np.argmax(spread)], names[np.argmin(spread)]
        enforce(control.check_scale_x,
                f"predictors are on very different scales: SD of '{big}' is {spread.max():.3g}, "
                f"of '{small}' {spread.min():.3g}. The fit is still computed, but rescaling "
                "(e.g. centring and dividing by the SD) makes it more accurate and the "
                "estimates easier to read",
                ModelError, DataWarning, stacklevel=5)


def check_exact_fit(fixed: FixedDesign, target: np.ndarray, offset: bool) -> None:
    """Refuse a response that the fixed effects reproduce exactly (e.g. a constant).

    ``target``: the response less the offset (``offset``: whether there is one), the
    target ``fixed`` was built with (:func:`~mixed_models.design.fixed.fixed_design`).
    """
    reproduced = fixed.reproduces_target
    if reproduced is None:
        reproduced = len(independent_columns(np.column_stack([fixed.matrix, target]))) \
            <= fixed.matrix.shape[1]
    if reproduced:
        what = "constant" if np.ptp(target) == 0 else "an exact linear function of the predictors"
        raise DataError(
            f"the response{' minus the offset' if offset else ''} is {what}: "
            "the fixed effects fit it exactly, so no variance can be estimated"
        )
