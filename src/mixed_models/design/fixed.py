"""The response and the fixed-effects matrix, built by formulaic.

Treatment contrasts with the first level of the sorted levels (or the first category
of a pandas categorical) as the baseline, as in R. Aliased columns are found by a
LINPACK-style sequential test (the same columns R's ``qr(X, tol = 1e-7)`` keeps, i.e.
later columns are dropped in favour of earlier ones) and removed with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.core.shift import GRAM_CLEAR, GRAM_ROWS, clear_gram
from mixed_models.design.evaluation import Evaluated, SafeSpec, evaluate_piece, formulaic_errors
from mixed_models.design.names import gem_names
from mixed_models.control import Action, enforce
from mixed_models.errors import DataError, ModelError, RankDeficiencyWarning
from mixed_models.formula.terms import ParsedFormula

RANK_TOL = 1e-7
# how far above the rank tolerance one QR alone decides that no column is dropped
_MARGIN = 1e3


@dataclass(frozen=True, eq=False)
class FixedDesign:
    """The fixed-effects matrix with aliased columns removed.

    Attributes
    ----------
    matrix
        n x p array of the kept columns.
    names
        Names of the kept columns (the gem's vocabulary).
    dropped
        Names of the aliased columns that were removed.
    kept
        Indices of the kept columns among all the columns formulaic made.
    spec
        formulaic's model spec (evaluated on the fit's column identifiers), to build
        the same columns on new data.
    empty
        Indices (among formulaic's columns) and names of the columns that were zero in
        every row of the fit, e.g. a combination of factor levels without rows.
    reproduces_target
        Whether the kept columns reproduce the target given to :func:`fixed_design`
        exactly (by the rank test's tolerance); None when none was given.
    """

    matrix: np.ndarray
    names: list[str]
    dropped: list[str]
    kept: np.ndarray
    spec: SafeSpec
    empty: tuple[tuple[int, str], ...] = ()
    reproduces_target: bool | None = None

    def for_data(self, data: pd.DataFrame) -> np.ndarray:
        """The kept columns evaluated on new data (same coding as the fit).

        Raises DataError for a row that needs a column the fit had no rows for: its
        coefficient has no estimate, and leaving it out would predict another group.
        """
        try:
            mm = np.asarray(self.spec.get_model_matrix(data, na_action="ignore"), dtype=float)
        except formulaic_errors.FormulaicError as exc:
            raise DataError("cannot evaluate the fixed effects on the new data: "
                            f"{str(exc).splitlines()[0]}") from None
        for index, name in self.empty:
            rows = np.flatnonzero(np.nan_to_num(mm[:, index]) != 0)
            if len(rows):
                raise DataError(
                    f"row(s) {[int(i) for i in rows[:5]]} of the new data need the fixed "
                    f"effect '{name}', which had no rows in the fit (it was zero in every "
                    "row) and has no estimate; predict only combinations of levels the "
                    "fitted data had")
        return mm[:, self.kept]


def evaluate(text: str, data: pd.DataFrame, formula: str, offset: int,
             response: bool = False) -> Evaluated:
    """Check ``text`` and run formulaic on it (see :mod:`mixed_models.design.evaluation`),
    turning its errors into FormulaError/DataError."""
    return evaluate_piece(text, data, formula, offset, response=response)


def response_vector(parsed: ParsedFormula, data: pd.DataFrame,
                    built: np.ndarray | None = None) -> np.ndarray:
    """The response as floats; refuses text and categorical responses. ``built`` is
    the response when the design's fast path made it (see :mod:`.fast`)."""
    if built is not None:
        return built
    start = parsed.response_offset
    column = parsed.response.strip("`")
    if column in data.columns and not _is_numeric(data[column]):
        raise DataError(
            f"the response '{column}' must be numeric, got values of type "
            f"{data[column].dtype} such as {data[column].iloc[0]!r}"
        )
    mm = evaluate(parsed.response, data, parsed.formula, start, response=True)
    lhs = np.asarray(mm, dtype=float)
    if lhs.shape[1] != 1:
        raise DataError(
            f"the response '{parsed.response}' must be one numeric column; it gives "
            f"{lhs.shape[1]} columns ({mm.columns})"
        )
    return lhs[:, 0]


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series))


