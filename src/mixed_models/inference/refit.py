"""Refitting a model: on new data, with a new response, by ML, or without a term.

Every refit keeps the model's settings (REML or ML, control, fixed sigma, weights and
offset). Dropping a term rewrites the formula (``model.formula`` of the result is the
reduced formula) and refits it on the rows the model used, with the model's response
(so it works after ``refit(y=...)`` too).
"""

from __future__ import annotations

import numpy as np

from mixed_models.core.interface import MixedProblem
from mixed_models.core.problem import LmmProblem
from mixed_models.errors import DataError, ModelError, NotFoundError
from mixed_models.fitted.fit import fit_formula, fit_recorded
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.structure import Structure
from mixed_models.formula.terms import ParsedFormula, RandomTerm


def _fit_problem(model: FittedModel, problem: MixedProblem, structure: Structure,
                 start: object) -> FittedModel:
    """Fit a prepared problem with the model's settings, recording warnings as a fit does."""
    return fit_recorded(problem, structure, model.control, start, model.settings)


def refit(model: FittedModel, newdata: object = None, y: object = None) -> FittedModel:
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
    model = as_record(model)
    if (newdata is None) == (y is None):
        raise ModelError("refit needs exactly one of newdata (a data frame) or y (a response)")
    if y is not None:
        return _refit_response(model, np.asarray(y, dtype=float).ravel())
    return _refit_data(model, newdata)


def _refit_response(model: FittedModel, y: np.ndarray) -> FittedModel:
    problem = model.problem
    if y.shape != problem.y.shape:
        raise DataError(f"the new response has {y.size} values; the model has {problem.n_obs} "
                        "observations (give one value per observation the model used)")
    return _fit_problem(model, *with_response(model, y), model.theta)


def with_response(model: FittedModel, y: np.ndarray) -> tuple[MixedProblem, Structure]:
    """The model's problem and structure with the response ``y`` (Z and X blocks shared;
    a design's data frame still holds the original response column)."""
    problem = model.problem.with_response(y)
    return problem, model.structure.with_response(problem.y)


def _refit_data(model: FittedModel, newdata: object) -> FittedModel:
    formula = _formula(model, "refit(newdata=...)")
    design = model.structure.require_design("refit(newdata=...)")
    frame = design.frame
    n_rows = len(newdata)  # type: ignore[arg-type]
    for name, values in (("weights", frame.weights), ("offset", frame.offset)):
        if values is not None and n_rows != len(values):
            raise ModelError(
                f"the model has {name} for its {len(values)} rows and newdata has {n_rows} "
                f"rows; fit LMM.from_formula(formula, newdata, {name}=...) instead")
    return fit_formula(
        formula, newdata, reml=model.reml, weights=frame.weights,
        offset=design.given_offset, na_action=frame.na_action, control=model.control,
        sigma=model.problem.sigma)


def _formula(model: FittedModel, what: str) -> str:
    if model.formula is None:
        raise ModelError(f"{what} needs a model fitted from a formula")
    return model.formula


def refit_ml(model: FittedModel) -> FittedModel:
    """The model itself when fitted by ML, else the same model refitted by ML.

    The REML estimate of theta is the starting point (as lme4's ``refitML``).
    """
    model = as_record(model)
    if not model.reml:
        return model
    p = model.problem
    problem = LmmProblem(p.terms, p.x, p.y, p.weights, p.offset, reml=False, sigma=p.sigma)
    return _fit_problem(model, problem, model.structure, model.theta)


def refit_formula(model: FittedModel, formula: str) -> FittedModel:
    """Fit ``formula`` on the model's rows, weights, offset and response (a GLMM with its
    family, link and ``n_agq``; a negative binomial's shape estimated again when it was
    estimated)."""
    frame = model.structure.require_design("a refit with another formula").frame
    if model.is_generalized:
        # the GLMM fit loads scipy.special and nlopt's GLM core: only for GLMMs
        from mixed_models.fitted.glmm_fit import fit_glmm_formula, refit_glmm_response

        problem = model.problem
        family = "negative_binomial" if problem.shape_estimated else model.family
        new = fit_glmm_formula(formula, frame.data, family=family, n_agq=problem.n_agq,
                               weights=frame.weights, offset=frame.offset,
                               control=model.control)
    else:
        new = fit_formula(
            formula, frame.data, reml=model.reml, weights=frame.weights, offset=frame.offset,
            control=model.control, sigma=model.problem.sigma)
    if new.n_obs != model.n_obs:
        raise ModelError(f"the reduced formula uses {new.n_obs} of the model's "
                         f"{model.n_obs} rows; cannot compare the fits")
    if not np.array_equal(new.problem.y, model.problem.y):  # after refit(y=...)
        new = refit_glmm_response(new, model.problem.y) if model.is_generalized \
            else _refit_response(new, model.problem.y)
    return new


# --- dropping terms ------------------------------------------------------------------

def fixed_term_labels(model: FittedModel) -> dict[str, list[str]]:
    """Each term of the fixed part (``intercept`` for the intercept) -> its columns."""
    fixed = model.structure.require_design("a test of a fixed-effects term").fixed
    position = {int(k): i for i, k in enumerate(fixed.kept)}
    out: dict[str, list[str]] = {}
    for term, indices in fixed.spec.term_indices.items():
        label = "intercept" if str(term) == "1" else str(term)
        out[label] = [fixed.names[position[i]] for i in indices if i in position]
    return out


def resolve_fixed_term(model: FittedModel, name: str) -> str:
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


def drop_fix_ef(model: FittedModel, name: str) -> FittedModel:
    """The model refitted without one fixed-effects term.

    ``name`` is a term of the fixed part (``"Age"``, ``"Species"``, ``"recipe:temp"``,
    ``"intercept"``) or the column of a one-column term. A single column of a factor
    cannot be dropped (it is not a model a formula can state).
    """
    model = as_record(model)
    formula = _formula(model, "drop_fix_ef")
    label = resolve_fixed_term(model, name)
    kept = [t for t, cols in fixed_term_labels(model).items() if cols and t != label]
    intercept = "intercept" in kept
    terms = [t for t in kept if t != "intercept"]
    fixed = " + ".join(["1" if intercept else "0"] + terms)
    parsed = model.structure.require_design("dropping a term").parsed
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


def drop_ran_ef(model: FittedModel, variable: str,
                grouping: str | tuple[str, ...]) -> FittedModel:
    """The model refitted without one random effect of one grouping factor.

    ``variable`` is ``"intercept"`` or a term of the bar's left side (``"Age"``, a
    factor ``"Machine"``); ``grouping`` names the grouping factor (``"Location"``,
    ``"a:b"`` or ``("a", "b")``). A bar left with no column is removed.
    """
    model = as_record(model)
    formula = _formula(model, "drop_ran_ef")
    group = grouping if isinstance(grouping, str) else ":".join(grouping)
    random = model.structure.require_design("dropping a term").random
    design = next((r for r in random if r.group == group), None)
    if design is None:
        raise NotFoundError(f"'{group}' is not a grouping factor of the model; the grouping "
                            f"factors are {[r.group for r in random]}")
    parsed = model.structure.require_design("dropping a term").parsed
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
