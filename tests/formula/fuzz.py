"""Generated formulas for fuzzing the whole path from formula text to a fitted model.

Used by tests/formula/test_fuzz.py (a few thousand formulas per run) and runnable alone
for a longer run: ``python tests/formula/fuzz.py 10000`` prints how many formulas were
tried, how many fitted, which exceptions (if any) fell outside the library's own and how
many payloads ran. Payloads are pieces of Python that would create a sentinel file if any
part of a formula were evaluated as the user wrote it; the data has columns named like
functions, with dots and with spaces.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from mixed_models import LMM
from mixed_models.errors import MixedModelsError

SENTINEL = Path(tempfile.gettempdir()) / f"mixed_models_fuzz_sentinel_{os.getpid()}"
PAYLOADS = [f"I(x.to_csv('{SENTINEL}'))", f"np.savetxt('{SENTINEL}', x)",
            f"I(open('{SENTINEL}', 'w'))", f"x.to_csv('{SENTINEL}')",
            f"{{x.to_csv('{SENTINEL}')}}", f"I(__import__('os').system('touch {SENTINEL}'))",
            f"I(x.__class__.__init__.__globals__['open']('{SENTINEL}', 'w'))",
            f"log(x.to_pickle('{SENTINEL}'))", f"scale(z, center=open('{SENTINEL}', 'w'))",
            f"Q(\"open('{SENTINEL}', 'w')\")", f"I(exec(\"open('{SENTINEL}', 'w')\"))",
            f"offset(x.to_csv('{SENTINEL}'))", f"(x.to_csv('{SENTINEL}') | g)",
            f"I(\uff4f\uff50\uff45\uff4e('{SENTINEL}', 'w'))"]
ODD = ["`Sleep.Days`", "Sleep.Days", "log", "Treatment", "Intercept", "`C`", "`a b`",
       "Q('a b')", "scale", "I"]
TRANSFORMS = ["scale(x)", "center(z)", "poly(x, 2)", "bs(x, df=3)", "cr(z, df=3)",
              "I(x^2)", "x %in% f", "offset(z)", "C(f, contr.sum)", "log(Sleep.Days)",
              "log1p(x)", "sqrt(x)", "abs(z)", "(x + z)^2", "I(z > 0)"]
COLUMNS = ["y", "x", "z", "f", "g", "h"]
PIECES = COLUMNS + ODD + TRANSFORMS + PAYLOADS + ["1", "0", "-1", "q", "y2", "`x`", "`a b`", "log(x)", "I(x**2)",
                    "C(g)", "exp(z)", "x:f", "x*z", "f/g", "np.log(x)", "(x | g)",
                    "(1 | g)", "(x || h)", "(0 + x | g)", "(1 | g/h)", "(1 | g:h)",
                    "(f | g)", "diag(x | g)", "cs(1 | g)", "us(x | g)", "ar1(0 + f | g)"]
SYMBOLS = ["+", "-", "*", ":", "/", "|", "||", "~", "(", ")", "**", "^", ",", " ", "%",
           "'", '"', "`", ".", "=", "[", "]", "{", "}", "\\", "1e-3", "\n", "@", "!"]


def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame({
        "y": rng.normal(size=n), "x": rng.uniform(1, 2, n), "z": rng.normal(size=n),
        "f": np.tile(["a", "b", "c"], n // 3), "g": np.repeat(np.arange(6), n // 6),
        "h": np.tile(np.arange(4), n // 4), "a b": rng.normal(size=n),
        "Sleep.Days": rng.uniform(1, 2, n), "log": rng.normal(size=n),
        "Treatment": np.tile(["p", "q"], n // 2), "Intercept": rng.normal(size=n),
        "C": np.tile(["u", "v", "w", "s"], n // 4), "scale": rng.normal(size=n),
        "I": rng.normal(size=n),
    })


FIXED = ["x", "z", "f", "log(x)", "I(x**2)", "C(h)", "x:f", "x*z", "exp(z)", "0", "1", "-1",
         "`a b`", "np.sqrt(x)"] + ODD + TRANSFORMS
BARS = ["(1 | g)", "(x | g)", "(x || h)", "(0 + x | g)", "(1 | g/h)", "(1 | g:h)", "(f | g)",
        "(1 | h)", "(z | h)", "diag(x | g)", "cs(1 + x | g)", "us(x | g)", "ar1(0 + f | g)"]


def valid_formula(rng: np.random.Generator) -> str:
    """A formula that is right, or nearly right, for :func:`data`."""
    fixed = list(rng.choice(FIXED, size=rng.integers(0, 4)))
    bars = list(rng.choice(BARS, size=rng.integers(1, 3)))
    terms = fixed + bars
    rng.shuffle(terms)
    response = rng.choice(["y", "y", "log(x)", "z"])
    return f"{response} ~ " + " + ".join(terms)


def mutate(formula: str, rng: np.random.Generator) -> str:
    """Insert, delete or replace a character or a token at a random place."""
    pos = int(rng.integers(0, len(formula) + 1))
    kind = rng.integers(0, 4)
    piece = str(rng.choice(SYMBOLS + PIECES))
    if kind == 0:
        return formula[:pos] + piece + formula[pos:]
    if kind == 1:
        return formula[:pos] + formula[pos + int(rng.integers(1, 4)):]
    if kind == 2:
        return formula[:pos] + piece + formula[pos + 1:]
    return formula.replace(str(rng.choice(COLUMNS)), str(rng.choice(COLUMNS + ["q", ""])), 1)


def random_formula(rng: np.random.Generator) -> str:
    """A valid formula, one with up to three mutations, or token soup."""
    kind = rng.integers(0, 4)
    if kind == 3:
        return "".join(rng.choice(SYMBOLS + PIECES, size=rng.integers(1, 12)))
    formula = valid_formula(rng)
    for _ in range(kind):
        formula = mutate(formula, rng)
    return formula


def formulas() -> st.SearchStrategy[str]:
    """Hypothesis strategy over :func:`random_formula` (shrinks by seed)."""
    return st.integers(0, 2**32 - 1).map(lambda seed: random_formula(np.random.default_rng(seed)))


def attempt(formula: str, frame: pd.DataFrame) -> str:
    """Fit; return 'fit', 'error' (a library error), 'EXECUTED' (a payload ran) or raise
    anything else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            LMM.from_formula(formula, frame)
            outcome = "fit"
        except MixedModelsError:
            outcome = "error"
        finally:
            executed = SENTINEL.exists()
            if executed:
                SENTINEL.unlink()
    return "EXECUTED" if executed else outcome


def main(n: int) -> int:
    frame = data()
    outcomes: dict[str, int] = {}
    failures: list[tuple[str, str]] = []
    rng = np.random.default_rng(20261126)
    start = time.perf_counter()
    for _ in range(n):
        formula = random_formula(rng)
        try:
            outcome = attempt(formula, frame)
        except Exception as exc:  # noqa: BLE001 - that is what we are looking for
            outcome = "FOREIGN " + type(exc).__name__
            failures.append((formula, repr(exc)))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if sum(outcomes.values()) % 1000 == 0:  # long runs show where they are
            print(f"  ... {sum(outcomes.values())}: {outcomes}", file=sys.stderr, flush=True)
    executed = outcomes.get("EXECUTED", 0)
    print(f"{n} formulas in {time.perf_counter() - start:.1f} s: {outcomes}; "
          f"{len(failures)} foreign exceptions, {executed} executed payloads")
    for formula, exc in failures[:20]:
        print(f"  {formula!r}: {exc}")
    return 1 if failures or executed else 0


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
