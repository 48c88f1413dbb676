"""Fits run the compiled kernels with the argument types they were compiled for.

numba compiles a kernel again for every new combination of argument types (a read-only
array, another layout, another integer width are other types), and does so in the fit
that first passes it: seconds, not microseconds. The kernels are compiled (or loaded)
by ``compile_kernels()`` with the types the fits pass; a fit must add none.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    from mixed_models import LMM, compile_kernels
    from mixed_models.core import kernels
    from mixed_models.datasets import load
    if not compile_kernels():
        print("SKIP")
        raise SystemExit
    from mixed_models.core import numba_kernels, numba_newton, numba_products
    dispatchers = [getattr(module, name) for module in (numba_kernels, numba_newton,
                   numba_products) for name in dir(module)
                   if hasattr(getattr(module, name), "signatures")]
    before = {d.__name__: len(d.signatures) for d in dispatchers}
    sleep, pen, alien = load("sleepstudy"), load("penicillin"), load("alien_species")
    weights = np.linspace(0.5, 2.0, len(sleep))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LMM.from_formula("Reaction ~ Days + (Days | Subject)", sleep)
        LMM.from_formula("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
        LMM.from_formula("Reaction ~ Days + (Days || Subject)", sleep, weights=weights)
        LMM.from_formula("Reaction ~ Days + (1 | Subject)", sleep)
        LMM.from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
        LMM.from_formula("Aggression ~ Age + Species + (Age | Location)", alien)
    after = {d.__name__: len(d.signatures) for d in dispatchers}
    print({k: (before[k], after[k]) for k in before if after[k] != before[k]})
""")


def test_fits_compile_no_new_signatures():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "SKIP":
        pytest.skip("numba is not installed")
    assert done.stdout.strip().splitlines()[-1] == "{}", done.stdout