def fixed_design(parsed: ParsedFormula, data: pd.DataFrame | None,
                 rank_action: Action = "warn", built: Evaluated | None = None,
                 target: np.ndarray | None = None) -> FixedDesign:
    """Build X from the fixed part of the formula and drop aliased columns.

    ``rank_action`` says what to do besides dropping them: warn, raise or nothing.
    ``built`` is the fixed part's matrix when the design's fast path made it (``data``,
    the model frame, is then not read and may be None).
    ``target`` (the response less any offset): the same rank test, run on X with the
    target as a last column, also says whether X reproduces it exactly (one test for
    both questions).
    """
    text = parsed.fixed if parsed.fixed.strip() else "1"
    mm = built if built is not None else evaluate(text, data, parsed.formula,
                                                  parsed.fixed_offset)
    matrix = np.asarray(mm, dtype=float)
    names = mm.names if len(set(mm.names)) == len(mm.names) else gem_names(mm.columns)
    p = matrix.shape[1]
    if target is None:
        kept, reproduces = independent_columns(matrix), None
    else:
        kept = independent_columns(np.column_stack([matrix, target]))
        reproduces = p not in kept
        kept = [j for j in kept if j < p]
    dropped = [n for i, n in enumerate(names) if i not in set(kept)]
    if dropped:
        enforce(rank_action,
                f"fixed-effect model matrix is rank deficient: dropping {len(dropped)} "
                f"column(s) {dropped} that are linear combinations of earlier columns",
                ModelError, RankDeficiencyWarning, stacklevel=5)
    nonzero = matrix.any(axis=0)
    empty = tuple((j, names[j]) for j in range(p) if not nonzero[j])
    chosen = matrix if len(kept) == p else matrix[:, kept]
    return FixedDesign(chosen, [names[i] for i in kept], dropped,
                       np.asarray(kept, dtype=np.intp), mm.model_spec, empty, reproduces)


def independent_columns(x: np.ndarray, tol: float = RANK_TOL) -> list[int]:
    """Indices of the columns kept by a sequential (LINPACK-style) rank test.

    A column is dropped when its component orthogonal to the columns kept before it
    has a norm below ``tol`` times its own norm.
    """
    # columns read contiguously, and the orthonormal basis grows in place: a strided
    # read or a copy of the basis per column would cost O(n p^2) memory moves
    x = np.asfortranarray(x, dtype=float)
    if _clearly_independent(x, tol):
        return list(range(x.shape[1]))
    return sequential_columns(x, tol)


def sequential_columns(x: np.ndarray, tol: float = RANK_TOL) -> list[int]:
    """:func:`independent_columns` by the sequential test alone (Gram-Schmidt, each
    column against the basis of the columns kept before it)."""
    x = np.asfortranarray(x, dtype=float)
    basis = np.zeros((x.shape[1], x.shape[0])).T
    kept: list[int] = []
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = np.linalg.norm(col)
        if norm == 0.0:
            continue
        done = basis[:, :len(kept)]
        resid = col - done @ (done.T @ col)
        resid = resid - done @ (done.T @ resid)  # twice is enough (Kahan-Parlett)
        rnorm = np.linalg.norm(resid)
        if rnorm > tol * norm:
            basis[:, len(kept)] = resid / rnorm
            kept.append(j)
    return kept


def _clearly_independent(x: np.ndarray, tol: float) -> bool:
    """Whether every column keeps far more than ``tol`` of its norm orthogonal to the
    columns before it, by one Householder QR: |R_jj| is that orthogonal part when no
    column before j is dropped, so the sequential test would keep them all. The margin
    covers the rounding in which Householder and Gram-Schmidt differ; near it (and for
    anything not finite) the sequential test decides."""
    n, p = x.shape
    if p == 0 or n < p:
        return p == 0
    # columns each far from the span of those before (GRAM_CLEAR's root, 1e-2, is far
    # above _MARGIN * tol) pass on their Gram matrix's Cholesky pivots: half a QR's work
    if _MARGIN * tol < np.sqrt(GRAM_CLEAR) and (p <= 2 or n >= GRAM_ROWS) \
            and clear_gram(x.T @ x):
        return True
    from scipy.linalg import lapack  # scipy is imported when a fit needs it, not before

    factored, _, _, info = lapack.dgeqrf(x)
    if info != 0:
        return False
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    return bool(np.all(np.abs(np.diagonal(factored)) > _MARGIN * tol * norms))
