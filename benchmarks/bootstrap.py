"""Timing of a parametric bootstrap of sleepstudy's ``Reaction ~ Days + (Days | Subject)``.

Two uses:

* ``make bench`` (case ``sleepstudy_boot``): :data:`RUNNERS` fit the model before the
  clock starts, then time ``nsim`` replicates with the case's number of processes: ours
  ``model.bootstrap(nsim, seed=1, n_jobs=...)``, mixedlm's ``bootMer(model, nsim,
  seed=1, n_jobs=...)`` (lme4's ``bootMer`` is ``lme4_boot.R``). Worker start-up is
  part of the time, as a user pays it. The SD of the slope over the replicates is
  reported beside the time, a check that every package did the same work.
* ``.venv/bin/python benchmarks/bootstrap.py [nsim]``: a longer report of ours alone:
  wall and CPU times with one process and with every core, the objective evaluations
  per refit, and the percentile intervals next to lme4's Wald intervals.

Nothing is asserted: the tests check numbers, this file only reports times (they depend
on the machine and on its load).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).parents[1] / "tests" / "data" / "reference" / "fits" / "sleep_reml.json"
SEED = 1


def _boot_mixed_models(case, frame) -> dict:
    from mixed_models import LMM
    model = LMM.from_formula(case.formula, frame, reml=case.reml)
    start = time.perf_counter()
    table = model.bootstrap(case.nsim, seed=SEED, n_jobs=case.processes)
    seconds = time.perf_counter() - start
    slope = table[model.fix_ef_names[1]].to_numpy(dtype=float)
    return _record(seconds, case.nsim, slope)


def _boot_mixedlm(case, frame) -> dict:
    import mixedlm
    model = mixedlm.lmer(case.formula, frame, REML=case.reml)
    start = time.perf_counter()
    result = mixedlm.bootMer(model, nsim=case.nsim, seed=SEED, n_jobs=case.processes)
    seconds = time.perf_counter() - start
    return _record(seconds, case.nsim, np.asarray(result.beta_samples, dtype=float)[:, 1])


def _record(seconds: float, nsim: int, slope: np.ndarray) -> dict:
    ok = np.isfinite(slope)
    return {"seconds": seconds, "replicates": nsim, "failed": int(nsim - ok.sum()),
            "check": {"sd of the slope": round(float(np.std(slope[ok], ddof=1)), 4)}}


RUNNERS = {"mixed_models": _boot_mixed_models, "mixedlm": _boot_mixedlm}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, run) -> object:
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    out = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = _children_cpu() - children
    print(f"{label:<38s} {wall:7.2f} s wall  {cpu + children:7.2f} s CPU (all processes)")
    return out


def main(nsim: int = 1000) -> None:
    from mixed_models import LMM, datasets
    from mixed_models.inference.bootstrap import bootstrap, refit_response
    from mixed_models.inference.bootstrap_runner import available_cores
    from mixed_models.inference.intervals_bootstrap import bootstrap_intervals

    model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{nsim} replicates; {available_cores()} cores; load average {load:.1f}")
    rng = np.random.default_rng(1)
    refits = [refit_response(model, model.simulate_new_response(rng)).optimization
              for _ in range(20)]
    optimizers = sorted({r.optimizer for r in refits})
    print(f"objective evaluations per refit (20 refits): "
          f"{np.mean([r.evaluations for r in refits]):.0f} ({', '.join(optimizers)})")
    timed("bootstrap, n_jobs=1", lambda: bootstrap(model, nsim, seed=1, n_jobs=1))
    timed(f"bootstrap, n_jobs={available_cores()}", lambda: bootstrap(model, nsim, seed=1))
    table = timed("percentile intervals (all parameters)",
                  lambda: bootstrap_intervals(model, boottype="percentile", nsim=nsim, seed=1,
                                              parameters="all"))
    wald = json.loads(REFERENCE.read_text())["wald_ci"]
    print(table.round(3).to_string())
    print("lme4 Wald:", {name: [round(v, 3) for v in ci]
                         for name, ci in zip(model.fix_ef_names, wald)})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
