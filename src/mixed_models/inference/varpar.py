"""Asymptotic covariance of the variance parameters, as lmerTest computes it.

The variance parameters are ``varpar = (theta, sigma)``. lmerTest takes the Hessian of
the deviance as a function of them (the REML criterion for a REML fit, beta profiled
out, sigma not), inverts it (a Moore-Penrose inverse over the eigenvalues above 1e-8)
and doubles it: that is the asymptotic covariance of varpar. Satterthwaite's degrees
of freedom also need the derivative of vcov(beta) = sigma^2 (X'V^-1X)^-1 with respect
to each variance parameter. Both are computed here by Richardson-extrapolated finite
differences with numDeriv's steps, and cached on the model.

Unstable: the cache lives on the model as a private attribute.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from scipy.linalg import solve_triangular

from mixed_models.core.factor import BlockedCholesky, profiled_objective
from mixed_models.core.dense import DenseFactor
from mixed_models.core.general import GeneralProblem
from mixed_models.core.problem import LmmProblem
from mixed_models.fitted.record import FittedModel
from mixed_models.errors import ConvergenceWarning
from mixed_models.inference import numdiff

EIGEN_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class VarParCovariance:
    """What Satterthwaite's method needs from a fitted model.

    Attributes
    ----------
    varpar
        theta followed by sigma (sigma is absent when it was held fixed).
    hessian
        Hessian of the deviance (REML criterion for REML fits) at varpar.
    vcov_varpar
        Asymptotic covariance of varpar: twice the (pseudo-)inverse Hessian.
    jacobian
        d vcov(beta) / d varpar_k, shape (p, p, len(varpar)).
    vcov_beta
        vcov(beta) at the estimate.
    """

    varpar: np.ndarray
    hessian: np.ndarray
    vcov_varpar: np.ndarray
    jacobian: np.ndarray
    vcov_beta: np.ndarray


T = TypeVar("T")


def cached(model: FittedModel, key: str, build: Callable[[FittedModel], T]) -> T:
    """A per-model cache for costly inference quantities."""
    store = model.memo
    if key not in store:
        store[key] = build(model)
    return store[key]


def beta_cov_unscaled(lxx: np.ndarray) -> np.ndarray:
    """(X'V^-1X)^-1 (without sigma^2) from the fixed-effects block L_XX of a factor."""
    inv = solve_triangular(lxx, np.eye(lxx.shape[0]), lower=True)
    return inv.T @ inv


def _own_factor(problem: LmmProblem | GeneralProblem):
    """A factor of the problem's own (the fit's stays at the optimum) and a function
    returning its L_XX block at the factor's current theta."""
    if problem.has_terms:
        factor = BlockedCholesky(problem.cp)
        qr, p = problem.cp.q_rest, problem.cp.n_fixed
        return factor, lambda: factor.rest_factor[qr:qr + p, qr:qr + p]
    factor = DenseFactor(problem.cp, problem.factor.lambdat, problem.n_theta)
    return factor, lambda: factor.blocks()[2]


def varpar_covariance(model: FittedModel) -> VarParCovariance:
    """lmerTest's ``vcov_varpar`` and ``Jac_list`` for a fitted model (cached)."""
    return cached(model, "varpar", _compute)


def _compute(model: FittedModel) -> VarParCovariance:
    problem = model.problem
    factor, lxx = _own_factor(problem)
    fixed_sigma = problem.sigma
    theta = model.theta
    k = len(theta)
    varpar = theta if fixed_sigma is not None else np.append(theta, model.sigma)

    def deviance(vp: np.ndarray) -> float:
        if not factor.update(vp[:k]):
            return np.nan
        sigma = fixed_sigma if fixed_sigma is not None else vp[k]
        return profiled_objective(factor, problem.reml, sigma)

    def unscaled(th: np.ndarray) -> np.ndarray:
        if not factor.update(th):
            return np.full((problem.n_fixed,) * 2, np.nan)
        return beta_cov_unscaled(lxx())

    hess = numdiff.hessian(deviance, varpar)
    vcov_varpar = 2.0 * _pseudo_inverse(hess)
    cov0 = unscaled(theta)
    sigma2 = model.sigma2
    jac_theta = numdiff.jacobian(unscaled, theta) * sigma2
    parts = [jac_theta]
    if fixed_sigma is None:
        parts.append((2.0 * model.sigma * cov0)[:, :, None])
    jac = np.concatenate(parts, axis=2)
    return VarParCovariance(varpar, hess, vcov_varpar, jac, sigma2 * cov0)


def _pseudo_inverse(hess: np.ndarray) -> np.ndarray:
    """Inverse over the eigenvalues above EIGEN_TOL, warning about the others."""
    values, vectors = np.linalg.eigh(hess)
    if np.any(~np.isfinite(values)):
        raise FloatingPointError("the Hessian of the deviance is not finite at the estimate")
    negative = values < -EIGEN_TOL
    if np.any(negative):
        warnings.warn(
            f"the Hessian of the deviance over (theta, sigma) has {int(negative.sum())} "
            f"negative eigenvalue(s) ({', '.join(f'{v:.1e}' for v in values[negative])}): "
            "the fit may not be at a minimum, so the degrees of freedom are doubtful",
            ConvergenceWarning, stacklevel=4)
    keep = values > EIGEN_TOL
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
