"""What a design reads from a parsed formula alone, worked out once per formula.

:func:`mixed_models.formula.parse_formula` returns the same immutable
:class:`~mixed_models.formula.terms.ParsedFormula` for the same text, so a formula fitted
again (simulations, bootstraps, one formula over many data sets) can reuse what the
design derived from it: the columns it reads, the shape of its pieces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")

# Formulas remembered per function; the oldest half is forgotten beyond it.
MAX_REMEMBERED = 256


def per_object(derive: Callable[[Key], Value]) -> Callable[[Key], Value]:
    """``derive`` remembered per argument object (by identity: the argument is kept with
    the value, so its id cannot be reused while remembered). Errors are not remembered:
    they are raised on every call. The value is shared: it must not be changed."""
    memo: dict[int, tuple[Key, Value]] = {}

    @functools.wraps(derive)
    def remembered(key: Key) -> Value:
        hit = memo.get(id(key))
        if hit is not None and hit[0] is key:
            return hit[1]
        value = derive(key)
        if len(memo) >= MAX_REMEMBERED:
            for old in list(memo)[:MAX_REMEMBERED // 2]:
                del memo[old]
        memo[id(key)] = (key, value)
        return value

    return remembered
