"""The fit of a generalized linear mixed model: from a formula and data to a record.

The pipeline is the LMM's (parse, design, numeric problem, optimize, assemble, check),
with the core's GLMM fit (:func:`mixed_models.core.glm.fit_glmm`, or
:func:`~mixed_models.core.glm.nbinom.fit_negative_binomial` when a negative binomial's
shape is estimated) in place of the profiled LMM optimizer. The record is a
:class:`~mixed_models.fitted.record.FittedModel` whose ``family`` is the family object
and whose ``problem`` is a :class:`~mixed_models.fitted.glmm_problem.GlmmRecordProblem`.
"""

from __future__ import annotations

import warnings

import numpy as np

from mixed_models.control import Control, fit_arguments
from mixed_models.core.fit import FitSettings
from mixed_models.core.glm import (
    Family, GlmmFit, GlmmProblem, GlmmSettings, NegativeBinomial, beta_covariance,
    beta_covariance_given_theta, fit_glmm, make_family,
)
from mixed_models.core.glm.agq import check_agq
from mixed_models.core.glm.general import GeneralGlmmProblem
from mixed_models.core.glm.nbinom import NegativeBinomialFit, fit_negative_binomial
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.threads import blas_threads_for
from mixed_models.design import build_design
from mixed_models.errors import (
    ConvergenceWarning, DataError, DataTypeError, InvalidArgumentError, ModelError, SingularFitWarning,
)
from mixed_models.fitted.fit import with_recorded_warnings
from mixed_models.fitted.glmm_problem import GeneralGlmmRecordProblem, GlmmRecordProblem
from mixed_models.fitted.raw import raw_arrays
from mixed_models.fitted.record import SINGULAR_TOL, FittedModel
from mixed_models.fitted.structure import FormulaStructure, RawStructure
from mixed_models.formula import parse_formula

#: The family names ``GLMM.from_formula`` takes (or a Family object).
FAMILY_NAMES = ("binomial", "poisson", "gamma", "inverse_gaussian", "negative_binomial")
_CORE_NAMES = {"binomial": "binomial", "poisson": "poisson", "gamma": "Gamma",
               "inverse_gaussian": "inverse.gaussian"}
MAX_AGQ = 25


def resolve_family(family: object, link: object) -> tuple[Family | None, str | None]:
    """The family object of a ``family`` argument and ``link``; (None, link) for
    ``"negative_binomial"``, whose shape is estimated."""
    if link is not None and not isinstance(link, str):
        raise DataTypeError(f"link must be a link's name or None, got {link!r}")
    if isinstance(family, Family):
        if link is not None and link != family.link.name:
            raise InvalidArgumentError(
                f"link={link!r} conflicts with the family object's link {family.link.name!r}; "
                "give the link in the family object only")
        return family, None
    if not isinstance(family, str) or family.lower() not in FAMILY_NAMES:
        raise InvalidArgumentError(f"unknown family {family!r}; use one of {FAMILY_NAMES} "
                                   "or a family object such as NegativeBinomial(shape=2.0)")
    name = family.lower()
    if name == "negative_binomial":
        return None, _checked_link(NegativeBinomial(1.0), link)
    core_name = _CORE_NAMES[name]
    _checked_link(make_family(core_name), link)
    return make_family(core_name, link), None


def _checked_link(family: Family, link: str | None) -> str:
    if link is not None and link not in family.links:
        raise InvalidArgumentError(f"unknown link {link!r} for the {family.name} family; "
                                   f"use one of {family.links}")
    return family.link.name if link is None else link


def check_n_agq(n_agq: object) -> int:
    """``n_agq`` as an int in 0..25."""
    if isinstance(n_agq, bool) or not isinstance(n_agq, (int, np.integer)) \
            or not 0 <= n_agq <= MAX_AGQ:
        raise InvalidArgumentError(f"n_agq must be 0, 1 (Laplace) or a number of quadrature "
                                   f"nodes up to {MAX_AGQ}, got {n_agq!r}")
    return int(n_agq)


def glmm_control(control: object) -> Control:
    """The control of a GLMM fit: as given, or defaults that accept one observation per
    level (an observation-level random effect is a usual model of overdispersion)."""
    if control is None:
        return Control(check_nobs_vs_nlev="ignore", check_nobs_vs_nre="ignore")
    return fit_arguments(False, control)[1]


