"""One BLAS thread for small dense blocks.

OpenBLAS splits even a 100 x 100 Cholesky over every core. On a quiet machine that
gains nothing below about two thousand columns; on a busy one its spinning threads make
each call ten to a hundred times slower (docs/performance.md has the measurements). The
factorization therefore runs single-threaded
when its dense block is small, and leaves larger blocks to every core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

# Dense blocks with fewer columns than this are factored with one BLAS thread.
MULTITHREAD_COLUMNS = 2000
# ... and blocks this small never reach OpenBLAS's threading, so nothing is switched.
TINY_COLUMNS = 16
_depth = [0]  # nesting: an evaluation inside an optimization sets nothing again


@cache
def _blas_libraries() -> list:
    import scipy.linalg  # noqa: F401  (load scipy's BLAS too, so it is controlled)
    from threadpoolctl import ThreadpoolController
    return [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]


@contextmanager
def blas_threads_for(columns: int, tiny: int = TINY_COLUMNS) -> Iterator[None]:
    """Within the block, BLAS uses one thread if ``columns`` is small, else its default.

    Blocks of at most ``tiny`` columns switch nothing; a caller whose block runs other
    BLAS calls too (OpenBLAS threads some of them, triangular solves, at any size)
    passes 0.
    """
    if columns >= MULTITHREAD_COLUMNS or columns <= tiny or _depth[0]:
        yield
        return
    libraries = _blas_libraries()
    before = [lib.get_num_threads() for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(1)
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)
