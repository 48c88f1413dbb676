"""Fit a ratings-like Parquet file bigger than comfortable memory, streamed and on Dask.

    python benchmarks/scale.py                      # 20M rows, 100,000 users x 2,000 items
    python benchmarks/scale.py --rows 2000000       # a quicker check
    python benchmarks/scale.py --workers 0          # streamed fit only, no LocalCluster

Writes ``benchmarks/_data/ratings_<rows>.parquet`` (row groups of 1M rows; reused when
present), then fits ``y ~ x1 + x2 + f + (1 | user) + (1 | item)`` by ML:

1. streamed from the file in this process (pyarrow batches);
2. through a LocalCluster of 1 and of 2 worker processes (dask.dataframe.read_parquet),
   the cross-products of each partition summed on its worker and reduced in a tree (the
   passes only, unless ``--optimize-on-cluster``: the optimization is the driver's work
   of step 1 again).

Reports wall times of the passes and of the optimization, peak RSS of this process
(resource.getrusage; the workers' peak separately), and accumulation throughput in rows
per second (per worker).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

FORMULA = "y ~ x1 + x2 + f + (1 | user) + (1 | item)"
COLUMNS = ["y", "x1", "x2", "f", "user", "item"]


def write_ratings(path: Path, rows: int, users: int, items: int, seed: int = 20) -> None:
    """A synthetic ratings file, written 1M rows at a time (bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    user_effect = rng.normal(0, 0.8, users)
    item_effect = rng.normal(0, 0.5, items)
    f_effect = np.array([0.0, 0.2, -0.1, 0.3, 0.05])
    levels = np.array(["a", "b", "c", "d", "e"])
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        user = rng.integers(0, users, n).astype(np.int32)
        item = np.minimum(rng.zipf(1.3, n) - 1, items - 1).astype(np.int32)
        x1, x2 = rng.normal(0, 1, n), rng.uniform(0, 10, n)
        f = rng.integers(0, 5, n)
        y = (3.5 + 0.3 * x1 - 0.05 * x2 + f_effect[f] + user_effect[user]
             + item_effect[item] + rng.normal(0, 1, n))
        table = pa.table({"y": y, "x1": x1, "x2": x2, "f": levels[f], "user": user,
                          "item": item})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def peak_rss_gb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in GB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1e6


def fit(source: object, rows: int, label: str, optimize: bool = True) -> dict:
    """Stream the passes, then (with ``optimize``) optimize on the driver; print and
    return the figures."""
    from mixed_models.formula import parse_formula
    from mixed_models.stream import streamed_fit_inputs

    start = time.perf_counter()
    problem, design = streamed_fit_inputs(parse_formula(FORMULA), source, reml=False)
    passes = time.perf_counter() - start
    if not optimize:
        rate = 3 * rows / passes
        print(f"{label}: passes {passes:.1f} s ({rate:.3g} rows/s over 3 passes), peak RSS "
              f"(this process) {peak_rss_gb():.2f} GB", flush=True)
        return {"label": label, "passes_s": passes, "rows_per_s": rate}
    result = problem.optimize()
    est = problem.estimates(result.final)
    total = time.perf_counter() - start
    out = {"label": label, "passes_s": passes, "optimize_s": total - passes, "total_s": total,
           "rows_per_s": 3 * rows / passes, "objective": result.objective,
           "beta": dict(zip(design.fixed.names, np.round(est.beta, 5))),
           "n_obs": design.n_obs, "levels": [r.n_levels for r in design.random],
           "peak_rss_gb": peak_rss_gb()}
    print(f"{label}: passes {passes:.1f} s ({out['rows_per_s']:.3g} rows/s over 3 passes), "
          f"optimize {total - passes:.1f} s, total {total:.1f} s, peak RSS (this process) "
          f"{out['peak_rss_gb']:.2f} GB, objective {result.objective:.6f}", flush=True)
    return out


def fit_on_cluster(path: Path, rows: int, workers: int, optimize: bool) -> dict:
    """The same fit with the passes on a LocalCluster of ``workers`` processes."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0) as cluster, \
            Client(cluster) as client:
        frame = dd.read_parquet(str(path), columns=COLUMNS, split_row_groups=True)
        out = fit(frame, rows, f"dask, {workers} worker(s), {frame.npartitions} partitions",
                  optimize)
        out["workers_peak_rss_gb"] = max(client.run(peak_rss_gb).values())
    out["rows_per_s_per_worker"] = out["rows_per_s"] / workers
    print(f"  per worker {out['rows_per_s_per_worker']:.3g} rows/s; largest worker peak "
          f"RSS {out['workers_peak_rss_gb']:.2f} GB", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--workers", type=str, default="1,2",
                        help="LocalCluster sizes to try, comma-separated; 0 for none")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(__file__).parent / "_data")
    parser.add_argument("--optimize-on-cluster", action="store_true",
                        help="also optimize after the cluster's passes (the same driver "
                        "work as the streamed fit; off: the cluster runs time the passes)")
    parser.add_argument("--skip-streamed", action="store_true",
                        help="only the cluster runs (the driver's peak RSS is then theirs)")
    args = parser.parse_args(argv)
    path = args.data_dir / f"ratings_{args.rows}_{args.users}_{args.items}.parquet"
    if not path.exists():
        start = time.perf_counter()
        write_ratings(path, args.rows, args.users, args.items)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    print(f"{args.rows} rows, {args.users} users x {args.items} items, {os.cpu_count()} "
          f"cores; {FORMULA} by ML", flush=True)
    if not args.skip_streamed:
        fit(str(path), args.rows, "streamed from Parquet, this process")
    for workers in [int(w) for w in args.workers.split(",") if int(w) > 0]:
        fit_on_cluster(path, args.rows, workers, args.optimize_on_cluster)


if __name__ == "__main__":
    sys.exit(main())
