"""BLAS threads: one for small blocks, one per free core for large ones."""

from __future__ import annotations

import os

import pytest

from mixed_models.core import threads


def _blas_threads() -> list[int]:
    return [lib.get_num_threads() for lib in threads._blas_libraries()]


@pytest.fixture
def fresh_reading(monkeypatch):
    monkeypatch.setattr(threads, "_reading", [])


def _counters(when: float, own: float, idle: int, total: int) -> threads.Counters:
    return threads.Counters(when, own, (idle, total))


@pytest.mark.parametrize("first, second, allowed, expected", [
    # (when, own CPU seconds, idle jiffies, total jiffies); 2 cores on this table's machine
    ((0.0, 0.0, 100, 1000), (1.0, 0.0, 300, 1200), 2, 2),   # both cores idle
    ((0.0, 0.0, 100, 1000), (1.0, 0.0, 200, 1200), 2, 1),   # one core busy
    # ... by this process itself (OpenBLAS's workers spin after each threaded call)
    ((0.0, 0.0, 100, 1000), (1.0, 1.0, 200, 1200), 2, 2),
    ((0.0, 0.0, 100, 1000), (1.0, 0.0, 100, 1200), 2, 1),   # every core busy: one thread
    ((0.0, 0.0, 100, 1000), (1.0, 1.0, 100, 1200), 2, 1),   # ... one of them by others
    ((0.0, 0.0, 100, 1000), (0.0, 0.0, 100, 1000), 2, 2),   # no time passed: all allowed
    ((0.0, 0.0, 100, 1000), (1.0, 0.0, 300, 1200), 1, 1),   # the affinity allows one core
])
def test_cores_free(monkeypatch, first, second, allowed, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert threads.cores_free(_counters(*first), _counters(*second), allowed) == expected


def test_a_recent_reading_gives_the_window_without_sleeping(monkeypatch, fresh_reading):
    now = threads._counters()
    if now is None:
        pytest.skip("needs /proc/stat")
    earlier = threads.Counters(now.when - 1.0, now.own - 1.0, now.jiffies)
    monkeypatch.setattr(threads, "_last_counters", [earlier])
    monkeypatch.setattr(threads.time, "sleep", _no_sleep)
    assert 1 <= threads.free_cores() <= threads._allowed_cores()
    assert threads._last_counters[0].when > earlier.when  # the next window starts here


def test_an_old_reading_is_read_again_over_a_sleep(monkeypatch, fresh_reading):
    now = threads._counters()
    if now is None:
        pytest.skip("needs /proc/stat")
    slept = []
    monkeypatch.setattr(threads, "_last_counters",
                        [now._replace(when=now.when - 2 * threads.WINDOW_SECONDS)])
    monkeypatch.setattr(threads.time, "sleep", slept.append)
    threads.free_cores()
    assert slept == [threads.SAMPLE_SECONDS]


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s with a recent reading at hand")


def test_free_cores_is_between_one_and_the_allowed_cores(fresh_reading):
    free = threads.free_cores()
    assert 1 <= free <= threads._allowed_cores()
    assert threads.free_cores() == free  # the reading is reused


def test_without_counters_every_allowed_core_is_free(monkeypatch, fresh_reading):
    monkeypatch.setattr(threads, "_cpu_counters", lambda: None)
    assert threads.free_cores() == threads._allowed_cores()


def test_a_large_block_gets_the_free_cores_and_the_setting_comes_back(monkeypatch,
                                                                     fresh_reading):
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    before = _blas_threads()
    with threads.blas_threads_for(threads.MULTITHREAD_COLUMNS, tiny=0):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_free_cores_never_raise_the_blas_setting(monkeypatch, fresh_reading):
    monkeypatch.setattr(threads, "free_cores", lambda: 64)
    before = _blas_threads()
    with threads.blas_threads_for(threads.MULTITHREAD_COLUMNS, tiny=0):
        assert _blas_threads() == before


def test_a_small_block_runs_on_one_thread(fresh_reading):
    before = _blas_threads()
    with threads.blas_threads_for(100, tiny=0):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_a_blocked_fit_threads_scipys_lapack_only(monkeypatch, fresh_reading):
    pytest.importorskip("numba")
    import numba
    monkeypatch.setattr(threads, "free_cores", lambda: 2)
    before, kernels_before = _blas_threads(), numba.get_num_threads()
    numpy_only = {id(lib) for lib in threads._numpy_only_libraries()}
    with threads.lapack_threads_for(threads.LAPACK_COLUMNS):
        for lib, n in zip(threads._blas_libraries(), before):
            assert lib.get_num_threads() == (1 if id(lib) in numpy_only else min(n, 2))
        assert numba.get_num_threads() == 1  # short evaluations: beside spinning workers
        with threads.blas_threads_for(threads.MULTITHREAD_COLUMNS, tiny=0):
            assert numba.get_num_threads() == 1  # nested blocks switch nothing
    assert _blas_threads() == before and numba.get_num_threads() == kernels_before
    with threads.lapack_threads_for(threads.MULTITHREAD_COLUMNS):
        assert numba.get_num_threads() == min(2, kernels_before)  # long ones: free cores
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with threads.lapack_threads_for(threads.MULTITHREAD_COLUMNS):
        assert numba.get_num_threads() == 1  # a busy machine: one everywhere


def test_a_small_blocked_fit_runs_on_one_thread(fresh_reading):
    before = _blas_threads()
    with threads.lapack_threads_for(threads.LAPACK_COLUMNS - 1):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_numpys_own_blas_is_found_in_its_wheel():
    import numpy
    from pathlib import Path
    vendored = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    for lib in threads._numpy_only_libraries():
        assert Path(lib.filepath).resolve().parent == vendored


def test_a_blocked_fit_sets_the_kernels_threads_in_a_process_without_numba_yet():
    # the first large fit of a process imports numba inside it (its compiled rank
    # update): the threads must be set before, or that fit's kernels run on every core
    pytest.importorskip("numba")
    import subprocess
    import sys
    code = ("import sys\n"
            "from mixed_models.core import threads\n"
            "threads.free_cores = lambda: 2\n"
            "assert 'numba' not in sys.modules\n"
            "with threads.lapack_threads_for(threads.LAPACK_COLUMNS):\n"
            "    print(sys.modules['numba'].get_num_threads())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "1"
