"""Multiplicity adjustments of a family of t tests, as emmeans applies them.

Each adjustment gives adjusted p-values and the critical value of the family's
confidence intervals:

- ``"tukey"``: the studentized range of ``k`` means (p = P(Q > sqrt(2) |t|), critical
  value q(level) / sqrt(2)); only for the pairwise comparisons of one family of means;
- ``"sidak"``: 1 - (1 - p)^m; intervals at level^(1/m);
- ``"bonferroni"``: min(1, m p); intervals at 1 - (1 - level) / m;
- ``"holm"``: Holm's step-down p-values; intervals by Bonferroni (emmeans cannot adjust
  intervals by Holm);
- ``"none"``.

Unstable: R's ``ptukey`` is accurate to about 1e-9 absolute, so p-values far in the tail
differ from R's by that much.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from mixed_models.errors import InvalidArgumentError

ADJUSTMENTS = ("tukey", "sidak", "holm", "bonferroni", "none")
# scipy's studentized range integrates over df; beyond this it is the normal limit.
INF_DF = 1e6


def check_adjust(adjust: str) -> str:
    """The adjustment's name in lower case, or an error listing the allowed ones."""
    name = adjust.lower() if isinstance(adjust, str) else adjust
    if name not in ADJUSTMENTS:
        raise InvalidArgumentError(f"adjust must be one of {ADJUSTMENTS}, got {adjust!r}")
    return name


def _range_df(df: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(df), df, INF_DF)


def adjusted_p(t: np.ndarray, df: np.ndarray, adjust: str, k: int) -> np.ndarray:
    """Adjusted two-sided p-values of the t statistics ``t`` (one family); ``k`` is the
    number of means compared (Tukey)."""
    t, df = np.asarray(t, dtype=float), np.asarray(df, dtype=float)
    p = 2.0 * stats.t.sf(np.abs(t), df)
    m = len(t)
    if adjust == "none" or m == 0:
        return p
    if adjust == "tukey":
        return np.array([stats.studentized_range.sf(np.sqrt(2.0) * abs(ti), k, d)
                         for ti, d in zip(t, _range_df(df))])
    if adjust == "sidak":
        return 1.0 - (1.0 - p) ** m
    if adjust == "bonferroni":
        return np.minimum(1.0, m * p)
    order = np.argsort(p)
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


def critical_values(df: np.ndarray, adjust: str, level: float, k: int, m: int) -> np.ndarray:
    """The multiplier of the SE in each interval of the family (``m`` estimates)."""
    df = np.asarray(df, dtype=float)
    if adjust == "tukey":
        return np.array([stats.studentized_range.ppf(level, k, d) / np.sqrt(2.0)
                         for d in _range_df(df)])
    if adjust == "sidak":
        alpha = 1.0 - level ** (1.0 / m)
    elif adjust in ("bonferroni", "holm"):
        alpha = (1.0 - level) / m
    else:
        alpha = 1.0 - level
    return stats.t.ppf(1.0 - alpha / 2.0, df)
