"""The Laplace objective of a GLMM as lme4 defines it, and the nAGQ = 0 objective.

At the conditional modes u (PIRLS), lme4's Laplace approximation to -2 log-likelihood is

    log det(Lambda' Z' W Z Lambda + I) + ||u||^2 + sum_i -2 log f(y_i | mu_i)

with W the IRLS (expected-information) weights at the mode and f the full density
(R's ``family()$aic``). For a non-canonical link the Fisher weights make this differ from
a Laplace approximation with the observed Hessian; lme4's choice is kept.

:class:`LaplaceObjective` evaluates it as a function of (theta, beta), warm-starting each
PIRLS run from the previous modes; :class:`JointObjective` is the nAGQ = 0 objective of
theta alone, with beta updated inside PIRLS.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core.glm.gradient import GradientUnavailable, laplace_gradient
from mixed_models.core.glm.pirls import GlmmProblem, PirlsError, PirlsState, pirls


def laplace_deviance(problem: GlmmProblem, state: PirlsState) -> float:
    """The Laplace objective (-2 log-likelihood) at a converged PIRLS state."""
    return state.factor.logdet() + state.u_sq + problem.m2_log_density(state.mu, state.deviance)


class WarmStartObjective:
    """Keeps the last conditional modes to start the next PIRLS run from.

    ``_modes``, ``_value_at`` and ``_gradient_at`` are what an evaluation computes (numpy
    here; :mod:`core.glm.compiled` overrides them), the caching and warm start are here.
    """

    def __init__(self, problem: GlmmProblem):
        self.problem = problem
        self.state: PirlsState | None = None
        self.evaluations = 0
        self._key: bytes | None = None
        self._value = np.inf

    def forget(self) -> None:
        """Drop the cached value (after the problem changed)."""
        self._key = None

    def _cached(self, theta: np.ndarray, beta: np.ndarray | None) -> float | None:
        """The last value when (theta, beta) is the last point evaluated, else None."""
        key = np.concatenate([theta, [] if beta is None else beta]).tobytes()
        if key == self._key:
            return self._value
        self._key = key
        return None

    def _remember(self, value: float) -> float:
        self._value = value
        return value

    def _gradient(self, theta: np.ndarray, value: float, joint: bool):
        """The analytic gradient at the state of the last (finite) evaluation."""
        n = self.problem.n_theta + self.problem.n_fixed
        if not np.isfinite(value):
            return np.full(n, np.nan)
        try:
            return self._gradient_at(theta, joint)
        except (GradientUnavailable, np.linalg.LinAlgError):
            return np.full(n, np.nan)

    def _gradient_at(self, theta: np.ndarray, joint: bool) -> np.ndarray:
        """(d/dtheta, d/dbeta) at ``self.state``."""
        return np.concatenate(laplace_gradient(self.problem, theta, self.state, joint))

    def _value_at(self, state: PirlsState) -> float:
        """The objective at a converged state."""
        return laplace_deviance(self.problem, state)

    def _modes(self, theta: np.ndarray, beta: np.ndarray, joint: bool) -> PirlsState:
        self.evaluations += 1
        start = self.state
        u_lead = None if start is None else start.u_lead
        u_rest = None if start is None else start.u_rest
        chord = None if start is None else start.factor
        state = pirls(self.problem, theta, beta, u_lead, u_rest, joint=joint, chord=chord)
        self.state = state
        return state


class LaplaceObjective(WarmStartObjective):
    """(theta, beta) -> Laplace objective; ``inf`` where PIRLS finds no mode."""

    def __call__(self, theta: np.ndarray, beta: np.ndarray) -> float:
        theta, beta = np.asarray(theta, dtype=float), np.asarray(beta, dtype=float)
        value = self._cached(theta, beta)
        if value is not None:
            return value
        try:
            state = self._modes(theta, beta, joint=False)
        except (PirlsError, np.linalg.LinAlgError):
            return self._remember(np.inf)
        return self._remember(self._value_at(state))

    def value_and_gradient(self, theta: np.ndarray, beta: np.ndarray
                           ) -> tuple[float, np.ndarray]:
        """The objective and its gradient over (theta, beta) (NaN where unavailable)."""
        value = self(theta, beta)
        return value, self._gradient(np.asarray(theta, dtype=float), value, joint=False)


class JointObjective(WarmStartObjective):
    """theta -> Laplace objective at the joint modes of (u, beta): lme4's nAGQ = 0 fit."""

    def __init__(self, problem: GlmmProblem, beta: np.ndarray):
        super().__init__(problem)
        self.beta = np.asarray(beta, dtype=float)

    def __call__(self, theta: np.ndarray) -> float:
        theta = np.asarray(theta, dtype=float)
        value = self._cached(theta, None)
        if value is not None:
            return value
        beta = self.beta if self.state is None else self.state.beta
        try:
            state = self._modes(theta, beta, joint=True)
        except (PirlsError, np.linalg.LinAlgError):
            return self._remember(np.inf)
        return self._remember(self._value_at(state))

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and its gradient over theta (NaN where unavailable)."""
        value = self(theta)
        return value, self._gradient(np.asarray(theta, dtype=float), value,
                                     joint=True)[:self.problem.n_theta]
