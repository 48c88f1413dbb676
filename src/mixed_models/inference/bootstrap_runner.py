"""Running bootstrap replicates: one seed per replicate, processes, a progress bar.

Every replicate gets its own child of one :class:`numpy.random.SeedSequence`, so the
results depend on the seed only, never on how the replicates are split between
processes. Worker processes are joblib's (the loky backend): started fresh rather than
forked, so the same code is safe on Linux, macOS and Windows, and the task goes to them
through cloudpickle, so the user's lambdas and closures travel too. The task is
serialized once per run and each worker unpickles it once; the pool stays alive between
runs. Replicates travel in chunks, so that the messages between processes are paid a
few dozen times, not once per replicate; chunks come back as they finish (for the
progress bar) and are put back in replicate order. The progress bar is
:func:`mixed_models.progress.progress_bar`'s.

A run takes one path through the numerics in every process: the compiled small-model
kernels when the calling process uses them, numpy's otherwise (the two agree to rounding
only).

Each process runs BLAS on one thread: the replicates are the parallelism, and on
matrices this small OpenBLAS's threads cost far more than they give (a 2 x 2 triangular
solve takes milliseconds instead of microseconds with two threads on a 2-core machine).
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from mixed_models._validate import check_seed
from mixed_models.core import kernels
from mixed_models.errors import InvalidArgumentError
from mixed_models.progress import ProgressBar, ProgressChoice, progress_bar

Task = Callable[[np.random.Generator], Any]
Seed = int | Sequence[int] | np.random.SeedSequence | None

# Chunks per process: enough for a smooth progress bar and load balance, few enough
# that the messages between processes cost nothing.
_CHUNKS_PER_JOB = 8
_MAX_CHUNK = 25


def replicate_seeds(seed: Seed, nsim: int) -> tuple[Any, list[np.random.SeedSequence]]:
    """The root seed's entropy (to reproduce a run started with ``seed=None``) and one
    child seed per replicate.

    ``seed``: None (fresh entropy), a non-negative int, a sequence of them or a
    SeedSequence; anything else is an InvalidArgumentError.
    """
    check_seed(seed)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return root.entropy, root.spawn(nsim)


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int | None, nsim: int) -> int:
    """``None`` or ``-1``: every available core; never more processes than replicates."""
    if n_jobs is None or n_jobs == -1:
        n_jobs = available_cores()
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise InvalidArgumentError(
            f"n_jobs must be a positive number of processes, -1 or None (all cores), got "
            f"{n_jobs!r}")
    return max(1, min(int(n_jobs), nsim))


def run_replicates(task: Task, seeds: list[np.random.SeedSequence], *,
                   n_jobs: int | None = None, progress: ProgressChoice | None = None,
                   label: str = "bootstrap") -> list[Any]:
    """``task(rng)`` for every seed, in seed order.

    Parameters
    ----------
    task
        One replicate: a generator in, any picklable result out.
    seeds
        One seed per replicate (see :func:`replicate_seeds`).
    n_jobs
        Processes (None: all cores).
    progress
        True: always a progress bar (tqdm must be installed); False: never; None or
        ``"auto"``: on a terminal or in a notebook when tqdm is installed (see
        :func:`mixed_models.progress.wants_bar`).
    label
        Text in front of the progress bar.
    """
    n_jobs = resolve_n_jobs(n_jobs, len(seeds))
    bar = progress_bar(len(seeds), progress="auto" if progress is None else progress,
                       desc=label)
    compiled = kernels.block_wanted()
    try:
        with threadpool_limits(limits=1), kernels.pinned(compiled):
            if n_jobs == 1:
                results = []
                for seed in seeds:
                    results.append(task(np.random.default_rng(seed)))
                    bar.update(1)
                return results
            return _run_in_processes(task, seeds, n_jobs, bar, compiled)
    finally:
        bar.close()


def _run_in_processes(task: Task, seeds: list[np.random.SeedSequence], n_jobs: int,
                      bar: ProgressBar, compiled: bool) -> list[Any]:
    from joblib import Parallel, delayed, parallel_config

    payload = _serialize(task)
    token = hashlib.sha1(payload).hexdigest()
    indexed = list(enumerate(seeds))
    size = max(1, min(_MAX_CHUNK, math.ceil(len(seeds) / (n_jobs * _CHUNKS_PER_JOB))))
    chunks = [indexed[i:i + size] for i in range(0, len(indexed), size)]
    results: list[Any] = [None] * len(seeds)
    with parallel_config(backend="loky", inner_max_num_threads=1):
        parts = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                         pre_dispatch="all")(
            delayed(_run_chunk)(token, payload, chunk, compiled) for chunk in chunks)
        for part in parts:
            for index, value in part:
                results[index] = value
            bar.update(len(part))
    return results


def _serialize(task: Task) -> bytes:
    # cloudpickle (joblib's) carries lambdas and closures by value; serializing once
    # here both reports what cannot travel and spares pickling the model per chunk.
    try:
        import cloudpickle  # a dependency of joblib from 1.6 on
    except ImportError:
        from joblib.externals import cloudpickle  # vendored before 1.6

    try:
        return cloudpickle.dumps(task)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise InvalidArgumentError(
            f"the replicates cannot be sent to worker processes: {exc}. The model and "
            "what_to_collect / how_to_simulate must be picklable (lambdas and closures "
            "are; open files, locks and generators are not); or use n_jobs=1") from None


# The task a worker last received, by token: a worker runs many chunks of one task and
# unpickles the model once.
_TASK: tuple[str, Task] | None = None


def _run_chunk(token: str, payload: bytes, chunk: list[tuple[int, np.random.SeedSequence]],
               compiled: bool) -> list[tuple[int, Any]]:
    global _TASK
    if _TASK is None or _TASK[0] != token:
        threadpool_limits(limits=1)
        _TASK = (token, pickle.loads(payload))
    task = _TASK[1]
    with kernels.pinned(compiled):
        return [(index, task(np.random.default_rng(seed))) for index, seed in chunk]
