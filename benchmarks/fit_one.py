"""Fit one case with one Python package and print a JSON line (run in its own process).

Usage: ``python benchmarks/fit_one.py PACKAGE CASE`` with PACKAGE one of
mixed_models, mixedlm, statsmodels. The data are read before the clock starts; each
timed fit is the whole call from formula and data frame to fitted model (formula
parsing, model matrices, optimization, estimates). The objective is the REML criterion
or -2 log-likelihood, comparable across packages; peak_mb is this process's peak RSS.
GLMM cases use ``glmm.py``'s fitters, bootstrap cases ``bootstrap.py``'s runners (they
time themselves: the model is fitted before their clock starts). A package that cannot
fit the case prints ``{"unavailable": reason}``.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import warnings

import numpy as np

import bootstrap
import cases
import glmm


def _fit_mixed_models(case, frame):
    from mixed_models import LMM
    from mixed_models.core import kernels
    if kernels.available():  # compiled once per installation (cached on disk), not per fit
        kernels._compiled()
    # the steady state of a session that fits many models: it loads the compiled small-
    # model kernels once numpy has cost as much (a one-off fit never does: first_fit)
    kernels.use_small_kernels()
    model = LMM.from_formula(case.formula, frame, reml=case.reml)
    return model.deviance, model.optimization_result.evaluations


def _fit_mixedlm(case, frame):
    import mixedlm
    model = mixedlm.lmer(case.formula, frame, REML=case.reml)
    objective = model.REMLcrit if case.reml else model.deviance
    objective = objective() if callable(objective) else objective
    return float(objective), getattr(model, "function_evals", None)


def _fit_statsmodels(case, frame):
    import statsmodels.formula.api as smf
    fixed, groups, re_formula = case.statsmodels
    model = smf.mixedlm(fixed, frame, groups=frame[groups], re_formula=re_formula)
    result = model.fit(reml=case.reml)
    return -2.0 * float(result.llf), None


MODULES = {"mixed_models": "mixed_models", "mixedlm": "mixedlm",
           "statsmodels": "statsmodels.formula.api"}
FITTERS = {"mixed_models": _fit_mixed_models, "mixedlm": _fit_mixedlm,
           "statsmodels": _fit_statsmodels}


def _timed_fits(package: str, case, frame) -> dict:
    """The median time of the case's repeated fits, after a warm-up fit."""
    fit = (glmm.FITTERS if case.kind == "glmm" else FITTERS)[package]
    times = []
    repeats = case.repeats if package != "statsmodels" else min(case.repeats, 5)
    importlib.import_module(MODULES[package])  # imports are not part of a fit
    if repeats > 1:
        fit(case, frame)  # warm-up: caches, compiled kernels
    for _ in range(repeats):
        start = time.perf_counter()
        objective, evaluations = fit(case, frame)
        times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times)), "objective": objective,
            "evaluations": evaluations, "repeats": repeats}


def main() -> None:
    package, case_id = sys.argv[1], sys.argv[2]
    case = next(c for c in cases.CASES if c.id == case_id)
    frame = cases.load(case)
    warnings.simplefilter("ignore")
    try:
        if case.kind == "bootstrap":
            record = bootstrap.RUNNERS[package](case, frame)
        else:
            record = _timed_fits(package, case, frame)
    except glmm.Unavailable as reason:
        print(json.dumps({"package": package, "case": case_id, "unavailable": str(reason)}))
        return
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"package": package, "case": case_id, **record,
                      "peak_mb": round(peak_mb)}))


if __name__ == "__main__":
    main()
