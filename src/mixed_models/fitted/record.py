"""The fitted-model record: what one fit produced, as plain read-only fields.

Everything above this layer (results, inference, prediction, display, plotting, the
public classes) reads a :class:`FittedModel` and nothing else of a fit. It is built by
the fit functions of :mod:`mixed_models.fitted.fit`; its derived values are the few
that every reader needs (theta, sigma, names, information criteria).

The seam between model families is ``family``: ``"gaussian"`` for linear mixed models,
whose residual variance is profiled out of the objective; for a generalized linear mixed
model (``is_generalized``) the response distribution as a
:class:`~mixed_models.core.glm.Family` object (a negative binomial at its estimated
shape), with ``problem`` a :class:`~mixed_models.fitted.glmm_problem.GlmmRecordProblem`
that holds the core's fit (``problem.fit``: theta, beta, the PIRLS state at the
conditional modes, the Newton check), ``problem.core`` (the arrays and family),
``problem.n_agq`` and ``problem.shape_estimated``. Unstable: the field list may grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixed_models.control import Control
from mixed_models.core.fit import FitSettings
from mixed_models.core.interface import MixedProblem
from mixed_models.core.optimize import OptimizationResult
from mixed_models.core.solve import Estimates
from mixed_models.errors import DataTypeError
from mixed_models.fitted.structure import Structure

# A boundary fit: some lambda diagonal entry below this (as lme4).
SINGULAR_TOL = 1e-4


@dataclass(frozen=True, eq=False)
class FittedModel:
    """One fitted mixed model.

    Attributes
    ----------
    problem
        The numeric problem (original columns): X, y, the terms, weights, offset, REML.
    structure
        The design of a formula model, or the names of a raw-matrix model.
    estimates
        beta, u, b, the penalized residual sum of squares, (X'V^-1X)^-1 / sigma^2.
    optimization
        What the optimizer did: start, final theta, objective, evaluations, messages.
    control
        The check and optimizer settings the model was fitted with.
    settings
        How theta was fitted (refits reuse it).
    start_point
        The user's starting theta, or None.
    family
        ``"gaussian"`` (linear mixed models) or the GLM family object of a generalized
        model (see :attr:`is_generalized`).
    warnings
        The messages of the warnings the fit raised.
    memo
        Derived values that are costly to compute (Satterthwaite's Jacobians, Kenward-
        Roger's moments), filled by the functions that compute them.
    """

    problem: MixedProblem
    structure: Structure
    estimates: Estimates
    optimization: OptimizationResult
    control: Control
    settings: FitSettings
    start_point: np.ndarray | None = None
    family: Any = "gaussian"
    warnings: tuple[str, ...] = ()
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_generalized(self) -> bool:
        """True for a generalized linear mixed model (``family`` is a family object).

        Then ``deviance`` is -2 log-likelihood under the Laplace or adaptive
        Gauss-Hermite approximation (saturated part included), ``sigma2`` is lme4's
        ``sigma()^2`` (1 without a scale parameter), ``estimates.beta_cov_unscaled``
        times ``sigma2`` is the Wald covariance, ``estimates.b`` the conditional modes,
        and ``problem.fit`` the core's fit.
        """
        return not isinstance(self.family, str)

    @property
    def formula(self) -> str | None:
        """The formula as given (None for a model built from matrices)."""
        return self.structure.formula

    @property
    def reml(self) -> bool:
        """True when fitted by REML."""
        return self.problem.reml

    @property
    def theta(self) -> np.ndarray:
        """The covariance parameters at the optimum (a copy)."""
        return self.optimization.final.copy()

    @property
    def deviance(self) -> float:
        """The optimized REML criterion (REML fits) or -2 log-likelihood (ML fits and
        generalized models)."""
        return self.optimization.objective

    @property
    def sigma2(self) -> float:
        """Residual variance."""
        return self.problem.sigma2(self.estimates)

    @property
    def sigma(self) -> float:
        """Residual standard deviation."""
        return float(np.sqrt(self.sigma2))

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects."""
        return self.structure.fix_ef_names

    @property
    def ran_ef_names(self) -> list[str]:
        """Names of the random effects."""
        return self.structure.ran_ef_names

    @property
    def n_obs(self) -> int:
        """Number of observations used."""
        return self.problem.n_obs

    @property
    def weighted(self) -> bool:
        """Whether prior weights were given."""
        return self._given("weighted", self.problem.weights)

    @property
    def has_offset(self) -> bool:
        """Whether an offset was given."""
        return self._given("has_offset", self.problem.offset)

    def _given(self, flag: str, values: object) -> bool:
        # A streamed model's problem keeps no per-row arrays: its structure says.
        said = getattr(self.structure, flag, None)
        return values is not None if said is None else bool(said)

    @property
    def n_parameters(self) -> int:
        """Number of estimated parameters: fixed effects, theta and sigma (a generalized
        model's estimated dispersion: Gamma or inverse Gaussian scale, negative binomial
        shape)."""
        p = self.problem
        return p.n_fixed + p.n_theta + (p.sigma is None)

    @property
    def log_likelihood(self) -> float:
        """The log-likelihood (the REML log-likelihood for a REML fit)."""
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        """Akaike's information criterion."""
        return self.deviance + 2 * self.n_parameters

    @property
    def bic(self) -> float:
        """Schwarz's Bayesian information criterion."""
        return self.deviance + self.n_parameters * np.log(self.n_obs)

    @property
    def singular(self) -> bool:
        """A boundary fit, judged in the centred and scaled columns the fit works in."""
        return self.problem.singular(self.theta, SINGULAR_TOL)


def as_record(model: object, what: str = "model") -> FittedModel:
    """The record of a fitted model: ``model`` itself, or its ``record`` (every public
    model class has one); anything else is refused."""
    if isinstance(model, FittedModel):
        return model
    record = getattr(model, "record", None)
    if isinstance(record, FittedModel):
        return record
    raise DataTypeError(f"{what} must be a fitted model (LMM or GLMM), got {type(model).__name__}")
