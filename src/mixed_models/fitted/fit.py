"""The fit functions: from a formula and data, raw matrices or a prepared problem to a
:class:`~mixed_models.fitted.record.FittedModel`.

Every fit runs the same pipeline (as lme4's ``lmer``): parse the formula, build the design,
build the numeric problem, optimize theta (:func:`mixed_models.core.fit.fit_theta`),
assemble the estimates, check the result. The warnings a fit raises are recorded in the
record and raised again for the caller.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import numpy as np

from mixed_models.control import Control, fit_arguments
from mixed_models.core.fit import FitSettings, fit_theta
from mixed_models.core.gradient import MAX_POLISHED
from mixed_models.core.interface import MixedProblem
from mixed_models.core.problem import LmmProblem
from mixed_models.core.threads import blas_threads_for, lapack_threads_for
from mixed_models.design import build_design
from mixed_models.errors import InvalidArgumentError
from mixed_models.fitted.checks import check_finite_optimum, check_fit, solvable_estimates
from mixed_models.fitted.raw import check_sigma, raw_problem
from mixed_models.fitted.record import FittedModel
from mixed_models.fitted.structure import FormulaStructure, Structure
from mixed_models.formula import parse_formula
from mixed_models.formula.terms import ParsedFormula
from mixed_models.progress import ProgressChoice

# Problems of more rows than this are built on one BLAS thread (see _rows_threads).
THREADED_ROWS = 10_000


@contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect the messages of the warnings raised inside, then raise them again (with
    their original category and location) on leaving."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    for w in caught:
        messages.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def settings_of(control: Control, polish: bool = True) -> FitSettings:
    """The fit settings a :class:`Control` asks for."""
    return FitSettings(optimizer=control.optimizer, max_evaluations=control.max_evaluations,
                       polish=polish)


def fit_problem(problem: MixedProblem, structure: Structure, control: Control,
                start_point: object = None, settings: FitSettings | None = None
                ) -> FittedModel:
    """Fit a prepared problem and check the result; warnings are raised, not recorded
    (see :func:`fit_recorded`)."""
    settings = settings or settings_of(control)
    start = None if start_point is None else np.asarray(start_point, dtype=float)
    with _blas_threads(problem):
        result = fit_theta(problem, settings, start)
        check_finite_optimum(result)
        estimates = solvable_estimates(problem, result)
        check_fit(problem, result, float(np.sqrt(problem.sigma2(estimates))), control)
    return FittedModel(problem, structure, estimates, result, control, settings, start)


def _blas_threads(problem: MixedProblem) -> AbstractContextManager[None]:
    """BLAS threads for the whole fit (the blocks inside it then switch nothing), chosen
    by the largest dense matrix the fit factors: the dense system of a small model, else
    the rest block of the blocked factor (the lead term's block is factored level by
    level). One thread for small models: OpenBLAS threads even a 2 x 2 triangular
    solve, and on a busy machine its spinning threads make each such call cost
    milliseconds."""
    if not isinstance(problem, LmmProblem):
        return nullcontext()
    cp = problem.internal.cp
    dense = cp.lead.q + cp.avv.shape[0]
    if dense <= MAX_POLISHED:
        return blas_threads_for(dense, tiny=0)
    return lapack_threads_for(cp.avv.shape[0])


def _rows_threads(rows: int) -> AbstractContextManager[None]:
    """One BLAS thread for building a problem of many rows: its passes over the rows
    (cross-products, the least-squares shift) read a few columns, where threads gain
    little, and their workers would still be spinning when the fit's threads start.
    Small problems switch nothing (OpenBLAS does not thread them)."""
    return blas_threads_for(1, tiny=0) if rows > THREADED_ROWS else nullcontext()


def fit_recorded(problem: MixedProblem, structure: Structure, control: Control,
                 start_point: object = None, settings: FitSettings | None = None
                 ) -> FittedModel:
    """:func:`fit_problem`, with the fit's warnings recorded in the record."""
    return with_recorded_warnings(
        lambda: fit_problem(problem, structure, control, start_point, settings))


