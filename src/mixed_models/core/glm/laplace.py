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

from mixed_models.core.glm.pirls import GlmmProblem, PirlsError, PirlsState, pirls


def laplace_deviance(problem: GlmmProblem, state: PirlsState) -> float:
    """The Laplace objective (-2 log-likelihood) at a converged PIRLS state."""
    return state.factor.logdet() + state.u_sq + problem.m2_log_density(state.mu, state.deviance)


class WarmStartObjective:
    """Keeps the last conditional modes to start the next PIRLS run from."""

    def __init__(self, problem: GlmmProblem):
        self.problem = problem
        self.state: PirlsState | None = None
        self.evaluations = 0

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
        try:
            state = self._modes(theta, beta, joint=False)
        except (PirlsError, np.linalg.LinAlgError):
            return np.inf
        return laplace_deviance(self.problem, state)


class JointObjective(WarmStartObjective):
    """theta -> Laplace objective at the joint modes of (u, beta): lme4's nAGQ = 0 fit."""

    def __init__(self, problem: GlmmProblem, beta: np.ndarray):
        super().__init__(problem)
        self.beta = np.asarray(beta, dtype=float)

    def __call__(self, theta: np.ndarray) -> float:
        beta = self.beta if self.state is None else self.state.beta
        try:
            state = self._modes(theta, beta, joint=True)
        except (PirlsError, np.linalg.LinAlgError):
            return np.inf
        return laplace_deviance(self.problem, state)
