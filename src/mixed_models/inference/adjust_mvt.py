"""emmeans' ``"mvt"`` adjustment: the exact distribution of the largest |t| of a family of
contrasts, the t statistics being jointly multivariate t with the contrasts' correlation.

For a family with correlation matrix R of rank r, write the t statistics as
T = A Z / s with A A' = R (A is m x r), Z standard normal in r dimensions and s^2 an
independent chi^2_df / df (s = 1 for infinite df). With Z = rho U (U uniform on the unit
sphere, rho^2 a chi^2_r), max_j |T_j| = g(U) rho / s with g(U) = max_j |a_j' U|, and
rho^2 / r divided by s^2 is an F(r, df) variable independent of U. Hence

    P(max_j |T_j| <= c) = E_U[ F_{r, df}( c^2 / (r g(U)^2) ) ],

an average over directions of a smooth function, estimated by randomized quasi-Monte
Carlo (scrambled Sobol points, fixed seed, so the same call gives the same number). R
may be singular (pairwise contrasts of k means have rank k - 1). The critical value is
the c where that probability equals the level, solved on the same points.

The degrees of freedom are emmeans' own integer ones (at least 1, rounded down after
adding 0.25, infinite above 9999), which it passes to mvtnorm; the p-values and critical
values here agree with it to the Monte-Carlo error of its default integration (1e-3) and
with a fine integration of mvtnorm to about 1e-5 (the standard error here, a few 1e-6,
is in ``MVT_SE`` of the last call's family, for tests).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats
from scipy.stats import qmc

# 2^LOG2_POINTS directions per replicate, REPLICATES independently scrambled replicates
LOG2_POINTS = 16
REPLICATES = 4
SEED = 20240607
RANK_TOL = 1e-9
LOG_RANGE, GRID = 60.0, 120_001


def emmeans_df(df: float) -> float:
    """The integer df emmeans gives mvtnorm (inf for the normal limit)."""
    if not np.isfinite(df) or df > 9999:
        return np.inf
    return float(np.floor(max(1.0, df) + 0.25))


def _factor(corr: np.ndarray) -> np.ndarray:
    """A with A A' = corr, one column per positive eigenvalue, lower trapezoidal with
    a non-negative diagonal: the eigenvectors of a repeated eigenvalue (pairwise
    contrasts of balanced means) are any rotation within their space, and the quasi-
    random directions are not rotation invariant, so the rotation is fixed (by a QR
    factorization) for the estimate not to move with the rounding of ``corr``."""
    values, vectors = np.linalg.eigh((corr + corr.T) / 2.0)
    keep = values > RANK_TOL * max(values.max(), 1.0)
    b = vectors[:, keep] * np.sqrt(values[keep])
    _, r = np.linalg.qr(b.T)
    signs = np.where(np.diag(r) < 0.0, -1.0, 1.0)
    return r.T * signs


def _directions(r: int) -> list[np.ndarray]:
    """Scrambled Sobol points mapped to the unit sphere in r dimensions, per replicate."""
    out = []
    for rep in range(REPLICATES):
        points = qmc.Sobol(r, scramble=True, seed=SEED + rep).random_base2(LOG2_POINTS)
        z = stats.norm.ppf(np.clip(points, 1e-15, 1 - 1e-15))
        out.append(z / np.linalg.norm(z, axis=1, keepdims=True))
    return out


class MaxAbsT:
    """The distribution of max_j |T_j| for one family (correlation ``corr``, ``df``)."""

    def __init__(self, corr: np.ndarray, df: float) -> None:
        a = _factor(np.asarray(corr, dtype=float))
        self.rank = a.shape[1]
        self.df = df
        self._log_inv_g2 = [-2.0 * np.log(np.max(np.abs(u @ a.T), axis=1))
                            for u in _directions(self.rank)]
        # P(F <= x / r) (or chi^2_r <= x) tabulated on log x: each cdf is then one
        # interpolation per direction; the grid step bounds the error below 1e-6
        self._grid = np.linspace(-LOG_RANGE, LOG_RANGE, GRID)
        x = np.exp(self._grid)
        r = self.rank
        self._table = special.fdtr(r, df, x / r) if np.isfinite(df) else special.chdtr(r, x)

    def _by_replicate(self, c: float) -> np.ndarray:
        if c == 0:
            return np.zeros(len(self._log_inv_g2))
        log_x = 2.0 * np.log(c)
        return np.array([np.interp(log_x + g, self._grid, self._table).mean()
                         for g in self._log_inv_g2])

    def cdf(self, c: float) -> float:
        """P(max_j |T_j| <= c)."""
        return float(self._by_replicate(abs(c)).mean())

    def standard_error(self, c: float) -> float:
        """The Monte-Carlo standard error of :meth:`cdf` at c (spread of replicates)."""
        values = self._by_replicate(abs(c))
        return float(values.std(ddof=1) / np.sqrt(len(values)))

    def quantile(self, level: float) -> float:
        """The c with ``cdf(c) = level``."""
        high = 2.0
        while self.cdf(high) < level:
            high *= 2.0
        return float(optimize.brentq(lambda c: self.cdf(c) - level, 0.0, high, xtol=1e-9))


def mvt_p(t: np.ndarray, df: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Adjusted two-sided p-values: 1 - P(max |T_j| <= |t_i|), each with its own df."""
    cache: dict[float, MaxAbsT] = {}
    out = []
    for ti, di in zip(t, df):
        d = emmeans_df(di)
        dist = cache.setdefault(d, MaxAbsT(corr, d))
        out.append(1.0 - dist.cdf(ti))
    return np.array(out)


def mvt_critical(df: np.ndarray, corr: np.ndarray, level: float) -> np.ndarray:
    """The equicoordinate critical value at ``level`` for each estimate's df."""
    cache: dict[float, float] = {}
    out = []
    for di in df:
        d = emmeans_df(di)
        if d not in cache:
            cache[d] = MaxAbsT(corr, d).quantile(level)
        out.append(cache[d])
    return np.array(out)
