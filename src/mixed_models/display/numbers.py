"""Number formatting shared by the text, HTML and Markdown renderings.

Columns are formatted as a whole (as R's ``format``): every entry of a column gets the
same number of decimals, enough for the smallest nonzero entry to show ``digits``
significant digits, so that the decimal points line up. The exact choices are not part
of the API and may change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

MAX_DECIMALS = 7
MAX_FIXED = 1e9
MAX_RANGE = 1e5  # wider ranges of magnitude read better in scientific notation (as R)
P_FLOOR = 2.2e-16  # R's .Machine$double.eps: p-values below it are shown as "< 2e-16"


def _finite(values: Iterable[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def decimals_for(values: Iterable[float], digits: int = 4) -> int | None:
    """Decimals that give the smallest nonzero |value| ``digits`` significant digits.

    None when fixed notation would be unreadable: values too large, too small, or of
    magnitudes more than ``MAX_RANGE`` apart.
    """
    finite = [abs(v) for v in _finite(values)]
    nonzero = [v for v in finite if v > 0]
    if not nonzero:
        return 0
    if max(nonzero) >= MAX_FIXED or max(nonzero) > MAX_RANGE * min(nonzero):
        return None
    smallest = min(nonzero)
    needed = digits - 1 - math.floor(math.log10(smallest))
    if needed > MAX_DECIMALS:
        return None
    return max(needed, 0)


def format_column(values: Sequence[float], digits: int = 4,
                  decimals: int | None = None) -> list[str]:
    """Format numbers with a common number of decimals (scientific when needed).

    Missing values (None, NaN) become empty strings.
    """
    if decimals is None:
        decimals = decimals_for(values, digits)
    return [_format_one(v, decimals, digits) for v in values]


def _format_one(value: float | None, decimals: int | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = float(value)
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if decimals is None:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{decimals}f}"


def format_pvalues(values: Sequence[float]) -> list[str]:
    """p-values with 3 significant digits; below 2.2e-16 as ``< 2e-16`` (as R)."""
    out = []
    for p in values:
        if p is None or math.isnan(p):
            out.append("")
        elif p < P_FLOOR:
            out.append("< 2e-16")
        else:
            out.append(f"{p:.3g}")
    return out


def format_number(value: float, digits: int = 4) -> str:
    """One number with ``digits`` significant digits (no trailing zeros dropped)."""
    return format_column([value], digits)[0]


def abbreviate(name: str, length: int = 6) -> str:
    """Shorten a name for a narrow column header, as R's ``abbreviate``.

    Drops lower-case vowels from the end, then "_" and ".", then lower-case letters,
    then truncates; the first character always stays.
    """
    chars = list(name.replace(" ", ""))
    for removable in ("aeiou", "_.", "abcdefghijklmnopqrstuvwxyz"):
        i = len(chars) - 1
        while len(chars) > length and i > 0:
            if chars[i] in removable:
                del chars[i]
            i -= 1
    return "".join(chars[:length])
