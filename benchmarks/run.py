"""``make bench``: time every case with mixed_models and its peers, print a table.

Each measurement runs in its own process (so peak memory is per package and per case),
with a timeout; a peer that is not installed, cannot express a model or runs out of time
shows ``-`` or ``>T s``, and so does our side for a kind of model the package does not
fit yet (GLMMs). Times are wall-clock medians of the case's repeats; ratios are the
peer's time over ours (above 1: we are faster). Objectives are REML criteria or
-2 log-likelihoods; ``d obj`` is the peer's minus ours (positive: we found a lower one).
The kinds of cases (fits, GLMM fits, bootstrap, start-up) are described in ``cases.py``.
A time marked ``~`` was measured on fewer bootstrap replicates and scaled.

Busy mode (``--busy``): a user's machine is rarely quiet, so the cases can be timed
while one other CPU-bound process runs (``busy.py``: a plain Python loop, or one-thread
numpy products with ``--busy-load numpy``). ``--busy on`` starts that process once for
the whole run and times every case beside it; ``--busy both`` times each case quiet,
then again with a load process started for that case's busy pass (quiet and busy runs of
a case are adjacent in time, so drifting background load affects both alike), and
prints a second table of busy / quiet time ratios for every package. The load process
is bounded in time, stops when this runner is gone and is killed on errors and Ctrl-C;
the report says how many cores it kept busy on average.

Usage: ``python benchmarks/run.py [--cases a,b] [--peers lme4,mixedlm,statsmodels]
[--timeout SECONDS] [--busy off|on|both] [--busy-load python|numpy] [--json FILE]
[--peers-from FILE] [--no-ours]``. Nothing is asserted: times depend on the machine
and on its load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import cases
from busy import KINDS, busy_load
from commands import command_for, run_one
from table import machine, print_busy_table, print_notes, print_table

PEERS = ("lme4", "mixedlm", "statsmodels")


def measure(case: cases.Case, peers: list[str], args, earlier: dict) -> dict:
    """One pass over a case: ours, then every peer (reusing ``earlier`` results)."""
    record = {"case": case.id}
    record["ours"] = "-" if args.no_ours else \
        run_one(command_for("mixed_models", case), args.timeout)
    for peer in peers:
        if peer in earlier.get(case.id, {}):
            record[peer] = earlier[case.id][peer]
        else:
            record[peer] = run_one(command_for(peer, case), args.timeout)
    return record


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(c.id for c in cases.CASES))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--busy", choices=("off", "on", "both"), default="off",
                        help="time the cases beside one CPU-bound process (both: quiet too)")
    parser.add_argument("--busy-load", choices=KINDS, default="python")
    parser.add_argument("--json", default=None)
    parser.add_argument("--peers-from", default=None,
                        help="reuse the peers' quiet results of an earlier --json file")
    parser.add_argument("--no-ours", action="store_true", help="time only the peers")
    return parser.parse_args()


def main() -> None:
    args = _parse()
    # a terminated run leaves through the finally blocks that stop the load process
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    earlier = {}
    if args.peers_from:
        earlier = {r["case"]: r for r in json.loads(Path(args.peers_from).read_text())}
    wanted = args.cases.split(",")
    unknown = [name for name in wanted if name not in {c.id for c in cases.CASES}]
    if unknown:
        sys.exit(f"unknown cases {unknown}; the cases are "
                 + ", ".join(c.id for c in cases.CASES))
    chosen = [c for c in cases.CASES if c.id in wanted]
    peers = [p for p in args.peers.split(",") if p]
    per_pass = args.timeout * (1 + len(peers))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    # the numba kernels are compiled once per installation (make does it; an edited
    # source needs it again), never inside a timed fit
    subprocess.run([sys.executable, "-c", "import mixed_models; mixed_models.compile_kernels()"],
                   check=True, cwd=Path(__file__).resolve().parent)
    records = []
    whole_run = busy_load(per_pass * len(chosen), args.busy_load) if args.busy == "on" \
        else nullcontext()
    with whole_run as run_load:
        for case in chosen:
            cases.prepare(case.data)
            record = measure(case, peers, args, earlier)
            if args.busy == "both":
                with busy_load(per_pass, args.busy_load) as load:
                    record["busy"] = measure(case, peers, args, {})
                record["busy"]["load_cores"] = round(load.cores, 2)
            print(f"  {case.id}: done", flush=True)
            records.append(record)
    if args.busy == "on":
        print(f"every case timed beside one CPU-bound process ({args.busy_load} loop; it kept "
              f"{run_load.cores:.2f} cores busy on average)")
    print_table(chosen, records, peers)
    print_notes(chosen, records, peers)
    if args.busy == "both":
        print_busy_table(chosen, records, peers, args.busy_load)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
