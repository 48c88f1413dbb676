"""Warm fits of the small cases in one process: ours only, many repeats, no peers.

``python benchmarks/warm.py [REPEATS] [--boot] [--stages] [--numpy]`` (from the
repository root, with the checkout to measure on the import path) fits each small LMM
case once to warm up, then ``REPEATS`` (50) more times, and prints the median and minimum
wall time per fit, the objective and the evaluations; ``--boot`` adds
``model.bootstrap(1000, seed=1, n_jobs=2)`` of sleepstudy; ``--stages`` times the stages
of a fit (design, problem, optimization, estimates, checks) per case. The compiled
small-model kernels are loaded first (the steady state ``make bench`` measures) unless
``--numpy``. Alternate two checkouts' ``src`` on PYTHONPATH to compare them in the same
minutes (``make bench`` measures each fit in a fresh process beside the peers instead).
Nothing is asserted: times depend on the machine and its load.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings

import mixed_models
from mixed_models import LMM, datasets
from mixed_models.core import kernels
from stages import stage_times

CASES = {
    "sleepstudy": "Reaction ~ Days + (Days | Subject)",
    "penicillin": "diameter ~ 1 + (1 | plate) + (1 | sample)",
    "alien_species": "Aggression ~ Age + Species + (Age | Location)",
}


def warm_fits(name: str, formula: str, repeats: int) -> str:
    frame = datasets.load(name)
    model = LMM.from_formula(formula, frame)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = LMM.from_formula(formula, frame)
        times.append(time.perf_counter() - start)
    return (f"{name:14s} median {statistics.median(times) * 1e3:7.2f} ms  min "
            f"{min(times) * 1e3:7.2f} ms  objective {model.deviance:.9f}  evaluations "
            f"{model.optimization_result.evaluations}")


def bootstrap_time() -> str:
    model = LMM.from_formula(CASES["sleepstudy"], datasets.load("sleepstudy"))
    start = time.perf_counter()
    table = model.bootstrap(1000, seed=1, n_jobs=2)
    seconds = time.perf_counter() - start
    return (f"{'bootstrap':14s} 1000 refits, 2 processes: {seconds:.2f} s  SD of the slope "
            f"{table['Days'].std():.4f}")


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")
    repeats = int(next((a for a in argv if a.isdigit()), 50))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    compiled = "--numpy" not in argv and mixed_models.compile_kernels()
    print(f"{repeats} warm fits per case; load average {load:.2f}; compiled small-model "
          f"kernels: {'yes' if compiled else 'no'}")
    # without them the process would load them once it has spent LOAD_AFTER in numpy
    with kernels.pinned(bool(compiled)):
        for name, formula in CASES.items():
            print(warm_fits(name, formula, repeats), flush=True)
            if "--stages" in argv:
                print(stage_times(datasets.load(name), formula, repeats), flush=True)
        if "--boot" in argv:
            print(bootstrap_time())


if __name__ == "__main__":
    main(sys.argv[1:])