def fit_glmm_formula(formula: str, data: object, *, family: object = "binomial",
                     link: object = None, n_agq: object = 1, weights: object = None,
                     offset: object = None, na_action: str = "drop", start_point: object = None,
                     control: object = None) -> FittedModel:
    """Fit the generalized linear mixed model of an lme4 formula (see ``GLMM.from_formula``)."""
    def build() -> FittedModel:
        family_, nb_link = resolve_family(family, link)
        agq = check_n_agq(n_agq)
        control_ = glmm_control(control)
        parsed = parse_formula(formula)
        binomial = family_ is not None and family_.name == "binomial"
        design = build_design(parsed, data, weights, offset, na_action, control_,
                              binomial=binomial)
        core = GlmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                           design.y, family_ or make_family("poisson", nb_link),
                           weights=design.weights, offset=design.offset)
        start = None if start_point is None else np.asarray(start_point, dtype=float)
        # One BLAS thread for a small model: OpenBLAS threads even tiny solves, and on a
        # busy machine its spinning threads cost more than the whole fit.
        with blas_threads_for(core.design.q + core.design.p, tiny=0):
            problem = _fit_core(core, family_, nb_link, agq, start, control_)
        return _record(problem, FormulaStructure(design), control_, start)

    return with_recorded_warnings(build)


def fit_glmm_raw(*, x: object, y: object, zt: object, lambdat: object, start_point: object,
                 family: object = "binomial", link: object = None, n_agq: object = 1,
                 x_col_names: list[str] | None = None, z_col_names: list[str] | None = None,
                 weights: object = None, offset: object = None, lower_bound: object = None,
                 upper_bound: object = None, control: object = None) -> FittedModel:
    """Fit a GLMM given as matrices (see ``GLMM(x=, y=, zt=, lambdat=...)``)."""
    def build() -> FittedModel:
        family_, _ = resolve_family(family, link)
        if family_ is None:
            raise ModelError("a GLMM given as raw matrices cannot estimate a negative "
                             "binomial's shape; fix it with NegativeBinomial(shape) or use "
                             "GLMM.from_formula")
        agq = check_n_agq(n_agq)
        if agq > 1:
            raise ModelError(f"n_agq={agq}: adaptive quadrature needs a single scalar grouped "
                             "term (a formula model); a raw-matrix GLMM takes n_agq 0 or 1")
        control_ = glmm_control(control)
        a = raw_arrays(x, y, zt, lambdat, start_point, x_col_names=x_col_names,
                       z_col_names=z_col_names, weights=weights, offset=offset,
                       lower_bound=lower_bound, upper_bound=upper_bound)
        try:
            core = GeneralGlmmProblem(a.x, a.zt, lambdat, a.start, a.y, family_, a.weights,
                                      a.offset, a.lower, a.upper)
        except ValueError as err:
            raise DataError(str(err)) from None
        with blas_threads_for(core.design.m, tiny=0):
            problem = _fit_core(core, family_, None, agq, a.start, control_)
        return _record(problem, a.structure, control_, a.start)

    return with_recorded_warnings(build)


def refit_glmm_response(record: FittedModel, y: np.ndarray) -> FittedModel:
    """The fitted GLMM ``record`` refitted to a new response on the same rows (same
    design, family, weights, offset, n_agq and control), started from its estimates; a
    negative binomial's shape is estimated again when the fit estimated it."""
    problem: GlmmRecordProblem = record.problem
    y = np.asarray(y, dtype=float).ravel()
    if y.shape != problem.y.shape:
        raise DataError(f"the new response has {y.size} values; the model has "
                            f"{problem.n_obs} observations (one value per observation used)")

    def build() -> FittedModel:
        settings = GlmmSettings(max_evaluations=record.control.max_evaluations)
        fit = problem.fit
        new = _refit_core(problem, problem.core.with_response(y), settings, fit.theta, fit.beta)
        return _record(new, record.structure.with_response(y), record.control, fit.theta)

    return with_recorded_warnings(build)


def refit_glmm_settings(record: FittedModel, settings: GlmmSettings) -> FittedModel:
    """The fitted GLMM ``record`` fitted again from the default start with other fit
    ``settings`` (the routes of ``all_fit``); its warnings are raised, not recorded."""
    problem: GlmmRecordProblem = record.problem
    new = _refit_core(problem, problem.core, settings, None, None)
    return _record(new, record.structure, record.control, None)


def _refit_core(problem: GlmmRecordProblem, core: GlmmProblem, settings: GlmmSettings,
                theta0: np.ndarray | None, beta0: np.ndarray | None) -> GlmmRecordProblem:
    """``core`` (the record's problem or one with another response) fitted with the
    record's family, n_agq and shape estimation."""
    if problem.shape_estimated:
        nb = fit_negative_binomial(core, settings, core.family.link.name)
        final = core.with_family(NegativeBinomial(nb.shape, core.family.link.name))
        return _adapter(final, nb.fit, 1, _nb_covariance(nb), nb.confirmed, True,
                        nb.evaluations)
    new_fit = fit_glmm(core, problem.n_agq, settings, theta0=theta0, beta0=beta0)
    vcov = beta_covariance(new_fit) if new_fit.check is not None \
        else beta_covariance_given_theta(core, new_fit)
    return _adapter(core, new_fit, problem.n_agq, vcov, new_fit.confirmed, False)


