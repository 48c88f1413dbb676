"""Multiplicity adjustments of a family of t tests, as emmeans applies them.

Each adjustment gives adjusted p-values and the critical value of the family's
confidence intervals:

- ``"tukey"``: the studentized range of ``k`` means (p = P(Q > sqrt(2) |t|), critical
  value q(level) / sqrt(2)); only for the pairwise comparisons of one family of means;
- ``"dunnettx"``: emmeans' closed-form approximation to Dunnett's distribution of the
  largest of ``m`` treatment-versus-control t statistics: a mix, weighted (m - 1)/m and
  1/m, of the Tukey distribution of the number of means with m pairs and the Sidak
  bound (emmeans' default for ``"trt.vs.ctrl"``);
- ``"sidak"``: 1 - (1 - p)^m; intervals at level^(1/m);
- ``"bonferroni"``: min(1, m p); intervals at 1 - (1 - level) / m;
- ``"holm"``: Holm's step-down p-values; intervals by Bonferroni (emmeans cannot adjust
  intervals by Holm);
- ``"none"``.

Unstable: R's ``ptukey`` is accurate to about 1e-9 absolute, so p-values far in the tail
differ from R's by that much; emmeans finds the ``dunnettx`` critical value to 5e-4 only,
here it is solved to full precision.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from mixed_models.errors import InvalidArgumentError

ADJUSTMENTS = ("tukey", "dunnettx", "sidak", "holm", "bonferroni", "none")
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
    if adjust == "dunnettx":
        return np.array([1.0 - _dunnettx_cdf(abs(ti), m, d) for ti, d in zip(t, df)])
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
    if adjust == "dunnettx":
        return np.array([_dunnettx_quantile(level, m, d) for d in df])
    if adjust == "sidak":
        alpha = 1.0 - level ** (1.0 / m)
    elif adjust in ("bonferroni", "holm"):
        alpha = (1.0 - level) / m
    else:
        alpha = 1.0 - level
    return stats.t.ppf(1.0 - alpha / 2.0, df)


def _dunnettx_cdf(x: float, m: int, df: float) -> float:
    """emmeans' approximate P(max |t_i| <= x) of m comparisons with one control."""
    if m <= 1:
        return float(1.0 - 2.0 * stats.t.sf(x, df))
    means = (1.0 + np.sqrt(1.0 + 8.0 * m)) / 2.0  # means whose pairs number m
    weight = (m - 1.0) / m
    tukey = stats.studentized_range.cdf(np.sqrt(2.0) * x, means, _range_df(np.array(df)))
    sidak = stats.f.cdf(x * x, 1, df) ** m
    return float(weight * tukey + (1.0 - weight) * sidak)


def _dunnettx_quantile(level: float, m: int, df: float) -> float:
    """The x with :func:`_dunnettx_cdf` (x) = level."""
    if m <= 1:
        return float(stats.t.ppf(0.5 + level / 2.0, df))
    means = (1.0 + np.sqrt(1.0 + 8.0 * m)) / 2.0
    tukey = stats.studentized_range.ppf(level, means, _range_df(np.array(df))) / np.sqrt(2.0)
    sidak = np.sqrt(stats.f.ppf(level ** (1.0 / m), 1, df))
    low, high = sorted((float(tukey), float(sidak)))
    if high - low < 1e-12:
        return low
    return float(optimize.brentq(lambda x: _dunnettx_cdf(x, m, df) - level,
                                 low * 0.999, high * 1.001, xtol=1e-12))
