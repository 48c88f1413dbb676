"""Where a small fit's time goes: the stages of ``LMM.from_formula``, timed apart.

The stages are those of :func:`mixed_models.fitted.fit.fit_formula` (parse, design,
problem, optimization of theta, estimates, checks), called one by one on the same data;
what the table calls "the rest" (the record, the public model object, recording the
warnings) is the whole fit's time minus theirs. Used by ``warm.py --stages``.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from mixed_models import LMM
from mixed_models.control import fit_arguments
from mixed_models.core.fit import fit_theta
from mixed_models.core.problem import LmmProblem
from mixed_models.core.threads import blas_threads_for
from mixed_models.design import build_design
from mixed_models.fitted.checks import check_finite_optimum, check_fit
from mixed_models.fitted.fit import settings_of
from mixed_models.formula import parse_formula


def _stages(frame, formula: str, spent: dict[str, float]) -> None:
    reml, control = fit_arguments(True, None)
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        spent[stage] += now - clock[0]
        clock[0] = now

    parsed = parse_formula(formula)
    lap("parse")
    design = build_design(parsed, frame, None, None, "drop", control)
    lap("design")
    problem = LmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                         design.y, design.weights, design.offset, reml=reml)
    lap("problem")
    with blas_threads_for(1, tiny=0):  # one thread, as the fit of a small model
        result = fit_theta(problem, settings_of(control))
        lap("optimization")
        check_finite_optimum(result)
        estimates = problem.estimates(result.final)
        lap("estimates")
        check_fit(problem, result, float(np.sqrt(problem.sigma2(estimates))), control)
        lap("checks")


def stage_times(frame, formula: str, repeats: int) -> str:
    """Mean microseconds per stage over ``repeats`` warm fits, and the whole fit's."""
    spent: dict[str, float] = defaultdict(float)
    _stages(frame, formula, spent)
    spent.clear()
    for _ in range(repeats):
        _stages(frame, formula, spent)
    start = time.perf_counter()
    for _ in range(repeats):
        LMM.from_formula(formula, frame)
    whole = (time.perf_counter() - start) / repeats * 1e6
    parts = {k: v / repeats * 1e6 for k, v in spent.items()}
    parts["the rest"] = whole - sum(parts.values())
    cells = "  ".join(f"{k} {v:.0f}" for k, v in parts.items())
    return f"{'':14s} stages (us): {cells}; whole fit {whole:.0f}"
