"""A start for Newton's method from moments of per-level least-squares fits.

lme4 starts every term at lambda = I; a term whose random effects are far larger or
smaller than the noise then costs Newton's method a few overshooting, backtracked steps
and Hessians before it is near the optimum (sleepstudy: 23 evaluations, 10 of them on
the way there). For a model with one vector-valued term the cross-products already hold
what a method-of-moments guess needs: per level, the least-squares coefficients of the
fixed-effects residual on the term's columns estimate b_l plus noise of covariance
sigma^2 (Z_l' W Z_l)^-1, so their second moment less the average noise covariance
estimates the random effects' covariance.

Only for one term: with more, each term's moments on the whole residual overstate it
(crossed designs fitted that way took more evaluations, not fewer).

Unstable: where the guess is used follows measured evaluation counts.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core import kernels
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import CrossProducts

#: Eigenvalues of the guessed relative covariance below this share of its largest are
#: raised to it: a start on the boundary (a zero variance) would stall Newton's steps.
EIGEN_FLOOR = 1e-2
#: Per-level blocks whose determinant is below this share of their diagonal's product
#: (1 for orthogonal columns) do not separate the term's columns: left out.
SINGULAR = 1e-8


def moment_start(cp: CrossProducts, sigma: float | None,
                 compiled: bool = False) -> np.ndarray | None:
    """theta from per-level moments for a model whose only term is vector-valued with
    an unstructured or diagonal covariance; None for other models, or when the moments
    do not give a positive covariance. ``cp`` are the cross-products of the fixed
    effects' least-squares residual (the response's row holds Z_l' W r and r' W r).
    ``compiled``: by the compiled kernel (the same guess to rounding), for processes
    that use the kernels."""
    if len(cp.terms) != 1 or sigma is not None:
        return None
    term = cp.terms[0]
    cov = term.covariance
    if term.size < 2 or not isinstance(cov, PatternCovariance):
        return None
    gram = cp.a11
    cross = cp.ax1[cp.n_fixed].reshape(term.n_levels, term.size)
    if compiled:
        return kernels.moment_theta(gram, cross, cp.avv[-1, -1], cp.n_obs, cp.n_fixed,
                                    cov.rows, cov.cols, cov.linked(), EIGEN_FLOOR, SINGULAR)
    scale = np.prod(np.diagonal(gram, axis1=1, axis2=2), axis=1)
    ok = scale > 0
    ok[ok] = np.linalg.det(gram[ok]) > SINGULAR * scale[ok]
    m = int(ok.sum())
    df = cp.n_obs - cp.n_fixed - term.size * m
    if m < term.size + 1 or df <= 0:
        return None
    inverse = np.linalg.inv(gram[ok])
    coef = np.einsum("lst,lt->ls", inverse, cross[ok])
    sigma2 = (float(cp.avv[-1, -1]) - float(np.sum(coef * cross[ok]))) / df
    if not (np.isfinite(sigma2) and sigma2 > 0):
        return None
    relative = (coef.T @ coef / m - sigma2 * inverse.mean(axis=0)) / sigma2
    return _pattern_theta(term.covariance, relative)


def _pattern_theta(covariance: PatternCovariance, relative: np.ndarray) -> np.ndarray | None:
    """theta whose lam lam' is ``relative`` on the pattern's linked entries, its
    eigenvalues raised to EIGEN_FLOOR of the largest; None when none is positive."""
    linked = covariance.linked()
    masked = np.where(linked, relative, 0.0)
    values, vectors = np.linalg.eigh(0.5 * (masked + masked.T))
    top = float(values[-1])
    if not (np.isfinite(top) and top > 0):
        return None
    raised = (vectors * np.maximum(values, EIGEN_FLOOR * top)) @ vectors.T
    lower = np.linalg.cholesky(np.where(linked, raised, 0.0))
    return lower[covariance.rows, covariance.cols]
