"""Refitting a model: on new data, with a new response, by ML, or without a term.

Every refit keeps the model's settings (REML or ML, control, fixed sigma, weights and
offset). Dropping a term rewrites the formula (``model.formula`` of the result is the
reduced formula) and refits it on the rows the model used, with the model's response
(so it works after ``refit(y=...)`` too).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

import numpy as np

from mixed_models.core.problem import LmmProblem
from mixed_models.errors import DataError, ModelError, NotFoundError
from mixed_models.formula.terms import ParsedFormula, RandomTerm
from mixed_models.inference.sdcor import design_of

if TYPE_CHECKING:
    from mixed_models.design import ModelDesign
    from mixed_models.model import LMM


def _fit_problem(model: LMM, problem: LmmProblem, design: ModelDesign | None,
                 start: object) -> LMM:
    """Fit a prepared problem with the model's settings, recording warnings as a fit does."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = type(model)._fit(problem, design, start, model._settings, model.control)
    new._reemit(caught)
    return new


def refit(model: LMM, newdata: object = None, y: object = None) -> LMM:
    """The same model fitted to new data, or to a new response on the same rows.

    Parameters
    ----------
    newdata
        A data frame with the formula's columns; the formula and every setting are
        reused. Weights and an offset given as arrays are reused only when ``newdata``
        has as many rows as the model used (as the gem does).
    y
        A new response, one value per observation the model used (lme4's
        ``refit(object, newresp)``); the design is reused, only the response changes.
    """
    if (newdata is None) == (y is None):
        raise ModelError("refit needs exactly one of newdata (a data frame) or y (a response)")
    if y is not None:
        return _refit_response(model, np.asarray(y, dtype=float).ravel())
    return _refit_data(model, newdata)


def _refit_response(model: LMM, y: np.ndarray) -> LMM:
    problem = model._problem
    if y.shape != problem.y.shape:
        raise DataError(f"the new response has {y.size} values; the model has {problem.n_obs} "
                        "observations (give one value per observation the model used)")
    return _fit_problem(model, *with_response(model, y), model.theta)


def with_response(model: LMM, y: np.ndarray) -> tuple[LmmProblem, ModelDesign | None]:
    """The model's problem and design with the response ``y`` (Z and X blocks shared;
    the design's data frame still holds the original response column)."""
    problem = model._problem.with_response(y)
    design = None if model._design is None else dataclasses.replace(model._design,
                                                                      y=problem.y)
    return problem, design


def _refit_data(model: LMM, newdata: object) -> LMM:
    formula = _formula(model, "refit(newdata=...)")
    frame = model._design.frame
    n_rows = len(newdata)  # type: ignore[arg-type]
    for name, values in (("weights", frame.weights), ("offset", frame.offset)):
        if values is not None and n_rows != len(values):
            raise ModelError(
                f"the model has {name} for its {len(values)} rows and newdata has {n_rows} "
                f"rows; fit LMM.from_formula(formula, newdata, {name}=...) instead")
    return type(model).from_formula(
        formula, newdata, reml=model.reml, weights=frame.weights,
        offset=model._design.given_offset, na_action=frame.na_action, control=model.control, sigma=model._problem.sigma)


def _formula(model: LMM, what: str) -> str:
    if model.formula is None:
        raise ModelError(f"{what} needs a model fitted from a formula")
    return model.formula


def refit_ml(model: LMM) -> LMM:
    """The model itself when fitted by ML, else the same model refitted by ML.

    The REML estimate of theta is the starting point (as lme4's ``refitML``).
    """
    if not model.reml:
        return model
    p = model._problem
    problem = LmmProblem(p.terms, p.x, p.y, p.weights, p.offset, reml=False, sigma=p.sigma)
    return _fit_problem(model, problem, model._design, model.theta)


def refit_formula(model: LMM, formula: str) -> LMM:
    """Fit ``formula`` on the model's rows, weights, offset and response."""
    frame = model._design.frame
    new = type(model).from_formula(
        formula, frame.data, reml=model.reml, weights=frame.weights, offset=frame.offset,
        control=model.control, sigma=model._problem.sigma)
    if new.n_obs != model.n_obs:
        raise ModelError(f"the reduced formula uses {new.n_obs} of the model's "
                         f"{model.n_obs} rows; cannot compare the fits")
    if not np.array_equal(new._problem.y, model._problem.y):  # after refit(y=...)
        new = _refit_response(new, model._problem.y)
    return new


# --- dropping terms ------------------------------------------------------------------

def fixed_term_labels(model: LMM) -> dict[str, list[str]]:
    """Each term of the fixed part (``intercept`` for the intercept) -> its columns."""
    fixed = design_of(model, "a test of a fixed-effects term").fixed
    position = {int(k): i for i, k in enumerate(fixed.kept)}
    out: dict[str, list[str]] = {}
    for term, indices in fixed.spec.term_indices.items():
        label = "intercept" if str(term) == "1" else str(term)
        out[label] = [fixed.names[position[i]] for i in indices if i in position]
    return out


