"""Simulated quantile residuals of a GLMM (the idea of the R package DHARMa).

For each observation, the position of the observed response among ``nsim`` responses
simulated from the fitted model: if the model is right, y and its simulations are
exchangeable, so the randomized rank of y among the ``nsim + 1`` values, mapped to
(0, 1), is exactly uniform, whatever the family. Ties (discrete responses) are broken at
random: the residual is uniform between P(Y < y) and P(Y <= y) as estimated from the
simulations. A Kolmogorov-Smirnov test against U(0, 1) checks the uniformity as a whole;
plots (:mod:`mixed_models.plotting.glmm_diagnostics`) show where it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mixed_models._validate import check_seed
from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.glmm_results import mean_values
from mixed_models.fitted.record import FittedModel, as_record

# simulated and observed responses closer than this (relative) are ties: binomial
# proportions are k / n computed on both sides, and may differ in the last bits
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class QuantileResiduals:
    """Simulated quantile residuals and their uniformity test.

    Attributes
    ----------
    residuals
        One per observation used, in (0, 1); uniform under the model.
    predicted
        The fitted means (response scale, with the random effects) of those rows.
    nsim
        The number of simulated responses behind each residual.
    ks_statistic, p_value
        The Kolmogorov-Smirnov test of the residuals against U(0, 1); a small p-value
        says the model does not describe the data (overdispersion, a wrong family or
        link, a missing term...).
    """

    residuals: np.ndarray
    predicted: np.ndarray
    nsim: int
    ks_statistic: float
    p_value: float


def randomized_ranks(observed: np.ndarray, simulated: np.ndarray, seed: Any = None
                     ) -> np.ndarray:
    """The randomized rank of each ``observed[i]`` among ``simulated[i, :]``, in (0, 1).

    With ``L`` simulations below y and ``E`` equal to it, the residual is
    ``(L + V (E + 1)) / (nsim + 1)`` with V ~ U(0, 1): uniform on (0, 1) when y is
    exchangeable with its simulations (continuous or discrete).
    """
    observed = np.asarray(observed, dtype=float)
    simulated = np.asarray(simulated, dtype=float)
    if simulated.ndim != 2 or simulated.shape[0] != observed.shape[0]:
        raise InvalidArgumentError(f"simulated must have one row per observation "
                                   f"({observed.shape[0]}), got shape {simulated.shape}")
    nsim = simulated.shape[1]
    if nsim < 1:
        raise InvalidArgumentError("simulated needs at least one column (simulation)")
    y = observed[:, None]
    tol = TIE_TOLERANCE * np.maximum(np.abs(y), 1.0)
    below = np.sum(simulated < y - tol, axis=1)
    equal = np.sum(np.abs(simulated - y) <= tol, axis=1)
    jitter = np.random.default_rng(check_seed(seed, generators=True)).uniform(
        size=observed.shape[0])
    return (below + jitter * (equal + 1)) / (nsim + 1)


def quantile_residuals(record: object, simulated: np.ndarray, seed: Any = None
                       ) -> QuantileResiduals:
    """The :class:`QuantileResiduals` of a fitted GLMM from its simulated responses.

    Parameters
    ----------
    record
        A fitted GLMM (or its record).
    simulated
        Responses simulated from it, shape ``(n_obs, nsim)`` on the fit's response scale
        (``simulate_responses(record, nsim, seed)``).
    seed
        Seeds the random tie-breaking.
    """
    from scipy.stats import kstest

    fit: FittedModel = as_record(record)
    if not fit.is_generalized:
        raise ModelError("quantile_residuals needs a generalized linear mixed model "
                         "(GLMM); an LMM's residuals are checked with qq_plot")
    residuals = randomized_ranks(fit.problem.core.y, simulated, seed)
    test = kstest(residuals, "uniform")
    return QuantileResiduals(residuals, mean_values(fit), int(simulated.shape[1]),
                             float(test.statistic), float(test.pvalue))
