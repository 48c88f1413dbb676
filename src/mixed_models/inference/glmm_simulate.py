"""New responses drawn from a fitted generalized linear mixed model.

The model is y | b ~ F(g^-1(X beta + offset + Z b)) with b = sigma Lambda u, u standard
normal and sigma lme4's ``sigma()`` (1 for binomial, Poisson and negative binomial; for
Gamma and inverse Gaussian theta is relative to it, as in lme4's ``VarCorr``). By default each simulation draws new u (lme4's
``simulate(use.u = FALSE)``); ``use_ran_ef=True`` keeps the conditional modes, so only
the conditional distribution of y given b is sampled.

The response is returned on the scale the fit uses: for the binomial the proportion of
successes out of the row's trials (the prior weights), so that a simulated column can
be refitted with the same weights; counts for Poisson and negative binomial; positive
values for Gamma and inverse Gaussian (dispersion phi = lme4's ``sigma()^2``, divided by
the prior weight).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixed_models._validate import check_seed
from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.record import FittedModel, as_record


def _generalized(model: object, what: str) -> FittedModel:
    record = as_record(model)
    if not record.is_generalized:
        raise ModelError(f"{what} needs a generalized linear mixed model (GLMM); for an LMM "
                         "use simulate_new_response")
    record.structure.require_rows(what)
    return record


def _check_nsim(nsim: object) -> int:
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise InvalidArgumentError(f"nsim must be a positive int, got {nsim!r}")
    return int(nsim)


def _binomial_trials(weights: np.ndarray) -> np.ndarray:
    trials = np.rint(weights)
    if np.any(np.abs(weights - trials) > 1e-8) or np.any(trials < 1):
        bad = weights[np.abs(weights - trials) > 1e-8][:3]
        raise ModelError(f"simulating a binomial response needs whole numbers of trials as "
                         f"weights, got values such as {bad}; non-integer prior weights "
                         "have no binomial distribution to draw from")
    return trials.astype(np.int64)


class _Sampler:
    """Draws y given the means mu of each row, for one family."""

    def __init__(self, record: FittedModel):
        problem = record.problem
        family = problem.family
        self.name = family.name
        weights = problem.core.weights
        if self.name in ("poisson", "negative.binomial") and not np.allclose(weights, 1.0):
            raise ModelError(f"simulating a {self.name} response with prior weights is not "
                             "defined (the weights have no place in its distribution); "
                             "refit without weights to simulate")
        self.trials = _binomial_trials(weights) if self.name == "binomial" else None
        self.weights = weights
        self.shape = float(getattr(family, "shape", np.nan))
        self.phi = float(problem.sigma2_value())

    def __call__(self, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.name == "binomial":
            return rng.binomial(self.trials, np.clip(mu, 0.0, 1.0)) / self.trials
        if self.name == "poisson":
            return rng.poisson(mu).astype(float)
        if self.name == "negative.binomial":
            k = self.shape
            return rng.negative_binomial(k, k / (k + mu)).astype(float)
        shape = self.weights / self.phi
        if self.name == "Gamma":
            return rng.gamma(shape, mu / shape)
        if self.name == "inverse.gaussian":
            return rng.wald(mu, shape)
        raise ModelError(f"simulating from the {self.name} family is not available")


def _fixed_part(record: FittedModel) -> np.ndarray:
    problem = record.problem
    return problem.x @ np.asarray(record.estimates.beta, dtype=float) + problem.core.offset


def new_random_part(record: FittedModel, rng: np.random.Generator) -> np.ndarray:
    """Z b for b = sigma Lambda u with new standard normal u (term by term, level by
    level)."""
    problem = record.problem
    lams = problem.factor.lambdas(record.theta)
    b = [rng.standard_normal((b_hat.shape[0], lam.shape[1])) @ lam.T
         for b_hat, lam in zip(record.estimates.b, lams)]
    return record.sigma * problem.random_part(b)


def simulate_responses(record: Any, nsim: int = 1, seed: Any = None,
                       use_ran_ef: bool = False) -> np.ndarray:
    """Responses drawn from a fitted GLMM, one column per simulation.

    Parameters
    ----------
    record
        A fitted GLMM (or its record); its estimates are the simulation's parameters.
    nsim
        The number of simulated responses.
    seed
        None, a non-negative int (or a sequence of them), a SeedSequence or a Generator;
        the same seed gives the same responses.
    use_ran_ef
        False (default): new random effects from their estimated distribution for each
        simulation. True: the conditional modes are kept.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_obs, nsim)``, on the fit's response scale (binomial: proportions of
        the row's trials).
    """
    model = _generalized(record, "a simulated GLMM response")
    nsim = _check_nsim(nsim)
    rng = np.random.default_rng(check_seed(seed, generators=True))
    sampler = _Sampler(model)
    link = model.problem.family.link
    fixed = _fixed_part(model)
    out = np.empty((model.problem.n_obs, nsim))
    if use_ran_ef:
        mu = link.inverse(fixed + model.problem.random_part(model.estimates.b))
    for j in range(nsim):
        if not use_ran_ef:
            mu = link.inverse(fixed + new_random_part(model, rng))
        out[:, j] = sampler(mu, rng)
    return out


def simulate_one(record: FittedModel, rng: np.random.Generator) -> np.ndarray:
    """One simulated response with new random effects (the parametric bootstrap's draw)."""
    return simulate_responses(record, 1, rng)[:, 0]
