"""A memory estimate before the large dense allocations of the core.

A crossed design fills in a dense block over the random effects of every term after the
first; its size grows with the square of their number (20,000 levels: 3.2 GB per copy).
Allocating it blindly ends in a MemoryError from numpy after minutes of work, or in the
machine swapping. The block's size is known before any row is read, so it is checked
first against the memory available and against a cap the user may set (the environment
variable ``MIXED_MODELS_MEMORY_LIMIT_GB`` or :func:`set_limit`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from mixed_models.errors import InvalidArgumentError, ResourceError

ENVIRONMENT_VARIABLE = "MIXED_MODELS_MEMORY_LIMIT_GB"
GB = 1024.0**3
_limit_bytes: float | None = None
T = TypeVar("T")


def set_limit(gigabytes: float | None) -> None:
    """Refuse models whose dense blocks need more than ``gigabytes`` (None: only the
    memory available limits them)."""
    global _limit_bytes
    if gigabytes is None:
        _limit_bytes = None
        return
    if isinstance(gigabytes, bool) or not isinstance(gigabytes, (int, float)) \
            or not gigabytes > 0:
        raise InvalidArgumentError(f"the memory limit must be a positive number of GB or "
                                   f"None, got {gigabytes!r}")
    _limit_bytes = float(gigabytes) * GB


def limited(gigabytes: float, function: Callable[..., T], *args: object,
            **kwargs: object) -> T:
    """``function(*args, **kwargs)`` with the cap set to ``gigabytes`` for the call
    only (the previous cap is restored afterwards)."""
    global _limit_bytes
    saved = _limit_bytes
    set_limit(gigabytes)
    try:
        return function(*args, **kwargs)
    finally:
        _limit_bytes = saved


def available_bytes() -> float | None:
    """Memory the process may still use: psutil's estimate when it is installed, else
    the kernel's MemAvailable, else the physical memory; None when none is known.

    The answer is reused for ``_REUSE_SECONDS`` (asking costs more than fitting a small
    model's cross-products, and many small fits run in a row)."""
    now = time.monotonic()
    if _known[0] is not None and now - _known[1] < _REUSE_SECONDS:
        return _known[0]
    value = _ask_available_bytes()
    _known[:] = [value, now]
    return value


_REUSE_SECONDS = 1.0
_known: list = [None, 0.0]


def _ask_available_bytes() -> float | None:
    try:
        import psutil  # optional
        return float(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def limit_bytes() -> tuple[float | None, str]:
    """The cap in bytes (None: none set) and where it comes from."""
    if _limit_bytes is not None:
        return _limit_bytes, "the limit set by mixed_models.core.memory.set_limit"
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if value is None or not value.strip():
        return None, ""
    try:
        gigabytes = float(value)
    except ValueError:
        gigabytes = float("nan")
    if not gigabytes > 0:
        raise InvalidArgumentError(f"{ENVIRONMENT_VARIABLE} must be a positive number of "
                                   f"GB, got {value!r}")
    return gigabytes * GB, f"the limit {ENVIRONMENT_VARIABLE}={value}"


def fits(n_bytes: float) -> bool:
    """Whether :func:`require` would allow ``n_bytes`` (a caller can then skip writing
    its message)."""
    cap = limit_bytes()[0]
    free = available_bytes()
    return (cap is None or n_bytes <= cap) and (free is None or n_bytes <= free)


def require(n_bytes: float, what: str, advice: str) -> None:
    """Raise :class:`ResourceError` before allocating ``n_bytes`` for ``what`` when that
    is more than the cap or than the memory available; ``advice`` says what to do."""
    cap, source = limit_bytes()
    if cap is not None and n_bytes > cap:
        _refuse(n_bytes, what, cap, source, advice)
    free = available_bytes()
    if free is not None and n_bytes > free:
        _refuse(n_bytes, what, free, "the memory available", advice)


def _refuse(n_bytes: float, what: str, allowed: float, source: str, advice: str) -> None:
    raise ResourceError(
        f"{what} needs about {n_bytes / GB:.3g} GB of memory, more than "
        f"{source} ({allowed / GB:.3g} GB). {advice}")


def dense_bytes(rows: int, cols: int | None = None, copies: int = 1) -> float:
    """Bytes of ``copies`` float64 arrays of rows x cols (square when cols is None)."""
    return 8.0 * rows * (rows if cols is None else cols) * copies
