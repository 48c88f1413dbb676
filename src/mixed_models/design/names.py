"""Column names in the gem's vocabulary: ``intercept``, ``Species_lvl_Human``, ``a:b``."""

from __future__ import annotations

import re

_LEVEL_RE = re.compile(r"^(?P<base>.*)\[(?:T\.)?(?P<level>.*)\]$", re.S)
_C_RE = re.compile(r"^C\(\s*`?(?P<name>[^,()`]+?)`?\s*(?:,.*)?\)$", re.S)


def split_interaction(name: str) -> list[str]:
    """Split a formulaic column name on the ':' that join factors (not inside [] or ())."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(name):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == ":" and depth == 0:
            parts.append(name[start:i])
            start = i + 1
    parts.append(name[start:])
    return parts


def _factor_name(part: str) -> str:
    if part == "Intercept":
        return "intercept"
    match = _LEVEL_RE.match(part)
    if not match:
        return part
    base = match.group("base")
    inner = _C_RE.match(base)
    if inner:
        base = inner.group("name").strip()
    return f"{base}_lvl_{match.group('level')}"


def gem_name(formulaic_name: str) -> str:
    """``Species[T.Human]`` -> ``Species_lvl_Human``; ``Intercept`` -> ``intercept``.

    Interactions keep their ':' between the converted parts.
    """
    return ":".join(_factor_name(p) for p in split_interaction(formulaic_name))


def gem_names(names: list[str]) -> list[str]:
    """Convert a list of formulaic column names, keeping them distinct."""
    out = [gem_name(n) for n in names]
    if len(set(out)) != len(out):  # a converted name met an existing one: keep formulaic's
        return list(names)
    return out


def level_label(value: object) -> str:
    """Text label of a grouping level: integers stay integers even if stored as floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
