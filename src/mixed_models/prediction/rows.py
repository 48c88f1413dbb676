"""New data as the model's arrays: X, each term's level codes and Z values, the offset.

New data are evaluated by the specs kept from the fit (the same columns, the same
coding, :mod:`mixed_models.design.newdata`). A grouping level the fit did not see is
coded -1: its random effects are predicted by their mean, zero
(``new_levels="population"``, lme4's ``allow.new.levels = TRUE``), or refused
(``"error"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.design.evaluation import offset_values
from mixed_models.design.frame import to_pandas
from mixed_models.design.newdata import check_new_data, per_row, unseen_as_error
from mixed_models.errors import DataError, InvalidArgumentError, NotFoundError
from mixed_models.fitted.record import FittedModel, as_record

NEW_LEVELS = ("population", "error")


@dataclass(frozen=True, eq=False)
class NewRows:
    """New data as the model's arrays.

    Attributes
    ----------
    x
        Fixed-effects matrix (rows x p); NaN rows where a predictor is missing.
    codes, z
        Per random-effects term: the level code of each row (-1 for a level the fit
        did not see, or a missing one) and its z values (rows x S).
    missing_level
        Rows whose grouping value is missing in some term.
    offset
        The offset of each row (None without offset).
    index
        The new data's row labels.
    """

    x: np.ndarray
    codes: list[np.ndarray]
    z: list[np.ndarray]
    missing_level: np.ndarray
    offset: np.ndarray | None
    index: pd.Index


def new_rows(fit: FittedModel, newdata: object, random: bool = True,
             new_levels: str = "population", offset: object = None) -> NewRows:
    """The model's arrays for new data (see :class:`NewRows`); ``random=False`` skips
    the random-effects terms (their codes are then all -1 and z has no columns)."""
    fit = as_record(fit)
    check_new_levels(new_levels)
    design = fit.structure.require_design("prediction on new data (predict(newdata=None) "
                                          "gives the fitted values)")
    checked = check_new_data(design, to_pandas(newdata), random)
    data = checked.data
    x = unseen_as_error(design.fixed.for_data, data)
    x[checked.incomplete] = np.nan
    codes, zs, missing = [], [], np.zeros(len(data), dtype=bool)
    for term in design.random:
        term_codes = term.codes_for_data(data) if random else np.full(len(data), -1)
        if random:
            absent = data[list(term.grouping)].isna().any(axis=1).to_numpy()
            missing |= absent
            if new_levels == "error":
                _refuse_new_levels(term.group, term_codes, absent, data, term.grouping)
        codes.append(term_codes)
        zs.append(unseen_as_error(term.z_for_data, data) if random
                  else np.zeros((len(data), 0)))
    return NewRows(x, codes, zs, missing, _new_offset(fit, data, offset), data.index)


def check_new_levels(new_levels: str) -> None:
    if new_levels not in NEW_LEVELS:
        raise InvalidArgumentError(f"new_levels must be one of {NEW_LEVELS}, got {new_levels!r}")


def _refuse_new_levels(group: str, codes: np.ndarray, absent: np.ndarray,
                       data: pd.DataFrame, grouping: tuple[str, ...]) -> None:
    new = np.flatnonzero((codes < 0) & ~absent)
    if len(new) == 0:
        return
    labels = data.iloc[new][list(grouping)].astype(str).agg(":".join, axis=1)
    unique = list(dict.fromkeys(labels))
    raise NotFoundError(
        f"level(s) {unique[:5]}{' ...' if len(unique) > 5 else ''} of grouping factor "
        f"'{group}' were not in the fitted data (rows {[int(i) for i in new[:5]]}); their "
        "random effects have no estimate. Pass new_levels='population' to predict them by "
        "the population value (random effects zero)")


def _new_offset(fit: FittedModel, data: pd.DataFrame, offset: object) -> np.ndarray | None:
    design = fit.structure.require_design("an offset for new data")
    # offset() terms of the formula are evaluated on the new rows; offset= gives the rest
    in_formula = offset_values(design.parsed.offsets, data, design.parsed.formula)
    if design.given_offset is None and in_formula is not None:
        if offset is not None:
            raise InvalidArgumentError("offset= is only for a model fitted with an offset= "
                                       "argument; the formula's offset() terms are evaluated "
                                       "on the new data")
        return in_formula
    if fit.problem.offset is None:
        if offset is not None:
            raise InvalidArgumentError("offset= is only for a model fitted with an offset")
        return None
    if offset is None:
        raise InvalidArgumentError(
            "the model was fitted with an offset; pass the new rows' offset= (a column "
            "name of the new data, an array or a number)")
    given = per_row(offset, data, len(data), "offset")
    return given if in_formula is None else given + in_formula


def new_weights(fit: FittedModel, newdata: object, weights: object, n: int) -> np.ndarray:
    if weights is not None:
        data = None if newdata is None else to_pandas(newdata)
        w = per_row(weights, data, n, "weights")
        if np.any(w <= 0):
            raise DataError("weights must be positive (they are precisions)")
        return w
    if fit.problem.weights is None:
        return np.ones(n)
    if newdata is None:
        return fit.problem.weights
    raise InvalidArgumentError(
        "the model was fitted with prior weights: a prediction interval needs the new "
        "observations' weights (their residual variance is sigma^2 / w); pass weights= "
        "(a column name of the new data, an array or a number)")


