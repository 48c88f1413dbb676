"""Start-up costs, each measured in fresh processes (cases ``import`` and ``first_fit``).

Usage: ``python benchmarks/startup.py PACKAGE CASE`` with PACKAGE one of mixed_models,
mixedlm, statsmodels, lme4; prints one JSON line, the medians over the case's repeats
(each repeat a new interpreter).

* ``import``: the interpreter imports pandas, then the package; ``seconds`` is the
  package's import beyond pandas' (what a user who has pandas loaded pays), and
  ``pandas_seconds`` pandas' own (mixedlm loads its modules on first use, so its
  ``lmer`` is fetched too). For lme4: ``library(lme4)`` in a fresh ``Rscript``.
* ``first_fit``: the interpreter imports pandas and reads the data before the clock
  starts, then imports the package and fits the case once; ``seconds`` is import plus
  first fit (``import_seconds`` the import alone). Compiled-code caches are cold:
  ``NUMBA_CACHE_DIR`` is a new empty folder for every process (bytecode caches are warm,
  as after an install). For lme4: ``library(lme4)`` and ``lmer``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cases

HERE = Path(__file__).resolve().parent

_IMPORT = """
import importlib, sys, time
start = time.perf_counter()
import pandas
middle = time.perf_counter()
module = importlib.import_module(sys.argv[1])
if len(sys.argv) > 2:  # a package that loads lazily: what a fit needs
    getattr(module, sys.argv[2])
end = time.perf_counter()
print(middle - start, end - middle)
"""

_FIRST_FIT = """
import json, sys, time
import pandas as pd
package, formula, path, reml = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
groups = json.loads(sys.argv[5])
frame = pd.read_csv(path)
start = time.perf_counter()
if package == "mixed_models":
    from mixed_models import LMM
    imported = time.perf_counter()
    objective = LMM.from_formula(formula, frame, reml=reml).deviance
elif package == "mixedlm":
    from mixedlm import lmer  # its modules load on first use: fetch what a fit needs
    imported = time.perf_counter()
    model = lmer(formula, frame, REML=reml)
    objective = model.REMLcrit if reml else model.deviance
    objective = objective() if callable(objective) else objective
else:
    import statsmodels.formula.api as smf
    imported = time.perf_counter()
    fixed, group, re_formula = groups
    result = smf.mixedlm(fixed, frame, groups=frame[group], re_formula=re_formula).fit(reml=reml)
    objective = -2.0 * result.llf
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "import_seconds": imported - start,
                  "objective": float(objective)}))
"""

# what is imported: the module and, for a package whose modules load on first use, the
# name a fit needs
MODULES = {"mixed_models": ["mixed_models"], "mixedlm": ["mixedlm", "lmer"],
           "statsmodels": ["statsmodels.formula.api"]}


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE,
                          env=env, timeout=600)
    return done.stdout.strip().splitlines()[-1]


def _import_once(package: str) -> dict:
    if package == "lme4":
        seconds = float(_run(["Rscript", str(HERE / "lme4_startup.R"), "import"]))
        return {"seconds": seconds}
    pandas_seconds, seconds = map(float, _run([sys.executable, "-c", _IMPORT,
                                               *MODULES[package]]).split())
    return {"seconds": seconds, "pandas_seconds": pandas_seconds}


def _first_fit_once(package: str, case: cases.Case) -> dict:
    path = str(cases.csv_path(case.data))
    if package == "lme4":
        return json.loads(_run(["Rscript", str(HERE / "lme4_startup.R"), "first_fit", path,
                                case.formula, "TRUE" if case.reml else "FALSE"]))
    with tempfile.TemporaryDirectory() as cold_cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cold_cache}
        return json.loads(_run([sys.executable, "-c", _FIRST_FIT, package, case.formula, path,
                                "1" if case.reml else "0", json.dumps(case.statsmodels)],
                               env))


def available(package: str, case: cases.Case) -> bool:
    """Whether this package can be measured here."""
    if package == "lme4":
        return shutil.which("Rscript") is not None
    if package == "statsmodels" and case.kind == "first_fit" and case.statsmodels is None:
        return False
    import importlib.util
    return importlib.util.find_spec(MODULES[package][0].split(".")[0]) is not None


def main() -> None:
    package, case_id = sys.argv[1], sys.argv[2]
    case = next(c for c in cases.CASES if c.id == case_id)
    runs = [_import_once(package) if case.kind == "import" else _first_fit_once(package, case)
            for _ in range(case.repeats)]
    record = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(json.dumps({"package": package, "case": case_id, **record, "repeats": len(runs)}))


if __name__ == "__main__":
    main()
