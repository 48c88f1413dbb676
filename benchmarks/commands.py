"""The command that measures one case with one package, and running it (for ``run.py``)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cases
import startup

HERE = Path(__file__).resolve().parent
MODULES = {"mixed_models": "mixed_models", "mixedlm": "mixedlm", "statsmodels": "statsmodels"}


def command_for(package: str, case: cases.Case) -> list[str] | None:
    """The command line, or None when the package cannot be measured on this case."""
    if case.kind in ("import", "first_fit"):
        if not startup.available(package, case):
            return None
        return [sys.executable, str(HERE / "startup.py"), package, case.id]
    if package == "lme4":
        return _r_command(case)
    return _python_command(package, case)


def _python_command(package: str, case: cases.Case) -> list[str] | None:
    if importlib.util.find_spec(MODULES[package]) is None:
        return None
    if package == "statsmodels" and (case.statsmodels is None or case.kind != "lmm"):
        return None
    return [sys.executable, str(HERE / "fit_one.py"), package, case.id]


def _r_command(case: cases.Case) -> list[str] | None:
    if shutil.which("Rscript") is None:
        return None
    path = str(cases.csv_path(case.data))
    repeats = str(1 if case.repeats <= 3 else min(case.repeats, 5))
    if case.kind == "bootstrap":
        nsim = case.peer_nsim.get("lme4", case.nsim)
        return ["Rscript", str(HERE / "lme4_boot.R"), case.id, path, case.formula,
                "TRUE" if case.reml else "FALSE", str(nsim), str(case.processes)]
    if case.kind == "glmm":
        repeats = str(min(case.repeats, 5))
        return ["Rscript", str(HERE / "lme4_glmm.R"), case.id, path, case.formula,
                case.family, ",".join(case.factors), repeats]
    return ["Rscript", str(HERE / "lme4_fit.R"), case.id, path, case.formula,
            "TRUE" if case.reml else "FALSE", ",".join(case.factors), repeats]


def run_one(command: list[str] | None, timeout: float) -> dict | str:
    """The JSON line of one measurement, or a short reason it has none.

    A bootstrap measured on fewer replicates than the case's is scaled to them and
    marked ``scaled_from``.
    """
    if command is None:
        return "-"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=HERE, env=_environment())
    except subprocess.TimeoutExpired:
        return f">{timeout:.0f} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return f"error: {tail[:60]}"
    record = json.loads(lines[-1])
    if "unavailable" in record:
        return "-"
    case = next((c for c in cases.CASES if c.id == record.get("case")), None)
    replicates = record.get("replicates")
    if case is not None and replicates and replicates != case.nsim:
        record["scaled_from"] = {"replicates": replicates, "seconds": record["seconds"]}
        record["seconds"] *= case.nsim / replicates
    return record


def _environment() -> dict[str, str]:
    """The runner's environment with this folder first on the import path (a
    PYTHONPATH given to the runner, a checkout's ``src`` say, is kept after it)."""
    given = os.environ.get("PYTHONPATH")
    path = str(HERE) if not given else os.pathsep.join([str(HERE), given])
    return {**os.environ, "PYTHONPATH": path}
