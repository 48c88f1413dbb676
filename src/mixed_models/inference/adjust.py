"""Multiplicity adjustments of a family of t tests, as emmeans applies them.

Each adjustment gives adjusted p-values and the critical value of the family's
confidence intervals:

- ``"tukey"``: the studentized range of ``k`` means (p = P(Q > sqrt(2) |t|), critical
  value q(level) / sqrt(2)); only for the pairwise comparisons of one family of means;
- ``"dunnettx"``: emmeans' closed-form approximation to Dunnett's distribution of the
  largest of ``m`` treatment-versus-control t statistics: a mix, weighted (m - 1)/m and
  1/m, of the Tukey distribution of the number of means with m pairs and the Sidak
  bound (emmeans' default for ``"trt.vs.ctrl"``);
- ``"mvt"``: the exact distribution of the largest |t| of the family, jointly multivariate
  t with the contrasts' correlation (:mod:`mixed_models.inference.adjust_mvt`; Monte-Carlo
  error about 1e-5, emmeans' own about 1e-3);
- ``"scheffe"``: p = P(F(r, df) > t^2 / r), critical value sqrt(r F_r,df(level)), r the
  rank of the family's contrasts in the fixed effects (k - 1 for the pairs of k means);
- ``"sidak"``: 1 - (1 - p)^m; intervals at level^(1/m);
- ``"bonferroni"``: min(1, m p); intervals at 1 - (1 - level) / m;
- ``"holm"``, ``"hochberg"``, ``"hommel"``: step-down / step-up family-wise p-values;
  ``"bh"`` (Benjamini-Hochberg, the false discovery rate) and ``"by"``
  (Benjamini-Yekutieli): FDR-adjusted p-values; all five with Bonferroni intervals
  (emmeans cannot adjust intervals by them);
- ``"none"``.

Unstable: R's ``ptukey`` is accurate to about 1e-9 absolute, so p-values far in the tail
differ from R's by that much; emmeans finds the ``dunnettx`` critical value to 5e-4 only,
here it is solved to full precision.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from mixed_models.errors import InvalidArgumentError

ADJUSTMENTS = ("tukey", "dunnettx", "mvt", "scheffe", "sidak", "bonferroni", "holm",
               "hochberg", "hommel", "bh", "by", "none")
# p-value-only adjustments: their intervals are Bonferroni's
STEPWISE = ("holm", "hochberg", "hommel", "bh", "by")
# scipy's studentized range integrates over df; beyond this it is the normal limit.
INF_DF = 1e6


def check_adjust(adjust: str) -> str:
    """The adjustment's name in lower case, or an error listing the allowed ones."""
    name = adjust.lower() if isinstance(adjust, str) else adjust
    if name not in ADJUSTMENTS:
        hint = " (the false discovery rate is 'bh')" if name == "fdr" else ""
        raise InvalidArgumentError(f"adjust must be one of {ADJUSTMENTS}, got {adjust!r}{hint}")
    return name


def effective(adjust: str, m: int) -> str:
    """A family of one estimate needs no adjustment (except Scheffe's, which depends on
    the rank only), as emmeans."""
    return "none" if m == 1 and adjust != "scheffe" else adjust


def _range_df(df: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(df), df, INF_DF)


def adjusted_p(t: np.ndarray, df: np.ndarray, adjust: str, k: int,
               corr: np.ndarray | None = None, rank: int | None = None) -> np.ndarray:
    """Adjusted two-sided p-values of the t statistics ``t`` (one family); ``k`` is the
    number of means compared (Tukey), ``corr`` the estimates' correlation (mvt),
    ``rank`` the rank of the family's contrasts (Scheffe)."""
    t, df = np.asarray(t, dtype=float), np.asarray(df, dtype=float)
    p = 2.0 * stats.t.sf(np.abs(t), df)
    m = len(t)
    adjust = effective(adjust, m)
    if adjust == "none" or m == 0:
        return p
    if adjust == "tukey":
        return np.array([stats.studentized_range.sf(np.sqrt(2.0) * abs(ti), k, d)
                         for ti, d in zip(t, _range_df(df))])
    if adjust == "dunnettx":
        return np.array([1.0 - _dunnettx_cdf(abs(ti), m, d) for ti, d in zip(t, df)])
    if adjust == "mvt":
        from mixed_models.inference.adjust_mvt import mvt_p

        return mvt_p(t, df, corr)
    if adjust == "scheffe":
        return stats.f.sf(t * t / rank, rank, df)
    if adjust == "sidak":
        return 1.0 - (1.0 - p) ** m
    if adjust == "bonferroni":
        return np.minimum(1.0, m * p)
    return _stepwise(p, adjust)