def resolve_fixed_term(model: LMM, name: str) -> str:
    """The fixed term a user's name refers to: a term label, or the column of a
    one-column term."""
    terms = fixed_term_labels(model)
    if name in terms and terms[name]:
        return name
    for label, columns in terms.items():
        if name in columns:
            if len(columns) == 1:
                return label
            raise ModelError(
                f"'{name}' is one of the {len(columns)} columns of the term '{label}' "
                f"({columns}); drop or test the whole term ('{label}'), or test single "
                "coefficients with fix_ef_summary() or fix_ef_p(method='wald')")
    allowed = [t for t, cols in terms.items() if cols]
    raise NotFoundError(f"'{name}' is not a fixed-effects term of the model; the terms are "
                        f"{allowed}")


def drop_fix_ef(model: LMM, name: str) -> LMM:
    """The model refitted without one fixed-effects term.

    ``name`` is a term of the fixed part (``"Age"``, ``"Species"``, ``"recipe:temp"``,
    ``"intercept"``) or the column of a one-column term. A single column of a factor
    cannot be dropped (it is not a model a formula can state).
    """
    formula = _formula(model, "drop_fix_ef")
    label = resolve_fixed_term(model, name)
    kept = [t for t, cols in fixed_term_labels(model).items() if cols and t != label]
    intercept = "intercept" in kept
    terms = [t for t in kept if t != "intercept"]
    fixed = " + ".join(["1" if intercept else "0"] + terms)
    parsed = model._design.parsed
    return refit_formula(model, f"{parsed.response} ~ {fixed} + {_bars(parsed, formula)}")


def _bars(parsed: ParsedFormula, formula: str,
          replace: dict[int, str | None] | None = None) -> str:
    """The formula's random-effects bars, with the terms in ``replace`` replaced by the
    given text (or removed for None). Bars left alone keep their original text."""
    replace = replace or {}
    spans: dict[tuple[int, int], list[int]] = {}
    for i, term in enumerate(parsed.random):
        spans.setdefault(term.span, []).append(i)
    out: list[str] = []
    for span, indices in spans.items():
        if not any(i in replace for i in indices):
            out.append(formula[span[0]:span[1]])
            continue
        # a bar that expanded into several terms (a/b) is written out term by term
        for i in indices:
            text = replace[i] if i in replace else _bar_text(parsed.random[i],
                                                                parsed.random[i].expr)
            if text is not None:
                out.append(text)
    return " + ".join(out)


def _bar_text(term: RandomTerm, expr: str) -> str:
    """The bar as formula text, with its covariance structure: a double bar stays one
    (lme4's split by terms), any other structure keeps its wrapper."""
    group = ":".join(_quote(g) for g in term.grouping)
    if term.double_bar:
        return f"({expr} || {group})"
    if term.structure == "us" and term.homogeneous is None:
        return f"({expr} | {group})"
    hom = "" if term.homogeneous is None else \
        f", hom = {'TRUE' if term.homogeneous else 'FALSE'}"
    return f"{term.structure}({expr} | {group}{hom})"


def _quote(name: str) -> str:
    return name if name.replace("_", "").replace(".", "").isalnum() else f"`{name}`"


def drop_ran_ef(model: LMM, variable: str, grouping: str | tuple[str, ...]) -> LMM:
    """The model refitted without one random effect of one grouping factor.

    ``variable`` is ``"intercept"`` or a term of the bar's left side (``"Age"``, a
    factor ``"Machine"``); ``grouping`` names the grouping factor (``"Location"``,
    ``"a:b"`` or ``("a", "b")``). A bar left with no column is removed.
    """
    formula = _formula(model, "drop_ran_ef")
    group = grouping if isinstance(grouping, str) else ":".join(grouping)
    design = next((r for r in model._design.random if r.group == group), None)
    if design is None:
        raise NotFoundError(f"'{group}' is not a grouping factor of the model; the grouping "
                            f"factors are {[r.group for r in model._design.random]}")
    parsed = model._design.parsed
    for part in design.parts:
        labels = ["intercept" if str(t) == "1" else str(t) for t in part.spec.terms]
        if variable not in labels:
            continue
        if part.term.structure not in ("us", "diag"):
            raise ModelError(f"drop_ran_ef handles (x | g) and (x || g) terms, not "
                             f"{part.term.structure}() terms")
        index = parsed.random.index(part.term)
        rest = [t for t in labels if t != variable]
        expr = " + ".join(["1" if "intercept" in rest else "0"]
                          + [t for t in rest if t != "intercept"])
        new_bar = _bar_text(part.term, expr) if rest else None
        bars = _bars(parsed, formula, {index: new_bar})
        if not bars:
            raise ModelError(f"dropping '{variable}' leaves the model without random effects; "
                             "a model without random effects is not a mixed model")
        fixed = parsed.fixed_formula
        return refit_formula(model, f"{parsed.response} ~ {fixed} + {bars}")
    columns = [c for p in design.parts for c in
               ["intercept" if str(t) == "1" else str(t) for t in p.spec.terms]]
    raise NotFoundError(f"'{variable}' is not a random effect of grouping factor '{group}'; "
                        f"its random effects are {columns}")
