"""BLAS threads chosen by block size and by the cores other programs leave free.

OpenBLAS splits even a 100 x 100 Cholesky over every core. On a quiet machine that
gains nothing below about two thousand columns; on a busy one its spinning threads make
each call ten to a hundred times slower (docs/performance.md has the measurements). The
factorization therefore runs single-threaded when its dense block is small. A larger
block gets as many threads as there are cores idle when the fit starts (read from the
kernel's CPU counters while this process sleeps a few milliseconds), never more than
BLAS's own setting: a thread put on a core another program keeps busy waits for it at
every synchronization, so one program's CPU-bound loop would otherwise slow every
multi-threaded factorization several times.

Stable: the context manager's contract. Unstable: the thresholds and how free cores are
measured (Linux's /proc/stat; elsewhere every allowed core counts as free).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

# Dense blocks with fewer columns than this are factored with one BLAS thread.
MULTITHREAD_COLUMNS = 2000
# ... and blocks this small never reach OpenBLAS's threading, so nothing is switched.
TINY_COLUMNS = 16
_depth = [0]  # nesting: an evaluation inside an optimization sets nothing again
# How long the idle counters are read for, and how long a reading is reused.
SAMPLE_SECONDS = 0.1
READING_SECONDS = 2.0
_reading: list[tuple[float, int]] = []  # (when, free cores) of the last reading


@cache
def _blas_libraries() -> list:
    import scipy.linalg  # noqa: F401  (load scipy's BLAS too, so it is controlled)
    from threadpoolctl import ThreadpoolController
    return [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]


@contextmanager
def blas_threads_for(columns: int, tiny: int = TINY_COLUMNS) -> Iterator[None]:
    """Within the block, BLAS uses one thread if ``columns`` is small, else one per free
    core (:func:`free_cores`), never more than its own setting.

    Blocks of at most ``tiny`` columns switch nothing; a caller whose block runs other
    BLAS calls too (OpenBLAS threads some of them, triangular solves, at any size)
    passes 0.
    """
    if columns <= tiny or _depth[0]:
        yield
        return
    libraries = _blas_libraries()
    before = [lib.get_num_threads() for lib in libraries]
    wanted = 1 if columns < MULTITHREAD_COLUMNS else free_cores()
    for lib, n in zip(libraries, before):
        lib.set_num_threads(min(n, wanted))
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)


def free_cores() -> int:
    """Cores this process may use that other programs leave idle (at least 1).

    Read from the kernel's idle counters over :data:`SAMPLE_SECONDS` while this thread
    sleeps, and reused for :data:`READING_SECONDS`; where the counters cannot be read,
    every core the process may run on counts as free.
    """
    now = time.monotonic()
    if _reading and now - _reading[0][0] < READING_SECONDS:
        return _reading[0][1]
    allowed = _allowed_cores()
    first = _cpu_counters()
    if first is None:
        free = allowed
    else:
        time.sleep(SAMPLE_SECONDS)
        second = _cpu_counters()
        free = allowed if second is None else cores_idle(first, second, allowed)
    _reading[:] = [(time.monotonic(), free)]
    return free


def cores_idle(first: tuple[int, int], second: tuple[int, int], allowed: int) -> int:
    """Whole cores idle between two readings ``(idle, total)`` of the counters summed
    over every core, rounded to the nearest, between 1 and ``allowed``."""
    idle, total = second[0] - first[0], second[1] - first[1]
    if total <= 0:
        return allowed
    idle_cores = (os.cpu_count() or 1) * idle / total
    return max(1, min(allowed, int(idle_cores + 0.5)))


def _allowed_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_counters() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores from /proc/stat, or None where unreadable."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    counts = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return counts[3] + counts[4], sum(counts)
