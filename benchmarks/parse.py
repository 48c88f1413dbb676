"""Time to parse long formulas: doubling the length about doubles the time.

``python benchmarks/parse.py`` prints one line per formula shape and length.
"""

from __future__ import annotations

import time

from mixed_models.formula import parse_formula

SHAPES = {"sum of columns": "x", "random terms": "(1 | g)", "calls": "log(x)",
          "offsets": "offset(x)"}


def seconds(formula: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse_formula(formula)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    for shape, term in SHAPES.items():
        for n in (1000, 2000, 4000):
            formula = "y ~ x + " + " + ".join([term] * n) + " + (1 | g)"
            print(f"{shape:15s} {len(formula):7d} characters  {seconds(formula):.3f} s")


if __name__ == "__main__":
    main()
