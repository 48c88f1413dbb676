"""The CPU-bound load of ``run.py --busy``: one process spinning while cases are timed.

The load is one process, as a user's other program would be: a plain Python loop
(``python``) or products of 256 x 256 matrices with one BLAS thread (``numpy``). It
stops by itself at its deadline or as soon as the process that started it is gone, and
:func:`busy_load` kills it when its block is left, on errors and Ctrl-C too, so it never
outlives the benchmark. The CPU time it got is measured, so the report can say how much
of a core it took from the cases (on a machine shared with other work, less than one).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

KINDS = ("python", "numpy")

_LOOP = r"""
import os, sys, time
deadline = time.monotonic() + float(sys.argv[1])
parent, kind = int(sys.argv[2]), sys.argv[3]
if kind == "numpy":
    import numpy as np
    a = np.random.default_rng(0).random((256, 256))
    def work():
        for _ in range(20):
            a @ a
else:
    def work():
        x = 0
        for i in range(100_000):
            x += i * i
while time.monotonic() < deadline and os.getppid() == parent:
    work()
"""


@dataclass
class Load:
    """What the load process got: its kind, wall seconds and CPU seconds."""

    kind: str
    wall: float = 0.0
    cpu: float = float("nan")

    @property
    def cores(self) -> float:
        """The average number of cores the load kept busy."""
        return self.cpu / self.wall if self.wall > 0 else float("nan")


@contextmanager
def busy_load(seconds: float, kind: str = "python") -> Iterator[Load]:
    """Run one CPU-bound process for at most ``seconds`` while the block runs."""
    if kind not in KINDS:
        raise ValueError(f"busy load {kind!r} is not one of {', '.join(KINDS)}")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", _LOOP, f"{seconds:.0f}", str(os.getpid()), kind],
        env=env, stdin=subprocess.DEVNULL)
    load = Load(kind)
    start = time.perf_counter()
    try:
        yield load
    finally:
        load.wall = time.perf_counter() - start
        load.cpu = _stop(process)


def _stop(process: subprocess.Popen) -> float:
    """Kill the load process and return the CPU seconds it used."""
    cpu = float("nan")
    try:
        # signalled by pid, not Popen.kill, which would reap it and lose its usage
        os.kill(process.pid, signal.SIGKILL)
        _, _, usage = os.wait4(process.pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
    except (ProcessLookupError, ChildProcessError):
        pass
    process.wait()
    return cpu
