"""Fit one case with one Python package and print a JSON line (run in its own process).

Usage: ``python benchmarks/fit_one.py PACKAGE CASE`` with PACKAGE one of
mixed_models, mixedlm, statsmodels. The data are read before the clock starts; each
timed fit is the whole call from formula and data frame to fitted model (formula
parsing, model matrices, optimization, estimates). The objective is the REML criterion
or -2 log-likelihood, comparable across packages; peak_mb is this process's peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np

import cases


def _fit_mixed_models(case, frame):
    from mixed_models import LMM
    from mixed_models.core import kernels
    if kernels.available():  # compiled once per installation (cached on disk), not per fit
        kernels._compiled()
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


FITTERS = {"mixed_models": _fit_mixed_models, "mixedlm": _fit_mixedlm,
           "statsmodels": _fit_statsmodels}


def main() -> None:
    package, case_id = sys.argv[1], sys.argv[2]
    case = next(c for c in cases.CASES if c.id == case_id)
    frame = cases.load(case)
    fit = FITTERS[package]
    warnings.simplefilter("ignore")
    times = []
    repeats = case.repeats if package != "statsmodels" else min(case.repeats, 5)
    if repeats > 1:
        fit(case, frame)  # warm-up: imports, caches, compiled kernels
    for _ in range(repeats):
        start = time.perf_counter()
        objective, evaluations = fit(case, frame)
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"package": package, "case": case_id, "seconds": float(np.median(times)),
                      "objective": objective, "evaluations": evaluations,
                      "peak_mb": round(peak_mb), "repeats": repeats}))


if __name__ == "__main__":
    main()
