"""Evaluation counts of the optimizer settings on the lme4 reference panel.

For every model of ``tests/data/reference/models.csv`` (InstEval too with ``--large``)
and the kb07-like maximal model, runs the optimizer with BOBYQA (bounded, lme4's
bounds) and NEWUOA (unconstrained, then rectified), each without restarts and with the
default restart policy, and L-BFGS-B on the analytic gradient (core.gradient, dense,
small models only), and prints the objective minus lme4's and the evaluations.
Usage: ``python benchmarks/optimizers.py [--large]`` (from the repository root).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import cases  # noqa: E402
import reference  # noqa: E402

from mixed_models import LMM  # noqa: E402
from mixed_models.core.gradient import quasi_newton  # noqa: E402
from mixed_models.core.optimize import OptimizerSettings  # noqa: E402

CONFIGS = [("bobyqa", 0), ("bobyqa", 4), ("newuoa", 0), ("newuoa", 4), ("lbfgs", 0)]


def problems(large: bool):
    """(name, problem, lme4's objective or None) for every model."""
    for model_id, spec in reference.specs().items():
        if model_id in reference.LARGE and not large:
            continue
        yield model_id, reference.fit(spec).record.problem, reference.fit_json(model_id)["objective"]
    kb07 = next(c for c in cases.CASES if c.id == "kb07")
    cases.prepare(kb07.data)
    yield "kb07", LMM.from_formula(kb07.formula, cases.load(kb07), reml=kb07.reml).record.problem, None


def main() -> None:
    warnings.simplefilter("ignore")
    header = f"{'model':26s}" + "".join(f"{o + '/' + str(r):>26s}" for o, r in CONFIGS)
    print(header + "\n(each cell: objective - lme4's, evaluations, seconds)")
    totals = {c: 0 for c in CONFIGS}
    for name, problem, ref in problems("--large" in sys.argv):
        cells = []
        results = {}
        for optimizer, restarts in CONFIGS:
            start = time.perf_counter()
            if optimizer == "lbfgs":
                _, objective, evaluations = quasi_newton(problem)
            else:
                result = problem.optimize(OptimizerSettings(optimizer=optimizer,
                                                            max_restarts=restarts))
                objective, evaluations = result.objective, result.evaluations
            seconds = time.perf_counter() - start
            results[(optimizer, restarts)] = (objective, evaluations, seconds)
            totals[(optimizer, restarts)] += evaluations
        base = ref if ref is not None else min(v[0] for v in results.values())
        for config in CONFIGS:
            value, evaluations, seconds = results[config]
            cells.append(f"{value - base:+.1e} {evaluations:5d} {seconds:6.2f}s")
        print(f"{name:26s}" + "".join(f"{c:>26s}" for c in cells), flush=True)
    print(f"{'total evaluations':26s}" + "".join(f"{totals[c]:>26d}" for c in CONFIGS))
    print("(kb07 has no lme4 reference here: its cells are relative to the lowest found)")


if __name__ == "__main__":
    main()
