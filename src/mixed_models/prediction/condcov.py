"""Conditional covariances of the random effects, level by level (lme4's ``condVar``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixed_models.errors import NotFoundError
from mixed_models.fitted.record import FittedModel, as_record


def cond_cov_ran_ef(fit: FittedModel, group: str | None = None) -> pd.DataFrame:
    """Covariance of each level's random effects given the data (lme4's ``condVar``).

    Parameters
    ----------
    fit
        A fitted model (built from a formula).
    group
        One grouping factor, or None for all.

    Returns
    -------
    pandas.DataFrame
        A tidy table, one row per (group, level, var1, var2) with every entry of each
        level's S x S block (both triangles): columns ``group, level, var1, var2, cov``.
        ``table.query("level == '308'").pivot(index="var1", columns="var2",
        values="cov")`` gives one block. The diagonal is ``ran_ef_table()``'s
        ``cond_sd`` squared; the blocks are the diagonal blocks of
        ``cond_cov_mat_ran_ef()``, computed without forming that q x q matrix.
    """
    fit = as_record(fit)
    design = fit.structure.require_design(
        "cond_cov_ran_ef (use cond_cov_mat_ran_ef() for a raw-matrix model)")
    groups = [r.group for r in design.random]
    if group is not None and group not in groups:
        raise NotFoundError(f"no grouping factor {group!r}; the model's are {groups}")
    blocks = fit.problem.conditional_covariances(fit.theta)
    frames = []
    for term, block in zip(design.random, blocks):
        if group is not None and term.group != group:
            continue
        size = len(term.columns)
        frames.append(pd.DataFrame({
            "group": term.group,
            "level": np.repeat(term.levels, size * size),
            "var1": np.tile(np.repeat(term.columns, size), term.n_levels),
            "var2": np.tile(term.columns, size * term.n_levels),
            "cov": (fit.sigma2 * block).ravel(),
        }))
    return pd.concat(frames, ignore_index=True)