def with_recorded_warnings(build: Callable[[], FittedModel]) -> FittedModel:
    """The record ``build()`` returns, with the warnings raised while building it."""
    with recorded_warnings() as messages:
        fitted = build()
    return replace(fitted, warnings=tuple(messages))


def fit_formula(formula: str, data: object, *, reml: object = True, weights: object = None,
                offset: object = None, na_action: str = "drop", start_point: object = None,
                control: object = None, sigma: float | None = None,
                progress: ProgressChoice = "auto") -> FittedModel:
    """Fit the linear mixed model of an lme4 formula (see ``LMM.from_formula``);
    ``progress`` is for the passes over streamed data."""
    def build() -> FittedModel:
        reml_, control_ = fit_arguments(reml, control)
        check_sigma(sigma)
        check_progress(progress)
        parsed = parse_formula(formula)
        if streamed(data):
            return _fit_streamed(parsed, data, reml_, weights, offset, na_action, start_point,
                                 control_, sigma, progress)
        design = build_design(parsed, data, weights, offset, na_action, control_)
        with _rows_threads(len(design.y)):
            problem = LmmProblem([r.term_data() for r in design.random],
                                 design.fixed.matrix, design.y, design.weights,
                                 design.offset, reml=reml_, sigma=sigma)
        return fit_problem(problem, FormulaStructure(design), control_, start_point)

    return with_recorded_warnings(build)


def check_progress(progress: object) -> None:
    """Refuse a ``progress`` other than True, False or "auto"."""
    if not (isinstance(progress, bool) or (isinstance(progress, str) and progress == "auto")):
        raise InvalidArgumentError(f"progress must be True, False or 'auto', not {progress!r}")


def streamed(data: object) -> bool:
    """Whether ``data`` is a row source to stream rather than a frame in memory: a path
    to a Parquet file or directory, a dask DataFrame, a list of frames or a function
    returning frames."""
    is_dask = type(data).__module__.startswith("dask") and hasattr(data, "to_delayed")
    return isinstance(data, (str, os.PathLike, list, tuple)) or callable(data) or is_dask


def _fit_streamed(parsed: ParsedFormula, data: object, reml: bool, weights: object,
                  offset: object, na_action: str, start_point: object, control: Control,
                  sigma: float | None, progress: ProgressChoice = "auto") -> FittedModel:
    """Fit from the cross-products accumulated chunk by chunk (mixed_models.stream)."""
    from mixed_models.fitted.streamed import StreamedStructure
    from mixed_models.stream import streamed_fit_inputs

    problem, design = streamed_fit_inputs(parsed, data, weights, offset, na_action,
                                          control, reml, sigma, progress=progress)
    return fit_problem(problem, StreamedStructure(design, data), control, start_point)


def fit_raw(*, x: object, y: object, zt: object, lambdat: Callable[[np.ndarray], object],
            start_point: object, x_col_names: list[str] | None = None,
            z_col_names: list[str] | None = None, weights: object = None,
            offset: object = None, reml: object = True, lower_bound: object = None,
            upper_bound: object = None, sigma: float | None = None,
            control: object = None) -> FittedModel:
    """Fit a linear mixed model given as matrices (see ``LMM(x=, y=, zt=, lambdat=...)``)."""
    def build() -> FittedModel:
        reml_, control_ = fit_arguments(reml, control)
        problem, structure = raw_problem(
            x, y, zt, lambdat, start_point, x_col_names=x_col_names,
            z_col_names=z_col_names, weights=weights, offset=offset, reml=reml_,
            lower_bound=lower_bound, upper_bound=upper_bound, sigma=sigma)
        return fit_problem(problem, structure, control_, start_point)

    return with_recorded_warnings(build)
