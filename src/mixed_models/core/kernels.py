"""Compiled kernels for the steps numpy/scipy cannot do fast.

* The sparse rank update: eliminating the lead term subtracts G G' from the rest block,
  where G = A_r1 C is sparse (one column per lead random effect). scipy forms G G' as a
  sparse matrix and then densifies it, and a dense BLAS product (syrk) wastes work on the
  zeros; on large crossed designs both dominate an evaluation (docs/performance.md). The
  kernel writes the product straight into the lower triangle of the dense block, row by
  row (each row's partial sums stay in cache), in parallel over rows.
* The objective and gradient of a small model, block by block
  (:func:`block_objective`): an evaluation of sleepstudy is a few microseconds of
  arithmetic, where whole-array numpy calls on the dense system cost tens.

numba is optional (the ``fast`` extra): without it :func:`available` is False and the
callers use numpy/scipy. The kernels are compiled on first use and cached on disk
(:mod:`mixed_models.core.numba_kernels`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np

# Below this many multiply-adds scipy's product is as fast and numba need not be imported.
MIN_WORK = 2_000_000


def _numba_installed() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def available() -> bool:
    """True when numba imports and compiles the kernel (else scipy's product is used)."""
    if not _numba_installed():
        return False
    try:  # compile (or load from the disk cache) now, on a 1 x 1 problem
        one, idx = np.ones(1), np.array([0, 1], dtype=np.int32)
        _compiled()(np.zeros((1, 1)), np.ones((1, 1)), one, idx, idx[:1], one, idx,
                    idx[:1], one)
        _trace_kernel()(np.ones((1, 1)), one, idx, idx[:1], one, idx, idx[:1], one)
    except Exception as error:  # a numba that cannot build here: fall back, and say so
        warnings.warn(f"the compiled rank update is unavailable ({error}); using scipy's "
                      "sparse product, which is slower on large crossed designs",
                      RuntimeWarning, stacklevel=2)
        return False
    return True


#: Seconds of small-model Newton iterations in numpy after which a process loads the
#: compiled kernels: loading them (numba's import and its disk cache) costs about this
#: much, so a process that fits a few models never pays it, and one that fits many
#: pays it once it has spent as much without them (at most twice the better choice).
LOAD_AFTER = 0.5
_numpy_seconds = [0.0]


def spent_in_numpy(seconds: float) -> None:
    """Count ``seconds`` of small-model iterations done without the compiled kernels."""
    _numpy_seconds[0] += seconds


def block_wanted() -> bool:
    """Whether small models use the compiled kernels now: they are available and this
    process has spent LOAD_AFTER seconds without them (or asked for them with
    :func:`use_small_kernels`), unless :func:`pinned` fixed the answer."""
    if _pinned[0] is not None:
        return _pinned[0] and block_available()
    return _numpy_seconds[0] >= LOAD_AFTER and block_available()


_pinned: list[bool | None] = [None]


@contextmanager
def pinned(wanted: bool) -> Iterator[None]:
    """Fix :func:`block_wanted`'s answer inside the block (the bootstrap pins it for a
    run, so that every replicate, in whichever process, takes the same path: the
    compiled and numpy evaluations agree only to rounding)."""
    before = _pinned[0]
    _pinned[0] = bool(wanted)
    try:
        yield
    finally:
        _pinned[0] = before


def use_small_kernels() -> bool:
    """Load the compiled small-model kernels now (when available) and use them in this
    process from here on; False when they are not compiled or numba is missing."""
    _numpy_seconds[0] = max(_numpy_seconds[0], LOAD_AFTER)
    return block_available()


@cache
def block_available() -> bool:
    """True when the small-model kernels are compiled in numba's disk cache.

    Compiling them takes numba tens of seconds on a small machine, far more than the
    fits they speed up: a process never compiles them on its own, but loads them
    (see :func:`block_wanted`) when :func:`compile_small_kernels`
    (``mixed_models.compile_kernels()``, run by the Makefile's install steps) has
    compiled them for this installation; until then the fits use numpy's dense
    evaluation.
    """
    if not _numba_installed():
        return False
    try:
        if not all(_in_disk_cache(f) for f in _small_kernels()):
            return False
        _run_small_kernels()  # loads them from the cache
    except Exception as error:  # a cache numba cannot load here: fall back, and say so
        warnings.warn(f"the compiled small-model kernels are unavailable ({error}); using "
                      "numpy's dense evaluation", RuntimeWarning, stacklevel=2)
        return False
    return True


def compile_small_kernels() -> bool:
    """Compile the small-model kernels into numba's disk cache (or load them from it);
    False when numba is not installed."""
    if not _numba_installed():
        return False
    available()  # the large models' kernels too: a first large fit then compiles nothing
    try:
        _run_small_kernels()
    except Exception as error:  # a numba that cannot build here: the fits use numpy
        warnings.warn(f"numba could not compile the small-model kernels ({error}); small "
                      "models are fitted with numpy", RuntimeWarning, stacklevel=2)
        return False
    block_available.cache_clear()
    return use_small_kernels()


def _small_kernels() -> tuple:
    from mixed_models.core.glm import numba_glmm, numba_glmm_gradient
    compiled = products()
    return (_block_kernel(), _solution_kernel(), _newton_kernel(), _moment_kernel(),
            compiled.level_gram,
            compiled.level_products, compiled.pair_products, compiled.lead_rest,
            compiled.rest_products, numba_glmm.pirls,
            numba_glmm_gradient.gradient, numba_glmm.log_determinant)


def _in_disk_cache(dispatcher) -> bool:
    """Whether numba's disk cache holds a version of ``dispatcher`` for this source
    (read through numba's cache object; a layout numba changed counts as absent)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:
        return False


def _run_small_kernels() -> None:
    """One objective and one Newton fit of a one-level problem (this compiles the
    kernels, or loads them)."""
    index = np.array([0])
    # the blocks of the dense system eye(2): one level of one column, a tail of y alone
    arrays = block_arrays((np.ones((1, 1, 1)), np.zeros((1, 1, 1)), np.ones((1, 1))),
                          index, index, index)
    block_objective(np.ones(1), arrays, 0, True, 0.0, 0.0)
    block_solution(np.ones(1), arrays, 0)
    block_newton(np.ones(1), np.ones(1, dtype=bool), None, True, 10, (1, 1e-14, 1e-10, 1e-6, 2),
                 arrays, 0, True, 0.0, 0.0)
    moment_theta(np.ones((3, 2, 2)) + np.eye(2), np.ones((3, 2)), 9.0, 12, 1,
                 np.array([0, 1, 1]), np.array([0, 0, 1]), np.ones((2, 2), dtype=bool))
    _run_product_kernels()
    _run_glmm_kernels()


def _run_product_kernels() -> None:
    """The row-by-row cross-products of two rows, with the types the fits pass."""
    compiled = products()
    codes, z = np.zeros(2, dtype=np.intp), np.ones((2, 1))
    compiled.level_gram(codes, z, 1)
    compiled.level_products(codes, z, z, 1)
    compiled.pair_products(codes, z, 1, codes, z, 1)
    compiled.lead_rest(codes, z, 0, codes, z, np.zeros((1, 1)), np.zeros((1, 1), dtype=bool))
    one = np.ones(1, dtype=np.intp)
    compiled.rest_products(np.ascontiguousarray(codes[:, None]), z, one, one, codes[:1],
                           codes[:1], z, 1, codes, z,
                           np.zeros((1, 1)), np.zeros((1, 1), dtype=bool))


def _run_glmm_kernels() -> None:
    """PIRLS, the objective and the gradient of a four-row binomial GLMM with two scalar
    terms, through the calls the fits make (so the cached signatures are theirs)."""
    from mixed_models.core.covariance import CovarianceStructure
    from mixed_models.core.crossprod import TermData
    from mixed_models.core.glm.compiled import ScalarSystem
    from mixed_models.core.glm.family import make_family
    from mixed_models.core.glm.pirls import GlmmProblem

    ones = np.ones((4, 1))
    terms = [TermData(np.array([0, 0, 1, 1]), ones, 2, CovarianceStructure.unstructured(1)),
             TermData(np.zeros(4, dtype=np.intp), ones, 1, CovarianceStructure.unstructured(1))]
    problem = GlmmProblem(terms, ones, np.array([0.0, 1.0, 1.0, 0.0]), make_family("binomial"))
    system = ScalarSystem(problem)
    state = system.modes(np.ones(2), np.zeros(1), None, True)
    system.value(state)
    system.gradient(np.ones(2), state, True)


@cache
def _compiled():
    from mixed_models.core import numba_kernels
    return numba_kernels.downdate_lower


@cache
def _trace_kernel():
    from mixed_models.core import numba_kernels
    return numba_kernels.trace_lower


@cache
def _block_kernel():
    from mixed_models.core import numba_kernels
    return numba_kernels.block_objective


@cache
def products():
    """The compiled row-by-row cross-products (:mod:`mixed_models.core.numba_products`);
    callers check :func:`block_wanted` first."""
    from mixed_models.core import numba_products
    return numba_products


@cache
def _solution_kernel():
    from mixed_models.core import numba_kernels
    return numba_kernels.block_solution


@cache
def _moment_kernel():
    from mixed_models.core import numba_newton
    return numba_newton.moment_theta


def moment_theta(a1: np.ndarray, cross: np.ndarray, yy: float, n_obs: int, n_fixed: int,
                 rows: np.ndarray, cols: np.ndarray, linked: np.ndarray,
                 floor: float = 1e-2, singular: float = 1e-8) -> np.ndarray | None:
    """The compiled moments start (see :func:`mixed_models.core.start.moment_start`);
    None where the moments give none."""
    ok, theta = _moment_kernel()(
        np.ascontiguousarray(a1, dtype=float), np.ascontiguousarray(cross, dtype=float),
        float(yy), int(n_obs), int(n_fixed), np.ascontiguousarray(rows, dtype=np.intp),
        np.ascontiguousarray(cols, dtype=np.intp), np.ascontiguousarray(linked, dtype=bool),
        float(floor), float(singular))
    return theta if ok else None


@cache
def _newton_kernel():
    from mixed_models.core import numba_newton
    return numba_newton.block_newton


def block_newton(start: np.ndarray, diagonal: np.ndarray, hessian: np.ndarray | None,
                 confirm: bool, max_evaluations: int, rules: tuple, arrays: tuple,
                 q_rest: int, reml: bool, weight: float, constant: float) -> tuple:
    """Compiled Newton's method on :func:`block_objective` (see
    :mod:`mixed_models.core.numba_newton`); ``rules`` are (max_steps, decrement
    tolerance, noise decrement, Hessian step, halvings)."""
    k = len(start)
    known = hessian is not None
    hess = np.array(hessian, dtype=float) if known else np.zeros((k, k))
    return _newton_kernel()(np.asarray(start, dtype=float), np.asarray(diagonal, dtype=bool),
                            hess, known, confirm, max_evaluations, *rules, *arrays, q_rest,
                            reml, weight, constant)


def downdate_lower(out: np.ndarray, base: np.ndarray, scale: np.ndarray, g_csr, g_csc) -> None:
    """Write s_i s_k (base - G G')[i, k] + delta_ik into the lower triangle of ``out``.

    Only the first ``len(scale)`` rows (the rows of G) are written.
    ``out`` and ``base`` are C-ordered square arrays (they may be the same array); the
    strict upper triangle of ``out`` is left untouched. ``g_csr`` and ``g_csc`` are the
    same sparse matrix G in both layouts, with sorted indices.
    """
    _compiled()(out, base, scale, g_csr.indptr, g_csr.indices, g_csr.data,
                g_csc.indptr, g_csc.indices, g_csc.data)


def trace_lower(inverse: np.ndarray, scale: np.ndarray, g_csr, g_csc) -> float:
    """sum over i, k of s_i s_k (G G')[i, k] inverse[i, k], reading only the lower
    triangle of the symmetric, C-ordered ``inverse`` (its first ``len(scale)`` rows);
    G as for :func:`downdate_lower`."""
    return float(_trace_kernel()(inverse, scale, g_csr.indptr, g_csr.indices, g_csr.data,
                                 g_csc.indptr, g_csc.indices, g_csc.data))


def block_objective(theta: np.ndarray, arrays: tuple, q_rest: int, reml: bool, weight: float,
                    constant: float) -> tuple[float, np.ndarray]:
    """The profiled objective and its gradient, block by block (see
    :mod:`mixed_models.core.numba_kernels`); ``arrays`` are the blocks and index arrays
    the dense evaluator prepares."""
    return _block_kernel()(theta, *arrays, q_rest, reml, weight, constant)


def block_solution(theta: np.ndarray, arrays: tuple, q_rest: int
                   ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
    """The estimates at theta on :func:`block_objective`'s system (see
    :func:`mixed_models.core.numba_kernels.block_solution`): u of the lead term,
    [u of the rest terms, beta], pwrss and R_X^-1; None where the system is not
    positive definite."""
    ok, u, w, pwrss, rx_inv = _solution_kernel()(np.asarray(theta, dtype=float), *arrays,
                                                 q_rest)
    return (u, w, float(pwrss), rx_inv) if ok else None


def block_arrays(blocks: tuple[np.ndarray, np.ndarray, np.ndarray], rows: np.ndarray,
                 cols: np.ndarray, group: np.ndarray) -> tuple:
    """The arrays :func:`block_objective` reads, from the dense system's ``blocks``
    (``core.block_gradient.split_system``: the lead term's level
    blocks, the tail's by level, the tail's) and from the positions (``rows``,
    ``cols``) in lambda~ of the theta entries ``group``."""
    a1, at1, att = (np.ascontiguousarray(x) for x in blocks)
    levels, size = a1.shape[0], a1.shape[1]
    q1 = levels * size
    first = rows < size  # the lead term's entries at its first level
    tail = rows >= q1
    index = [np.ascontiguousarray(x, dtype=np.intp) for x in (
        rows[first], cols[first], group[first],
        rows[tail] - q1, cols[tail] - q1, group[tail])]
    return (a1, at1, att, *index)
