"""Prediction on new data, with confidence and prediction intervals.

New data are turned into X and Z with the specs kept from the fit; what happens to a
grouping level the fit did not see is chosen by ``new_levels`` (``"population"``: its
random effects are zero, lme4's ``allow.new.levels = TRUE``; ``"error"``: refused).
Intervals are normal-theory, fit -/+ z_{(1+level)/2} se; how se is computed, with and
without the random effects, is described in :mod:`mixed_models.prediction.variance`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixed_models.design import ModelDesign
from mixed_models.errors import InvalidArgumentError
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fitted, per_row
from mixed_models.prediction.rows import (
    NewRows,
    check_new_levels,
    new_rows,
    new_weights,
)
from mixed_models.prediction.variance import conditional_variance, population_variance

INTERVAL_TYPES = ("confidence", "prediction")


def predict(fit: FittedModel, newdata: object = None, with_ran_ef: bool = True,
            new_levels: str = "population", offset: object = None) -> pd.Series:
    """Predicted responses: X beta (+ Z b with ``with_ran_ef``) + offset.

    Parameters
    ----------
    fit
        A fitted model (its record).
    newdata
        A data frame with the predictors (and, with ``with_ran_ef``, the grouping
        columns); None predicts the rows of the fit (the fitted values).
    with_ran_ef
        Include the conditional modes of the random effects (lme4's ``re.form = NULL``)
        or not (``re.form = NA``).
    new_levels
        ``"population"``: an unseen grouping level contributes zero; ``"error"``: raise
        NotFoundError naming it.
    offset
        For a model fitted with an offset: the new rows' offset (a column name of
        ``newdata``, an array or a number).

    Returns
    -------
    pandas.Series
        One prediction per row of ``newdata``, labelled by its index (0..n-1 for polars);
        NaN where a predictor or (with ``with_ran_ef``) a grouping value is missing. With
        ``newdata=None``, the fitted values labelled as the model's ``fitted()``.
    """
    fit = as_record(fit)
    check_new_levels(new_levels)
    if newdata is None:
        return per_row(fit, fitted(fit, with_ran_ef), "predicted")
    rows = new_rows(fit, newdata, with_ran_ef, new_levels if with_ran_ef else "population",
                    offset)
    return pd.Series(linear_point(fit, rows, with_ran_ef), index=rows.index, name="predicted")


def linear_point(fit: FittedModel, rows: NewRows, with_ran_ef: bool) -> np.ndarray:
    """X beta (+ offset) (+ Z b, where the level is known) of new rows: the prediction of
    an LMM, the linear predictor of a GLMM; rows with a missing level are NaN."""
    point = rows.x @ fit.estimates.beta
    if rows.offset is not None:
        point = point + rows.offset
    if with_ran_ef:
        for codes, z, b in zip(rows.codes, rows.z, fit.estimates.b):
            known = codes >= 0
            point[known] += np.einsum("ns,ns->n", z[known], b[codes[known]])
        point[rows.missing_level] = np.nan
    return point


def predict_with_intervals(fit: FittedModel, newdata: object = None, level: float = 0.95,
                           type: str = "confidence", with_ran_ef: bool = True,
                           new_levels: str = "population", weights: object = None,
                           offset: object = None) -> pd.DataFrame:
    """Predictions with confidence or prediction intervals.

    Parameters
    ----------
    fit, newdata, with_ran_ef, new_levels, offset
        As in :func:`predict` (``newdata=None``: the rows used by the fit, labelled by
        the fitted frame's index).
    level
        Coverage of the intervals, between 0 and 1.
    type
        ``"confidence"``: for the mean response of the row (X beta + Z b);
        ``"prediction"``: for a new observation of it.
    weights
        Prediction intervals of a model fitted with prior weights need the new rows'
        weights (residual variance sigma^2 / w): a column name, an array or a number.

    Returns
    -------
    pandas.DataFrame
        ``fit, lower, upper``, indexed as ``newdata``; ``attrs`` holds level and type.
    """
    fit = as_record(fit)
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    if type not in INTERVAL_TYPES:
        raise InvalidArgumentError(f"type must be one of {INTERVAL_TYPES}, got {type!r}")
    check_new_levels(new_levels)
    rows = rows_or_fit(fit, newdata, with_ran_ef or type == "prediction",
                        new_levels if with_ran_ef else "population", offset)
    point = linear_point(fit, rows, with_ran_ef)
    if with_ran_ef:
        var = conditional_variance(fit, rows)
    else:
        var = population_variance(fit, rows, marginal=type == "prediction")
    if type == "prediction":
        var = var + fit.sigma2 / new_weights(fit, newdata, weights, len(point))
    from scipy.stats import norm

    half = norm.ppf(0.5 + level / 2) * np.sqrt(var)
    table = pd.DataFrame({"fit": point, "lower": point - half, "upper": point + half},
                         index=rows.index)
    table.attrs.update(level=level, type=type)
    return table


def rows_or_fit(fit: FittedModel, newdata: object, random: bool, new_levels: str,
                offset: object) -> NewRows:
    """The rows to predict: ``newdata``'s, or (None) the fit's own, labelled by the
    input frame's index."""
    if newdata is not None:
        return new_rows(fit, newdata, random, new_levels, offset)
    design = fit.structure.require_design("intervals of the fitted values")
    problem = fit.problem
    return NewRows(problem.x, [t.codes for t in problem.terms], [t.z for t in problem.terms],
                   np.zeros(problem.n_obs, dtype=bool), problem.offset, _used_labels(design))


def _used_labels(design: ModelDesign) -> pd.Index:
    """The input frame's labels of the rows the fit used."""
    frame = design.frame
    index = frame.index if frame.index is not None else pd.RangeIndex(frame.n_input)
    return index[frame.rows]