def _stepwise(p: np.ndarray, adjust: str) -> np.ndarray:
    """Holm, Hochberg, Hommel, Benjamini-Hochberg or Benjamini-Yekutieli p-values."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    rank = np.arange(1, m + 1)
    if adjust == "holm":
        sorted_adj = np.maximum.accumulate(ranked * (m - rank + 1))
    elif adjust == "hochberg":
        sorted_adj = np.minimum.accumulate((ranked * (m - rank + 1))[::-1])[::-1]
    elif adjust in ("bh", "by"):
        scale = np.sum(1.0 / rank) if adjust == "by" else 1.0
        sorted_adj = np.minimum.accumulate((ranked * scale * m / rank)[::-1])[::-1]
    else:
        sorted_adj = _hommel(ranked)
    out = np.empty(m)
    out[order] = np.minimum(1.0, sorted_adj)
    return out


def _hommel(ranked: np.ndarray) -> np.ndarray:
    """Hommel's adjusted p-values of increasing p-values (Wright's formulation): the
    largest, over subset sizes j, of the Simes bound of the j largest p-values (for the
    hypotheses among them) or j p_i (for those outside)."""
    m = len(ranked)
    out = np.full(m, np.min(m * ranked / np.arange(1, m + 1)))
    for j in range(m - 1, 1, -1):
        tail = ranked[m - j:]
        bound = np.min(j * tail / np.arange(1, j + 1))
        inside = np.full(m, bound)
        inside[:m - j] = np.minimum(j * ranked[:m - j], bound)
        out = np.maximum(out, inside)
    return np.maximum(out, ranked)


def critical_values(df: np.ndarray, adjust: str, level: float, k: int, m: int,
                    corr: np.ndarray | None = None, rank: int | None = None) -> np.ndarray:
    """The multiplier of the SE in each interval of the family (``m`` estimates)."""
    df = np.asarray(df, dtype=float)
    adjust = effective(adjust, m)
    if adjust == "mvt":
        from mixed_models.inference.adjust_mvt import mvt_critical

        return mvt_critical(df, corr, level)
    if adjust == "scheffe":
        return np.sqrt(rank * stats.f.ppf(level, rank, df))
    if adjust == "tukey":
        return np.array([stats.studentized_range.ppf(level, k, d) / np.sqrt(2.0)
                         for d in _range_df(df)])
    if adjust == "dunnettx":
        return np.array([_dunnettx_quantile(level, m, d) for d in df])
    if adjust == "sidak":
        alpha = 1.0 - level ** (1.0 / m)
    elif adjust == "bonferroni" or adjust in STEPWISE:
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
    sidak = (1.0 - 2.0 * stats.t.sf(x, df)) ** m  # the F(1, df) cdf of x², finite at df = inf
    return float(weight * tukey + (1.0 - weight) * sidak)


def _dunnettx_quantile(level: float, m: int, df: float) -> float:
    """The x with :func:`_dunnettx_cdf` (x) = level."""
    if m <= 1:
        return float(stats.t.ppf(0.5 + level / 2.0, df))
    means = (1.0 + np.sqrt(1.0 + 8.0 * m)) / 2.0
    tukey = stats.studentized_range.ppf(level, means, _range_df(np.array(df))) / np.sqrt(2.0)
    sidak = stats.t.ppf(0.5 + level ** (1.0 / m) / 2.0, df)
    low, high = sorted((float(tukey), float(sidak)))
    if high - low < 1e-12:
        return low
    return float(optimize.brentq(lambda x: _dunnettx_cdf(x, m, df) - level,
                                 low * 0.999, high * 1.001, xtol=1e-12))
