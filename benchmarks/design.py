"""Warm designs of sleepstudy in one process: ``build_design`` alone, many repeats.

``python benchmarks/design.py [REPEATS]`` (from the repository root, with the checkout to
measure on the import path) builds the design of ``Reaction ~ Days + (Days | Subject)``
20 times to warm up, then ``REPEATS`` (300) more times, and prints the median and
minimum wall time. Alternate two checkouts' ``src`` on PYTHONPATH to compare them.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings

from mixed_models import datasets
from mixed_models.design import build_design
from mixed_models.formula import parse_formula


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")
    repeats = int(argv[0]) if argv else 300
    frame = datasets.load("sleepstudy")
    parsed = parse_formula("Reaction ~ Days + (Days | Subject)")
    for _ in range(20):
        build_design(parsed, frame)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        build_design(parsed, frame)
        times.append(time.perf_counter() - start)
    print(f"build_design sleepstudy: median {statistics.median(times) * 1e3:.3f} ms  min "
          f"{min(times) * 1e3:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
