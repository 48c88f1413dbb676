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


@pytest.mark.parametrize("first, second, allowed, expected", [
    ((100, 1000), (300, 1200), 2, 2),   # both cores idle (2 cores on this table's machine)
    ((100, 1000), (200, 1200), 2, 1),   # one core busy
    ((100, 1000), (100, 1200), 2, 1),   # every core busy: still one thread
    ((100, 1000), (100, 1000), 2, 2),   # no time passed: nothing known, all allowed
    ((100, 1000), (300, 1200), 1, 1),   # the affinity mask allows one core
])
def test_cores_idle(monkeypatch, first, second, allowed, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert threads.cores_idle(first, second, allowed) == expected


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
