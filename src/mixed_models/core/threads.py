"""BLAS threads chosen by block size and by the cores other programs leave free.

OpenBLAS splits even a 100 x 100 Cholesky over every core. On a quiet machine that
gains nothing below about two thousand columns; on a busy one its spinning threads make
each call ten to a hundred times slower (docs/performance.md has the measurements). The
factorization therefore runs single-threaded when its dense block is small. A larger
block gets as many threads as there are cores idle when the fit starts, never more than
BLAS's own setting: a thread put on a core another program keeps busy waits for it at
every synchronization, so one program's CPU-bound loop would otherwise slow every
multi-threaded factorization several times.

A fit whose heavy work is LAPACK on one dense block between compiled kernels (the
blocked factor of a large model) is threaded from a thousand columns
(:func:`lapack_threads_for`): its inverse halves with two threads there. After each
call OpenBLAS's workers spin for about a tenth of a second, through all of a short
evaluation, so that only the library scipy's LAPACK calls gets the threads, and the
compiled kernels run on one while the evaluations are short: two spinning pools or a
parallel kernel beside the spinning workers would share the same cores.

Free cores are the idle ones plus the ones this process itself keeps busy (its own
BLAS workers spin after every call), read from the kernel's CPU counters over the time
since the previous reading, or over a short sleep when there is none recent.

Stable: the context managers' contracts. Unstable: the thresholds and how free cores are
measured (Linux's /proc/stat; elsewhere every allowed core counts as free).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import NamedTuple

# Dense blocks with fewer columns than this are factored with one BLAS thread.
MULTITHREAD_COLUMNS = 2000
# ... and LAPACK on the blocked factor's rest block from this many columns.
LAPACK_COLUMNS = 1000
# ... and blocks this small never reach OpenBLAS's threading, so nothing is switched.
TINY_COLUMNS = 16
_depth = [0]  # nesting: an evaluation inside an optimization sets nothing again
# The shortest span the counters are read over (sleeping if need be), the longest
# span since the previous reading that still tells the present load, and how long a
# result is reused.
SAMPLE_SECONDS = 0.1
WINDOW_SECONDS = 10.0
READING_SECONDS = 2.0
_reading: list[tuple[float, int]] = []  # (when, free cores) of the last result


class Counters(NamedTuple):
    """One reading: when, this process's CPU seconds, and (idle, total) jiffies of all
    cores."""

    when: float
    own: float
    jiffies: tuple[int, int]


@cache
def _blas_libraries() -> list:
    import scipy.linalg  # noqa: F401  (load scipy's BLAS too, so it is controlled)
    from threadpoolctl import ThreadpoolController
    return [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]


@cache
def _numpy_only_libraries() -> list:
    """The BLAS libraries vendored in numpy's wheel (scipy's LAPACK never calls them)."""
    import numpy
    vendored = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    return [lib for lib in _blas_libraries()
            if Path(lib.filepath).resolve().parent == vendored]


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
    wanted = 1 if columns < MULTITHREAD_COLUMNS else free_cores()
    with _threads({id(lib): wanted for lib in _blas_libraries()}, None):
        yield


@contextmanager
def lapack_threads_for(columns: int) -> Iterator[None]:
    """Threads for a fit whose heavy work is LAPACK on a dense block of ``columns``
    columns between compiled kernels: from :data:`LAPACK_COLUMNS` columns scipy's LAPACK
    gets one thread per free core and a BLAS only numpy calls one; the compiled kernels
    get the free cores too from :data:`MULTITHREAD_COLUMNS` columns, below it one (see
    the module's docstring). Smaller blocks run as :func:`blas_threads_for`'s."""
    if _depth[0] or columns < LAPACK_COLUMNS:
        with blas_threads_for(columns, tiny=0):
            yield
        return
    wanted = free_cores()
    _load_numba()
    numpy_only = {id(lib) for lib in _numpy_only_libraries()}
    counts = {id(lib): 1 if id(lib) in numpy_only else wanted for lib in _blas_libraries()}
    kernels = 1 if columns < MULTITHREAD_COLUMNS else wanted
    with _threads(counts, kernels):
        yield


def _load_numba() -> None:
    """Import numba when it is installed: a fit of so large a block loads it for its
    compiled rank update anyway, and the kernels' threads are set before they run."""
    try:
        import numba  # noqa: F401
    except ImportError:
        pass


@contextmanager
def _threads(counts: dict[int, int], kernels: int | None) -> Iterator[None]:
    """BLAS library ``lib`` on at most ``counts[id(lib)]`` threads and, unless None,
    numba's parallel kernels on at most ``kernels`` (when numba is loaded), never more
    than their own settings; restored on exit."""
    libraries = _blas_libraries()
    before = [lib.get_num_threads() for lib in libraries]
    numba = sys.modules.get("numba") if kernels is not None else None
    numba_before = numba.get_num_threads() if numba is not None else None
    for lib, n in zip(libraries, before):
        lib.set_num_threads(min(n, counts[id(lib)]))
    if numba is not None:
        numba.set_num_threads(min(kernels, numba_before))
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)
        if numba is not None:
            numba.set_num_threads(numba_before)


def free_cores() -> int:
    """Cores this process may use that other programs leave idle (at least 1).

    Read from the kernel's CPU counters since the previous reading when that lies
    between :data:`SAMPLE_SECONDS` and :data:`WINDOW_SECONDS` ago, else over
    :data:`SAMPLE_SECONDS` of sleep; the result is reused for :data:`READING_SECONDS`.
    Where the counters cannot be read, every core the process may run on counts as free.
    """
    now = time.monotonic()
    if _reading and now - _reading[0][0] < READING_SECONDS:
        return _reading[0][1]
    allowed = _allowed_cores()
    second = _counters()
    if second is None:
        free = allowed
    else:
        first = _last_counters[0] if _last_counters else None
        if first is None or not SAMPLE_SECONDS <= second.when - first.when <= WINDOW_SECONDS:
            first = second
            time.sleep(SAMPLE_SECONDS)
            second = _counters() or first
        free = cores_free(first, second, allowed)
        _last_counters[:] = [second]
    _reading[:] = [(time.monotonic(), free)]
    return free


def cores_free(first: Counters, second: Counters, allowed: int) -> int:
    """Whole cores idle or kept busy by this process between two readings, rounded to
    the nearest, between 1 and ``allowed``."""
    idle, total = (b - a for a, b in zip(first.jiffies, second.jiffies))
    elapsed = second.when - first.when
    if total <= 0 or elapsed <= 0.0:
        return allowed
    idle_cores = (os.cpu_count() or 1) * idle / total
    own_cores = (second.own - first.own) / elapsed
    return max(1, min(allowed, int(idle_cores + own_cores + 0.5)))


def _allowed_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _counters() -> Counters | None:
    """Now's reading, or None where /proc/stat cannot be read."""
    jiffies = _cpu_counters()
    if jiffies is None:
        return None
    return Counters(time.monotonic(), time.process_time(), jiffies)


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


# The first reading, when the package's core is loaded: a fit's first threaded block
# then reads the load over the time since, without sleeping.
_last_counters: list[Counters] = [c for c in (_counters(),) if c is not None]
