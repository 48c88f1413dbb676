"""The response of a binomial model, in each of the forms lme4 accepts.

- numbers: 0/1, or proportions in [0, 1] with ``weights=`` the numbers of trials;
- booleans: True is a success;
- a factor (text or categorical) with two levels: the first level (the first category
  of a categorical, else the first in sorted order) is a failure, the other a success,
  as R's ``binomial()`` codes a factor;
- ``cbind(successes, failures)``: the proportion of successes, weighted by the number
  of trials (so ``cbind(s, n - s)`` and ``s / n`` with ``weights = n`` are one model).

The model's weights are the numbers of trials times the prior weights. A number of
successes (proportion x weight) that is not a whole number gets a warning, as in R: the
likelihood is still defined, but it is no longer a binomial one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.design.columns import (
    CATEGORICAL,
    LOGICAL,
    NUMERIC,
    column_kind,
    describe,
    first_value,
)
from mixed_models.design.evaluation import evaluate_piece, expression_values, is_plain
from mixed_models.errors import DataError, DataWarning, ModelError
from mixed_models.formula.calls import Cbind
from mixed_models.formula.response import response_piece
from mixed_models.formula.safe import Column
from mixed_models.formula.terms import ParsedFormula

#: How the response of a binomial model was given (``ModelDesign.response_kind``).
RESPONSE_KINDS = ("numeric", "logical", "factor", "cbind")

#: Largest distance of a number of successes from a whole number (R's tolerance).
COUNT_TOLERANCE = 1e-3

_ALLOWED = ("a binomial response is 0/1 numbers, proportions in [0, 1] with weights= the "
            "numbers of trials, booleans (True = success), a factor with two levels (the "
            "first is the failure) or cbind(successes, failures)")


@dataclass(frozen=True, eq=False)
class BinomialResponse:
    """A binomial response as proportions of successes.

    Attributes
    ----------
    y
        Proportion of successes of each row, in [0, 1].
    kind
        How it was given: one of :data:`RESPONSE_KINDS`.
    levels
        For a factor, its (failure, success) levels; else None.
    trials
        For ``cbind()``, the number of trials of each row (successes + failures);
        else None (one trial per row, or the trials are in the prior weights).
    """

    y: np.ndarray
    kind: str
    levels: tuple[str, str] | None = None
    trials: np.ndarray | None = None


def is_cbind(parsed: ParsedFormula) -> bool:
    """True when the response is ``cbind(successes, failures)``."""
    return isinstance(response_piece(parsed).tree, Cbind)


def refuse_cbind(parsed: ParsedFormula) -> None:
    """Raise ModelError for a ``cbind()`` response in a model that is not binomial."""
    if is_cbind(parsed):
        raise ModelError(
            f"the response '{parsed.response}' gives counts of successes and failures, which "
            "only a binomial GLMM can fit; a linear mixed model needs one numeric response. "
            "Fit a GLMM with family='binomial'")


def binomial_response(parsed: ParsedFormula, data: pd.DataFrame,
                      prior_weights: np.ndarray | None, rows: np.ndarray) -> BinomialResponse:
    """The response of a binomial model on the model frame ``data``.

    ``rows`` maps each row of ``data`` to the row of the user's data, for messages.

    Raises
    ------
    DataError
        For values no binomial response can have (see the module's description).
    """
    tree = response_piece(parsed).tree
    if isinstance(tree, Cbind):
        response = _from_cbind(tree, data, parsed.formula, rows)
    elif isinstance(tree, Column) and tree.name in data.columns:
        response = _from_column(data[tree.name], tree.name, rows)
    else:
        values = evaluate_piece(parsed.response, data, parsed.formula,
                                parsed.response_offset, response=True)
        response = _from_matrix(values, parsed.response, rows)
    _refuse_constant(response, parsed.response)
    if response.kind != "cbind":
        _warn_fractional(response.y * (1.0 if prior_weights is None else prior_weights),
                         "successes (response x weights)", rows)
    return response


def _from_column(column: pd.Series, name: str, rows: np.ndarray) -> BinomialResponse:
    """A response column: numbers, booleans or a two-level factor."""
    kind = column_kind(column)
    if kind == LOGICAL:
        return BinomialResponse(column.to_numpy(dtype=float), "logical")
    if kind == CATEGORICAL:
        return _from_factor(column, name)
    if kind != NUMERIC:
        raise DataError(f"the response '{name}' holds {describe(kind)} (dtype {column.dtype}, "
                        f"e.g. {first_value(column)!r}); {_ALLOWED}")
    return _proportions(column.to_numpy(dtype=float), name, rows)


def _from_factor(column: pd.Series, name: str) -> BinomialResponse:
    """0 for the first level, 1 for the other."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, levels = column.cat.codes.to_numpy(), list(column.cat.categories)
    else:
        codes, uniques = pd.factorize(column, sort=True)
        levels = list(uniques)
    if len(levels) != 2:
        shown = ", ".join(repr(level) for level in levels[:10])
        more = ", ..." if len(levels) > 10 else ""
        raise DataError(f"the response '{name}' has {len(levels)} level(s) ({shown}{more}); "
                        f"a factor response needs exactly two levels. {_ALLOWED}")
    return BinomialResponse(codes.astype(float), "factor", (str(levels[0]), str(levels[1])))


def _from_matrix(values: object, text: str, rows: np.ndarray) -> BinomialResponse:
    """A response expression evaluated by formulaic (comparisons give 0/1)."""
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != 1:
        columns = getattr(values, "columns", [])
        raise DataError(f"the response '{text}' gives {matrix.shape[-1]} columns "
                        f"({list(columns)}); {_ALLOWED}")
    return _proportions(matrix[:, 0], text, rows)


def _proportions(y: np.ndarray, name: str, rows: np.ndarray) -> BinomialResponse:
    """Numbers, which must lie in [0, 1]."""
    bad = np.flatnonzero((y < 0) | (y > 1))
    if len(bad):
        shown = ", ".join(f"{v:g}" for v in np.unique(y[bad])[:5])
        counts = np.all(y >= 0) and np.all(y == np.round(y))
        hint = (f"; for counts of successes out of n trials write cbind({name}, n - {name})"
                if counts and is_plain(name) else "")
        raise DataError(f"the response '{name}' has {len(bad)} value(s) outside [0, 1] "
                        f"({shown}; first at row {rows[bad[0]]}): {_ALLOWED}{hint}")
    return BinomialResponse(y, "numeric")


def _from_cbind(tree: Cbind, data: pd.DataFrame, formula: str,
                rows: np.ndarray) -> BinomialResponse:
    """Counts of successes and failures: their proportion and their total."""
    counts = []
    for text, offset, what in zip(tree.texts, tree.offsets, ("successes", "failures")):
        counts.append(_counts(expression_values(text, data, formula, offset), text, what,
                              rows))
    successes, failures = counts
    _warn_fractional(np.where(_fractional(successes), successes, failures),
                     f"successes or failures of cbind({', '.join(tree.texts)})", rows)
    trials = successes + failures
    empty = np.flatnonzero(trials == 0)
    if len(empty):
        listing = ", ".join(str(r) for r in rows[empty][:10]) + (", ..." if len(empty) > 10
                                                                 else "")
        raise DataError(
            f"{len(empty)} row(s) have no trials (successes '{tree.texts[0]}' + failures "
            f"'{tree.texts[1]}' = 0): rows {listing}. Such rows carry no information; "
            "remove them from the data")
    return BinomialResponse(successes / trials, "cbind", trials=trials)


def _counts(values: np.ndarray, text: str, what: str, rows: np.ndarray) -> np.ndarray:
    """One argument of cbind(): finite, non-negative counts."""
    if values.ndim != 2 or values.shape[1] != 1:
        raise DataError(f"the {what} '{text}' of cbind() must give one number per row; it "
                        f"gives {values.shape[-1]} columns")
    counts = values[:, 0]
    bad = np.flatnonzero(~np.isfinite(counts) | (counts < 0))
    if len(bad):
        raise DataError(
            f"the {what} '{text}' of cbind() are {counts[bad[0]]:g} at row {rows[bad[0]]} "
            f"({len(bad)} row(s) negative or not finite); counts of {what} must be "
            "non-negative whole numbers")
    return counts


def _fractional(counts: np.ndarray) -> np.ndarray:
    return np.abs(counts - np.round(counts)) > COUNT_TOLERANCE


def _warn_fractional(counts: np.ndarray, what: str, rows: np.ndarray) -> None:
    """R's warning for counts that are not whole numbers."""
    off = np.flatnonzero(_fractional(counts))
    if len(off):
        warnings.warn(
            f"the numbers of {what} are not whole numbers in {len(off)} row(s) (first "
            f"{counts[off[0]]:g} at row {rows[off[0]]}); a binomial response counts "
            "successes out of whole numbers of trials (for proportions, give weights= the "
            "numbers of trials)", DataWarning, stacklevel=5)


def _refuse_constant(response: BinomialResponse, text: str) -> None:
    """All failures or all successes: the success probability is estimated at 0 or 1
    and the coefficients have no finite estimate."""
    y = response.y
    for value, what in ((0.0, "failures"), (1.0, "successes")):
        if np.all(y == value):
            raise DataError(f"every row of the response '{text}' is all {what}; a binomial "
                            "model needs both successes and failures (its coefficients "
                            "would have no finite estimate)")
