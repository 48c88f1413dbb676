"""Negative binomial GLMMs with the shape estimated (lme4's ``glmer.nb``).

The shape (MASS's theta) joins (theta, beta) as a third kind of parameter, on the log
scale. The start follows glmer.nb: a Poisson GLMM, then the shape that minimizes the
Laplace objective at its estimates; from the negative binomial fit at that shape, Newton
steps over (theta, beta, log shape) reach the joint optimum (BOBYQA if they do not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from mixed_models.core.glm.confirm import NewtonCheck, newton_confirm
from mixed_models.core.glm.family import NegativeBinomial, Poisson
from mixed_models.core.glm.fit import GlmmFit, GlmmSettings, beta_scale, bobyqa, fit_glmm
from mixed_models.core.glm.laplace import LaplaceObjective, laplace_deviance
from mixed_models.core.glm.pirls import GlmmProblem, pirls
from mixed_models.core.threads import blas_threads_for

_LOG_SHAPE_RANGE = (-8.0, 12.0)


@dataclass
class NegativeBinomialFit:
    """The joint fit: the GLMM fit at the estimated shape and the check over all three.

    ``check`` is over (theta, beta, log shape) in natural units; ``fit.check`` is None.
    """

    fit: GlmmFit
    shape: float
    check: NewtonCheck | None
    confirmed: bool
    evaluations: int
    messages: list[str]


class _ShapeObjective(LaplaceObjective):
    """(theta, beta, log shape) -> Laplace objective of the negative binomial GLMM."""

    def __init__(self, problem: GlmmProblem, link):
        super().__init__(problem)
        self.base = problem
        self.link = link

    def at(self, theta, beta, log_shape: float) -> float:
        if not _LOG_SHAPE_RANGE[0] <= log_shape <= _LOG_SHAPE_RANGE[1]:
            return np.inf
        self.problem = self.base.with_family(NegativeBinomial(np.exp(log_shape), self.link))
        self.forget()   # the cached value belongs to another shape
        return self(theta, beta)


def fit_negative_binomial(problem: GlmmProblem, settings: GlmmSettings | None = None,
                          link: str = "log") -> NegativeBinomialFit:
    """Estimate theta, beta and the negative binomial shape by the Laplace approximation.

    ``problem`` supplies the arrays; its family is replaced.
    """
    settings = settings or GlmmSettings()
    with blas_threads_for(problem.design.m):
        return _fit(problem, settings, link)


def _fit(problem: GlmmProblem, settings: GlmmSettings, link: str) -> NegativeBinomialFit:
    poisson = fit_glmm(problem.with_family(Poisson(link)), 1, GlmmSettings(confirm=False))
    shape_obj = _ShapeObjective(problem, link)
    start = minimize_scalar(lambda s: shape_obj.at(poisson.theta, poisson.beta, s),
                            bounds=_LOG_SHAPE_RANGE, method="bounded",
                            options={"xatol": 1e-4})
    nb0 = problem.with_family(NegativeBinomial(np.exp(start.x), link))
    fit0 = fit_glmm(nb0, 1, GlmmSettings(confirm=False))
    n_theta = len(fit0.theta)
    # beta in units of its standard error given theta, as in the two-stage fit
    joint = pirls(nb0, fit0.theta, fit0.beta, joint=True)
    units = np.concatenate([np.ones(n_theta), beta_scale(joint), [1.0]])
    origin = np.concatenate([fit0.theta, fit0.beta, [start.x]])
    shape_obj.state = fit0.state

    def scaled(v: np.ndarray) -> float:
        x = origin + units * v
        return shape_obj.at(x[:n_theta], x[n_theta:-1], x[-1])

    lower = np.concatenate([problem.theta_lower() - fit0.theta, np.full(len(units) - n_theta,
                                                                        -np.inf)])
    evaluations = poisson.evaluations + fit0.evaluations + start.nfev
    messages: list[str] = []
    check = newton_confirm(scaled, np.zeros(len(origin)), lower, max_steps=settings.newton_steps)
    evaluations += check.evaluations
    if not check.confirmed:
        step = np.concatenate([np.full(n_theta, 0.05), np.full(len(units) - n_theta, 0.2)])
        run = bobyqa(scaled, check.x, lower, step, settings, settings.polish_ftol_abs)
        check = newton_confirm(scaled, run.x, lower)
        evaluations += run.evaluations + check.evaluations
        messages.extend(check.messages)
    x = origin + units * check.x
    check.rescale(units, origin)
    shape = float(np.exp(x[-1]))
    final_problem = problem.with_family(NegativeBinomial(shape, link))
    state = pirls(final_problem, x[:n_theta], x[n_theta:-1], shape_obj.state.u_lead,
                  shape_obj.state.u_rest)
    value = laplace_deviance(final_problem, state)
    fit = GlmmFit(x[:n_theta], x[n_theta:-1], value, value, 1, state, fit0.stage1,
                  fit0.stage1_beta, fit0.stage2, None, check.confirmed, messages)
    return NegativeBinomialFit(fit, shape, check, check.confirmed, evaluations, messages)
