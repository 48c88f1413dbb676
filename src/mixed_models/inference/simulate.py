"""Simulating new responses from a fitted model (the parametric bootstrap's first step).

The simulation is the spherical one of lme4 and MixedModels.jl:

    y* = X beta + offset + sigma * (Z Lambda u + e / sqrt(w)),   u, e standard normal,

so b = sigma Lambda u has covariance sigma^2 Lambda Lambda' even when Lambda is singular
(a zero variance or a correlation of +-1), where the gem's Cholesky factor of that
covariance fails.
"""

from __future__ import annotations


import numpy as np

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models._validate import check_seed


def simulate_response(model: FittedModel, rng: np.random.Generator) -> np.ndarray:
    """One response vector drawn from the fitted model, for the rows of the fit.

    Parameters
    ----------
    model
        A fitted model; its estimates (beta, theta, sigma) are the simulation's
        parameters.
    rng
        The random generator; the draws are the random effects' u (term by term, level
        by level) and then the residuals.

    Returns
    -------
    numpy.ndarray
        One value per observation used in the fit (``model.n_obs``).
    """
    model = as_record(model)
    model.structure.require_rows("a simulated response")
    problem = model.problem
    est = model.estimates
    lams = problem.factor.lambdas(model.theta)
    b = [rng.standard_normal((b_hat.shape[0], lam.shape[1])) @ lam.T
         for b_hat, lam in zip(est.b, lams)]
    noise = rng.standard_normal(problem.n_obs)
    if problem.weights is not None:
        noise = noise / np.sqrt(problem.weights)
    y = problem.x @ est.beta + model.sigma * (problem.random_part(b) + noise)
    if problem.offset is not None:
        y = y + problem.offset
    return y


def simulate_new_response(model: FittedModel, seed: int | np.random.SeedSequence | None = None
                          ) -> np.ndarray:
    """A new response drawn from the fitted model (the gem's ``simulate_new_response``).

    Parameters
    ----------
    model
        The fitted model.
    seed
        None, a non-negative int (or a sequence of them), a SeedSequence or a
        Generator (what :func:`numpy.random.default_rng` accepts); the same seed gives the
        same response.

    Returns
    -------
    numpy.ndarray
        One value per observation used in the fit (rows dropped for missing values
        get none).
    """
    model = as_record(model)
    return simulate_response(model, np.random.default_rng(check_seed(seed, generators=True)))
