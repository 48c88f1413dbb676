"""The tables and notes that ``run.py`` prints."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import cases


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


def seconds(result: dict | str) -> str:
    if isinstance(result, str):
        return result
    s = result["seconds"]
    text = f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"
    return ("~" + text) if "scaled_from" in result else text


def _objective(result: dict | str) -> float | None:
    return result.get("objective") if isinstance(result, dict) else None


def _row(case: cases.Case, ours: dict | str, peers: dict[str, dict | str]) -> list[str]:
    ok = isinstance(ours, dict)
    objective = _objective(ours)
    cells = [case.id, seconds(ours), "-" if objective is None else f"{objective:.4f}",
             str(ours.get("evaluations") or "-") if ok else "-"]
    cells.append(_targets(case, ours, peers))
    for peer in peers.values():
        cells.append(seconds(peer))
        if ok and isinstance(peer, dict):
            cells.append(f"{peer['seconds'] / ours['seconds']:.1f}x")
            theirs = _objective(peer)
            cells.append("" if theirs is None or objective is None
                         else f"{theirs - objective:+.1e}")
        else:
            cells += ["", ""]
    cells.append(f"{case.julia:g} s" if case.julia else "-")
    cells.append(f"{ours['peak_mb']} MB" if ok and "peak_mb" in ours else "-")
    return cells


def _verdict(met: bool | None) -> str:
    return "" if met is None else " ok" if met else " MISSED"


def _targets(case: cases.Case, ours: dict | str, peers: dict[str, dict | str]) -> str:
    """The issue's targets for the case, each with its verdict in this run (none when
    ours or the peer was not measured)."""
    ok = isinstance(ours, dict)
    parts = []
    if case.target is not None:
        parts.append(f"{case.target:g} s" + _verdict(ours["seconds"] <= case.target if ok
                                                     else None))
    for peer, times in case.faster.items():
        theirs = peers.get(peer)
        measured = ok and isinstance(theirs, dict)
        parts.append(f"{times:g}x {peer}" + _verdict(
            theirs["seconds"] / ours["seconds"] >= times if measured else None))
    if case.max_mb is not None:
        parts.append(f"{case.max_mb:g} MB" + _verdict(
            ours["peak_mb"] <= case.max_mb if ok and "peak_mb" in ours else None))
    return ", ".join(parts) or "-"


def _print(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


def print_table(chosen: list[cases.Case], records: list[dict], peers: list[str]) -> None:
    """The main table: ours, each peer, ratios and objective differences."""
    header = ["case", "ours", "objective", "evals", "target"]
    for name in peers:
        header += [name, "ratio", "d obj"]
    header += ["MixedModels.jl*", "our peak RSS"]
    rows = [_row(case, record["ours"], {p: record[p] for p in peers})
            for case, record in zip(chosen, records)]
    _print(header, rows)
    print("* MixedModels.jl's published times (2018 desktop, i5-3570), not run here.")


def print_notes(chosen: list[cases.Case], records: list[dict], peers: list[str]) -> None:
    """Per-case lines: objectives when ours is missing, bootstrap checks, start-up parts."""
    packages = ["ours"] + peers
    for case, record in zip(chosen, records):
        results = {name: record[name] for name in packages if isinstance(record[name], dict)}
        if case.kind == "glmm":
            parts = [f"{name} {r['objective']:.6f}" for name, r in results.items()
                     if r.get("objective") is not None]
            if case.best is not None:
                parts.append(f"best known (lme4 panel) {case.best:.6f}")
            print(f"{case.id}: -2 log-likelihood: " + ", ".join(parts))
        elif case.kind == "bootstrap":
            checks = [f"{name} {r['check']['sd of the slope']}" for name, r in results.items()
                      if "check" in r]
            print(f"{case.id}: {case.nsim} replicates, {case.processes} processes; SD of the "
                  "slope over the replicates: " + ", ".join(checks))
            for name, r in results.items():
                if "scaled_from" in r:
                    scaled = r["scaled_from"]
                    print(f"  ~ {name} ran {scaled['replicates']} replicates in "
                          f"{scaled['seconds']:.2f} s, scaled to {case.nsim}")
        elif case.kind in ("import", "first_fit"):
            key = "pandas_seconds" if case.kind == "import" else "import_seconds"
            parts = [f"{name} {r[key]:.3f} s" for name, r in results.items() if key in r]
            label = "pandas' own import" if case.kind == "import" else "of which import"
            if parts:
                print(f"{case.id}: {label}: " + ", ".join(parts))


def print_busy_table(chosen: list[cases.Case], records: list[dict], peers: list[str],
                     load: str) -> None:
    """Busy / quiet time ratios, for every package measured both ways."""
    packages = ["ours"] + peers
    header = ["case"]
    for name in packages:
        header += [f"{name} quiet", "busy", "ratio"]
    header.append("load cores")
    rows = []
    for case, record in zip(chosen, records):
        row = [case.id]
        for name in packages:
            quiet, busy = record[name], record["busy"][name]
            row += [seconds(quiet), seconds(busy)]
            both = isinstance(quiet, dict) and isinstance(busy, dict)
            row.append(f"{busy['seconds'] / quiet['seconds']:.2f}" if both else "")
        row.append(f"{record['busy']['load_cores']:.2f}")
        rows.append(row)
    print(f"\nbusy / quiet: each case timed quiet, then beside one CPU-bound process "
          f"({load} loop); ratio = busy time / quiet time; load cores = the CPU the load "
          "process got on average")
    _print(header, rows)