def _fit_core(core: GlmmProblem, family: Family | None, nb_link: str | None, n_agq: int,
              start: np.ndarray | None, control: Control) -> GlmmRecordProblem:
    settings = GlmmSettings(max_evaluations=control.max_evaluations)
    if start is not None and start.shape != (core.n_theta,):
        raise InvalidArgumentError(f"start_point must hold {core.n_theta} values of theta, "
                                   f"got {start.shape[0] if start.ndim else 1}")
    if n_agq > 1:
        try:
            check_agq(core)
        except ValueError as err:
            raise ModelError(str(err)) from None
    if family is None:
        if n_agq != 1:
            raise ModelError(f"a negative binomial with its shape estimated is fitted by the "
                             f"Laplace approximation only (n_agq=1), got n_agq={n_agq}; fix the "
                             "shape with NegativeBinomial(shape) for other n_agq")
        nb = fit_negative_binomial(core, settings, nb_link or "log")
        final = core.with_family(NegativeBinomial(nb.shape, nb_link))
        return _adapter(final, nb.fit, 1, _nb_covariance(nb), nb.confirmed, True,
                        nb.evaluations)
    try:
        fit = fit_glmm(core, n_agq, settings, theta0=start)
    except FloatingPointError as err:
        raise ModelError(
            f"the GLMM could not be fitted: {err}. PIRLS found no conditional modes from "
            "the start; a common cause is separation (the fixed effects predict a 0/1 "
            "response exactly, so their estimates diverge): check the fixed effects for "
            "a predictor that splits the outcomes, or give start_point") from None
    vcov = beta_covariance(fit) if fit.check is not None \
        else beta_covariance_given_theta(core, fit)
    return _adapter(core, fit, n_agq, vcov, fit.confirmed, False)


def _adapter(core: GlmmProblem, fit: GlmmFit, n_agq: int, vcov: np.ndarray, confirmed: bool,
             shape_estimated: bool, evaluations: int | None = None) -> GlmmRecordProblem:
    weights = None if np.all(core.weights == 1.0) else core.weights
    offset = None if not np.any(core.offset) else core.offset
    fit.confirmed = confirmed
    cls = GeneralGlmmRecordProblem if isinstance(core, GeneralGlmmProblem) else GlmmRecordProblem
    return cls(core, fit, n_agq, vcov, shape_estimated, weights, offset, evaluations)


def _nb_covariance(nb: NegativeBinomialFit) -> np.ndarray:
    """Wald covariance of beta at the estimated shape held fixed (lme4's ``vcov`` of the
    final glmer fit of glmer.nb): the (theta, beta) block of the joint Hessian."""
    if nb.check is None:
        raise ModelError("the negative binomial fit has no Hessian")
    k = len(nb.fit.theta)
    free = np.asarray(nb.check.free, dtype=bool)[:-1].copy()
    free[k:] = True
    hess = nb.check.hessian[:-1, :-1][np.ix_(free, free)]
    vcov = np.linalg.inv(hess / 2.0)
    p = len(nb.fit.beta)
    return vcov[-p:, -p:]


def _record(problem: GlmmRecordProblem, structure: FormulaStructure | RawStructure,
            control: Control,
            start: np.ndarray | None) -> FittedModel:
    fit = problem.fit
    estimates = problem.estimates(fit.theta)
    code = "SUCCESS" if np.isfinite(fit.objective) else "FAILURE"
    if problem.shape_estimated:
        optimizer = "Poisson start, shape search, then Newton over (theta, beta, shape)"
    elif problem.n_agq == 0:
        optimizer = "nAGQ=0 L-BFGS-B/BOBYQA"
    else:
        optimizer = "nAGQ=0 L-BFGS-B/BOBYQA, then " + (
            "Newton" if fit.stage2 is None else "BOBYQA and Newton")
    result = OptimizationResult(optimizer, problem.start() if start is None else start,
                                np.asarray(fit.theta, dtype=float), float(fit.objective),
                                problem.evaluations, code, 0, list(fit.messages),
                                bool(fit.confirmed))
    record = FittedModel(problem, structure, estimates, result, control, FitSettings(),
                         start, problem.family)
    _check(record, control)
    return record


def _check(record: FittedModel, control: Control) -> None:
    """The convergence and boundary checks, as the control asks."""
    fit = record.problem.fit
    if not fit.confirmed and control.check_convergence != "ignore":
        detail = "; ".join(fit.messages) or "the Newton check found a further decrease or an " \
            "indefinite Hessian"
        message = f"the optimum could not be confirmed ({detail})"
        if control.check_convergence == "raise":
            raise ModelError(message)
        warnings.warn(message, ConvergenceWarning, stacklevel=4)
    if record.problem.singular(record.theta, SINGULAR_TOL) and control.check_singular != "ignore":
        message = "boundary (singular) fit: some random-effect variance is estimated as zero"
        if control.check_singular == "raise":
            raise ModelError(message)
        warnings.warn(message, SingularFitWarning, stacklevel=4)
