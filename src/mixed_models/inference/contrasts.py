"""Contrast matrices of the fixed-effects terms for type III tests (lmerTest's).

For each term of the fixed part, a matrix L whose rows span the hypothesis "the term
has no effect" in the type III (SAS) sense, for treatment-coded factors:

1. Build the over-parameterized matrix: an intercept column, then for every term the
   full indicator coding of its factors (every level) times its numeric variables.
2. Express each of those columns in the model's columns: L = (pinv(X) X_full)'.
3. Orthogonalize the columns of L belonging to a term against those of the terms that
   contain it (same numeric variables, more factors), highest order first.
4. Keep the rows of the columns that are in the model; each term's rows form its L.

Models with a single term use the sequential (type I) contrast of that term instead,
as lmerTest does. Only treatment coding with hierarchical terms is supported: a model
whose columns are not indicator products (sum contrasts, interactions without their
main effects) is refused with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixed_models.design import ModelDesign
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import ModelError

ZAP_DIGITS = 7


@dataclass(frozen=True)
class Term:
    """A fixed-effects term: its label, variables and its columns among the kept ones."""

    label: str
    variables: tuple[str, ...]
    numerics: frozenset[str]
    columns: tuple[int, ...]


def zapsmall(a: np.ndarray, digits: int = ZAP_DIGITS) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry."""
    big = np.max(np.abs(a)) if a.size else 0.0
    if not big > 0:
        return a
    return np.round(a, max(0, digits - int(np.ceil(np.log10(big)))))


def fixed_terms(model: FittedModel) -> tuple[list[Term], bool]:
    """The non-intercept terms of the fixed part and whether there is an intercept."""
    fixed = model.structure.require_design("a test of a fixed-effects term").fixed
    spec = fixed.spec
    position = {int(k): i for i, k in enumerate(fixed.kept)}
    kinds = {name: str(state[0].value) for name, state in spec.encoder_state.items()}
    terms, intercept = [], False
    for term, indices in spec.term_indices.items():
        variables = tuple(str(f.expr) for f in term.factors)
        columns = tuple(position[i] for i in indices if i in position)
        if variables == ("1",):
            intercept = intercept or bool(columns)
            continue
        numerics = frozenset(v for v in variables if kinds.get(v) == "numerical")
        terms.append(Term(str(term), variables, numerics, columns))
    return terms, intercept


def term_contrasts(model: FittedModel) -> dict[str, np.ndarray]:
    """Type III contrast matrix of each fixed-effects term (lmerTest's ``anova`` type 3)."""
    model = as_record(model)
    terms, intercept = fixed_terms(model)
    x = _design(model).fixed.matrix
    if x.shape[1] <= 1 or len(terms) <= 1:
        return _sequential(terms, x)
    full, blocks = _full_coding(model, terms, intercept)
    lmat = zapsmall(np.linalg.pinv(x) @ full).T
    for term in sorted(terms, key=lambda t: -len(t.variables)):
        containers = [t for t in terms if _contains(t, term)]
        cols = list(term.columns)
        if containers and cols:
            basis = lmat[:, [c for t in containers for c in t.columns]]
            coef, *_ = np.linalg.lstsq(basis, lmat[:, cols], rcond=None)
            lmat[:, cols] = zapsmall(lmat[:, cols] - basis @ coef)
    rows = _model_rows(model, terms, intercept, full, blocks)
    out = {}
    for term in terms:
        block = lmat[rows][:, list(term.columns)].T
        out[term.label] = block[np.sum(np.abs(block), axis=1) > 1e-8]
    return out


def _sequential(terms: list[Term], x: np.ndarray) -> dict[str, np.ndarray]:
    """Type I contrasts: rows of the unit upper factor of X'X (lmerTest's doolittle)."""
    p = x.shape[1]
    if p == 1:
        upper = np.ones((1, 1))
    else:
        chol = np.linalg.cholesky(x.T @ x)
        lower = chol / np.diag(chol)
        lower[np.abs(lower) < 1e-6] = 0.0
        upper = lower.T
    return {t.label: upper[list(t.columns)] for t in terms}


def _contains(outer: Term, inner: Term) -> bool:
    """lmerTest's containment: more variables, all of inner's, same numeric variables."""
    a, b = set(inner.variables), set(outer.variables)
    return a <= b and bool(b - a) and inner.numerics == outer.numerics


def _full_coding(model: FittedModel, terms: list[Term],
                 intercept: bool) -> tuple[np.ndarray, list[slice]]:
    """The over-parameterized matrix and the column block of each term in it."""
    data = _design(model).frame.data
    n = len(data)
    pieces = [np.ones((n, 1))] if intercept else []
    blocks, start = [], len(pieces)
    for term in terms:
        block = np.asarray(_design(model).fixed.spec.matrix_of(f"0 + {term.label}", data),
                           dtype=float)
        pieces.append(block)
        blocks.append(slice(start, start + block.shape[1]))
        start += block.shape[1]
    return np.column_stack(pieces), blocks


def _model_rows(model: FittedModel, terms: list[Term], intercept: bool, full: np.ndarray,
                blocks: list[slice]) -> list[int]:
    """For each model column, the column of the full coding it equals."""
    x = _design(model).fixed.matrix
    rows = [-1] * x.shape[1]
    owners = [(t.columns, b) for t, b in zip(terms, blocks)]
    if intercept:
        owners.append(([c for c in range(x.shape[1]) if c not in
                        {i for t in terms for i in t.columns}], slice(0, 1)))
    for columns, block in owners:
        candidates = full[:, block]
        for c in columns:
            match = np.flatnonzero(np.all(np.isclose(candidates, x[:, [c]], rtol=1e-12,
                                                     atol=1e-12), axis=0))
            if len(match) == 0:
                name = model.fix_ef_names[c]
                raise ModelError(
                    f"type III contrasts need treatment-coded factors and hierarchical terms; "
                    f"the column '{name}' is not an indicator product of its term's levels. "
                    "Use the default treatment contrasts and include the main effects of "
                    "every interaction, or test coefficients with fix_ef_summary()")
            rows[c] = block.start + int(match[0])
    return rows


def _design(model: FittedModel) -> ModelDesign:
    return model.structure.require_design("a test of a fixed-effects term")
