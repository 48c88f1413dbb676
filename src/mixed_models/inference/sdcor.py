"""Variance parameters on the standard-deviation / correlation scale, with names.

lme4 profiles and reports intervals for the SDs and correlations of the random effects
and for sigma (its ``.sig01``... or ``sd_(Intercept)|Subject`` names). Ours follow
``var_corr()``: ``sd_intercept|Subject``, ``cor_Days.intercept|Subject`` (the
correlation of the row effect ``Days`` with the column effect ``intercept``),
``sd_Days|Subject``, then ``sigma``; within a term they follow theta's order
(column-major over the lower triangle), terms in the model's order.

Only unstructured and diagonal terms (``(x | g)``, ``(x || g)``) have this
parameterization here; other covariance structures are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mixed_models.core.covariance import PatternCovariance
from mixed_models.fitted.record import FittedModel
from mixed_models.errors import ModelError

if TYPE_CHECKING:
    pass

PSD_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class SdCorScale:
    """The map between theta and the SD/correlation parameters of a model.

    Attributes
    ----------
    patterns
        Each term's covariance pattern (theta positions in lambda).
    names
        One name per theta entry: ``sd_<column>|<group>`` or
        ``cor_<row>.<column>|<group>``.
    is_sd
        True for SD entries, False for correlations.
    """

    patterns: tuple[PatternCovariance, ...]
    names: tuple[str, ...]
    is_sd: np.ndarray

    @property
    def lower(self) -> np.ndarray:
        """0 for SDs, -1 for correlations."""
        return np.where(self.is_sd, 0.0, -1.0)

    @property
    def upper(self) -> np.ndarray:
        """inf for SDs, 1 for correlations."""
        return np.where(self.is_sd, np.inf, 1.0)

    def from_theta(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """SDs and correlations (in theta's order) at theta and sigma."""
        out, start = [], 0
        for pat in self.patterns:
            lam = pat.lam(theta[start:start + pat.n_theta])
            cov = lam @ lam.T
            sd = np.sqrt(np.diag(cov))
            with np.errstate(invalid="ignore", divide="ignore"):
                cor = np.where(np.outer(sd, sd) > 0, cov / np.outer(sd, sd), 0.0)
            out.append(np.where(pat.rows == pat.cols, sigma * sd[pat.rows], cor[pat.rows, pat.cols]))
            start += pat.n_theta
        return np.concatenate(out) if out else np.zeros(0)

    def to_theta(self, values: np.ndarray, sigma: float) -> np.ndarray | None:
        """theta for SDs/correlations and sigma; None when the correlations are not a
        valid (positive semidefinite) correlation matrix."""
        out, start = [], 0
        for pat in self.patterns:
            v = values[start:start + pat.n_theta]
            diag = pat.rows == pat.cols
            sd = np.zeros(pat.size)
            sd[pat.rows[diag]] = v[diag] / sigma
            cor = np.eye(pat.size)
            cor[pat.rows[~diag], pat.cols[~diag]] = v[~diag]
            cor[pat.cols[~diag], pat.rows[~diag]] = v[~diag]
            chol = psd_cholesky(cor)
            if chol is None:
                return None
            out.append((sd[:, None] * chol)[pat.rows, pat.cols])
            start += pat.n_theta
        return np.concatenate(out) if out else np.zeros(0)


def psd_cholesky(a: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of a positive semidefinite matrix (zero columns for zero
    pivots); None when the matrix is not positive semidefinite."""
    n = len(a)
    c = np.zeros_like(a, dtype=float)
    for j in range(n):
        pivot = a[j, j] - c[j, :j] @ c[j, :j]
        if pivot < -PSD_TOL:
            return None
        c[j, j] = np.sqrt(max(pivot, 0.0))
        rest = a[j + 1:, j] - c[j + 1:, :j] @ c[j, :j]
        if c[j, j] > 0:
            c[j + 1:, j] = rest / c[j, j]
        elif np.any(np.abs(rest) > np.sqrt(PSD_TOL)):
            return None
    return c


def sdcor_scale(model: FittedModel) -> SdCorScale:
    """The SD/correlation parameters of a model fitted from a formula."""
    patterns, names, is_sd = [], [], []
    random = model.structure.require_design(
        "a profile or an interval of the variance parameters").random
    for design, term in zip(random, model.problem.terms):
        cov = term.covariance
        if not isinstance(cov, PatternCovariance):
            raise ModelError(
                f"the random effects of '{design.group}' have a {cov.kind}() covariance "
                "structure; profiles and SD/correlation intervals are available for "
                "(x | g) and (x || g) terms only")
        patterns.append(cov)
        cols = design.columns
        for r, c in zip(cov.rows, cov.cols):
            is_sd.append(r == c)
            names.append(f"sd_{cols[r]}|{design.group}" if r == c
                         else f"cor_{cols[r]}.{cols[c]}|{design.group}")
    return SdCorScale(tuple(patterns), tuple(names), np.array(is_sd, dtype=bool))
