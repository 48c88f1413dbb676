"""``make bench``: fit every case of issue 7 with mixed_models and its peers, print a table.

Each fit runs in its own process (so peak memory is per package and per case), with a
timeout; a peer that is not installed, cannot express a model or runs out of time shows
``-`` or ``>T s``. Times are wall-clock medians of the case's repeats; ratios are the
peer's time over ours (above 1: we are faster). Objectives are REML criteria or
-2 log-likelihoods; ``d obj`` is the peer's minus ours (positive: we found a lower one).

Usage: ``python benchmarks/run.py [--cases a,b] [--peers lme4,mixedlm,statsmodels]
[--timeout SECONDS] [--json FILE] [--peers-from FILE] [--no-ours]``. Nothing is asserted: times depend on the machine
and on its load (run it when the machine is quiet).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import cases

HERE = Path(__file__).resolve().parent
PEERS = ("lme4", "mixedlm", "statsmodels")


def _python_command(package: str, case: cases.Case) -> list[str] | None:
    module = {"mixed_models": "mixed_models", "mixedlm": "mixedlm",
              "statsmodels": "statsmodels"}[package]
    if importlib.util.find_spec(module) is None:
        return None
    if package == "statsmodels" and case.statsmodels is None:
        return None
    return [sys.executable, str(HERE / "fit_one.py"), package, case.id]


def _r_command(case: cases.Case) -> list[str] | None:
    if shutil.which("Rscript") is None:
        return None
    return ["Rscript", str(HERE / "lme4_fit.R"), case.id, str(cases.csv_path(case.data)),
            case.formula, "TRUE" if case.reml else "FALSE", ",".join(case.factors),
            str(1 if case.repeats <= 3 else min(case.repeats, 5))]


def run_one(command: list[str] | None, timeout: float) -> dict | str:
    """The JSON line of one fit, or a short reason it has none."""
    if command is None:
        return "-"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE)})
    except subprocess.TimeoutExpired:
        return f">{timeout:.0f} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return f"error: {tail[:60]}"
    return json.loads(lines[-1])


def _seconds(result: dict | str) -> str:
    if isinstance(result, str):
        return result
    s = result["seconds"]
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def _row(case: cases.Case, ours: dict | str, peers: dict[str, dict | str]) -> list[str]:
    cells = [case.id, _seconds(ours)]
    ok = isinstance(ours, dict)
    cells.append(f"{ours['objective']:.4f}" if ok else "-")
    cells.append(str(ours.get("evaluations")) if ok else "-")
    cells.append(f"{case.target:g} s" + (" ok" if ok and ours["seconds"] <= case.target
                                         else " MISSED" if ok else ""))
    for name, peer in peers.items():
        cells.append(_seconds(peer))
        if ok and isinstance(peer, dict):
            cells.append(f"{peer['seconds'] / ours['seconds']:.1f}x")
            cells.append(f"{peer['objective'] - ours['objective']:+.1e}")
        else:
            cells += ["", ""]
    cells.append(f"{case.julia:g} s" if case.julia else "-")
    cells.append(f"{ours['peak_mb']} MB" if ok else "-")
    return cells


def _print_table(rows: list[list[str]], peers: list[str]) -> None:
    header = ["case", "ours", "objective", "evals", "target"]
    for name in peers:
        header += [name, "ratio", "d obj"]
    header += ["MixedModels.jl*", "our peak RSS"]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    print("* MixedModels.jl's published times (2018 desktop, i5-3570), not run here.")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(c.id for c in cases.CASES))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--peers-from", default=None,
                        help="reuse the peers' results of an earlier --json file")
    parser.add_argument("--no-ours", action="store_true", help="fit only the peers")
    args = parser.parse_args()
    earlier = {}
    if args.peers_from:
        earlier = {r["case"]: r for r in json.loads(Path(args.peers_from).read_text())}
    chosen = [c for c in cases.CASES if c.id in args.cases.split(",")]
    peers = [p for p in args.peers.split(",") if p]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    rows, records = [], []
    for case in chosen:
        cases.prepare(case.data)
        ours = "-" if args.no_ours else \
            run_one(_python_command("mixed_models", case), args.timeout)
        results = {}
        for peer in peers:
            if peer in earlier.get(case.id, {}):
                results[peer] = earlier[case.id][peer]
                continue
            command = _r_command(case) if peer == "lme4" else _python_command(peer, case)
            results[peer] = run_one(command, args.timeout)
        print(f"  {case.id}: done", flush=True)
        rows.append(_row(case, ours, results))
        records.append({"case": case.id, "ours": ours, **results})
    _print_table(rows, peers)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
