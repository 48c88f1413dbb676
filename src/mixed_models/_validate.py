"""Checks of the arguments of public functions, each raising a library error that names
the argument, shows the value given and says what is allowed.

A foreign exception deep inside numpy, pandas or multiprocessing says neither which
argument was wrong nor what would have been right; these checks run before any work is
done. This module imports nothing of the package but its errors, so every layer may use
it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from mixed_models.errors import DataTypeError, InvalidArgumentError


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters, for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: object) -> str:
    return type(value).__name__


def check_bool(name: str, value: object) -> bool:
    """``value`` as a bool; only True, False and numpy booleans are allowed.

    Strings are refused rather than read: ``bool("False")`` is True.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataTypeError(f"{name} must be True or False, got {shown(value)} ({_kind(value)})")


def check_optional_bool(name: str, value: object) -> bool | None:
    """None, or :func:`check_bool`."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataTypeError(
        f"{name} must be True, False or None, got {shown(value)} ({_kind(value)})")


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``choices``."""
    if isinstance(value, str) and value in choices:
        return value
    raise InvalidArgumentError(f"{name} must be one of {tuple(choices)}, got {shown(value)}")


def _is_integer(value: object) -> bool:
    return isinstance(value, (Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(name: str, value: object, what: str = "number") -> int:
    """``value`` as an int of at least 1 (bools are refused)."""
    if _is_integer(value) and int(value) >= 1:
        return int(value)
    raise InvalidArgumentError(f"{name} must be a positive whole {what}, got {shown(value)}")


def check_real(name: str, value: object) -> float:
    """``value`` as a finite float (bools and strings are refused)."""
    if isinstance(value, (Real, np.floating, np.integer)) and \
            not isinstance(value, (bool, np.bool_)) and math.isfinite(float(value)):
        return float(value)
    raise InvalidArgumentError(f"{name} must be a finite number, got {shown(value)}")


def check_open_unit(name: str, value: object, meaning: str = "") -> float:
    """``value`` as a float strictly between 0 and 1 (a level, a probability)."""
    if isinstance(value, (Real, np.floating, np.integer)) and \
            not isinstance(value, (bool, np.bool_)) and 0.0 < float(value) < 1.0:
        return float(value)
    extra = f" ({meaning})" if meaning else ""
    raise InvalidArgumentError(
        f"{name} must be a number between 0 and 1{extra}, got {shown(value)}")


def check_level(value: object) -> float:
    """A confidence level, strictly between 0 and 1."""
    return check_open_unit("level", value, "e.g. 0.95")


def check_seed(value: object, name: str = "seed", generators: bool = False) -> Any:
    """``value`` if it can seed numpy's generators reproducibly.

    Allowed: None (fresh entropy), a non-negative int, a sequence of non-negative ints,
    a :class:`numpy.random.SeedSequence`; with ``generators``, also a
    :class:`numpy.random.Generator` or BitGenerator (what ``default_rng`` accepts).
    """
    if value is None or isinstance(value, np.random.SeedSequence):
        return value
    if generators and isinstance(value, (np.random.Generator, np.random.BitGenerator)):
        return value
    if _is_integer(value) and int(value) >= 0:
        return value
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        items = list(np.asarray(value, dtype=object).ravel())
        if items and all(_is_integer(v) and int(v) >= 0 for v in items):
            return value
    allowed = ["None", "a non-negative int", "a sequence of non-negative ints",
               "a numpy.random.SeedSequence"]
    if generators:
        allowed.append("a numpy.random.Generator")
    raise InvalidArgumentError(
        f"{name} must be {', '.join(allowed[:-1])} or {allowed[-1]}; got {shown(value)}")


def check_callable(name: str, value: object, signature: str) -> Callable[..., Any] | None:
    """None, or ``value`` if it can be called (``signature`` says how it is called)."""
    if value is None or callable(value):
        return value
    raise DataTypeError(
        f"{name} must be a function {signature} or None, got {shown(value)} ({_kind(value)})")


def check_name(name: str, value: object, optional: bool = False) -> str | None:
    """A string (or None when ``optional``)."""
    if isinstance(value, str) or (optional and value is None):
        return value
    allowed = "a name (a string)" + (" or None" if optional else "")
    raise DataTypeError(f"{name} must be {allowed}, got {shown(value)} ({_kind(value)})")


def check_grouping(value: object) -> str | tuple[str, ...]:
    """A grouping factor's name, or a tuple of names (an interaction of factors)."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return value
    raise DataTypeError(
        f"grouping must be a grouping factor's name or a tuple of names, got "
        f"{shown(value)} ({_kind(value)})")
