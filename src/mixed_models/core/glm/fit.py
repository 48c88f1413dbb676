"""Fitting a GLMM: a GLM start, the nAGQ = 0 fit over theta, then (theta, beta) jointly.

1. beta from the GLM without random effects (IRLS).
2. theta on the nAGQ = 0 objective: PIRLS updates u and beta together, so the search is
   over theta alone (lme4's first stage); L-BFGS-B with the analytic gradient
   (:mod:`core.glm.gradient`) where the family has one, BOBYQA otherwise. With n_agq = 0
   this is the fit.
3. (theta, beta) on the Laplace or AGQ objective, beta measured in units of its standard
   error given theta from stage 2, so that the problem looks round. From the stage-2 point
   Newton steps (:mod:`core.glm.confirm`; the Hessian from differences of the analytic
   gradient, or of the objective where there is no gradient) usually reach the optimum
   in two or three steps; when they do not, BOBYQA takes over and the Newton check follows.
4. The optimum is confirmed when the Hessian of the free parameters is positive definite,
   the predicted Newton decrease is below 1e-7 and no parameter held at a bound would
   leave it. The Hessian at the optimum is kept: its inverse gives the Wald covariance.

Where the compiled kernels cover the model and are loaded (:mod:`core.glm.compiled`:
scalar terms, binomial-logit or Poisson-log) they evaluate the objectives of stages 1-3
and the GLM start; the fit's final PIRLS state is numpy's either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import nlopt
import numpy as np

from mixed_models.core import kernels
from mixed_models.core.glm import compiled
from mixed_models.core.glm.agq import AgqObjective, agq_deviance
from mixed_models.core.glm.confirm import NewtonCheck, newton_confirm, newton_confirm_gradient
from mixed_models.core.glm.descent import lbfgs
from mixed_models.core.glm.laplace import JointObjective, LaplaceObjective, laplace_deviance
from mixed_models.core.glm.pirls import GlmmProblem, PirlsState, pirls
from mixed_models.core.threads import blas_threads_for


@dataclass
class GlmmSettings:
    """Tolerances of the GLMM fit.

    Attributes
    ----------
    ftol_rel, ftol_abs, xtol_abs
        BOBYQA stopping tolerances (both stages).
    stage1_ftol_abs, polish_ftol_abs
        Looser absolute tolerances of the nAGQ = 0 stage (only a start for the joint
        search) and of the joint search when Newton steps polish its end point.
    max_evaluations
        Limit per stage.
    confirm
        Run the Newton confirmation (and compute the Hessian) after stage 2.
    newton_first, newton_steps
        Try Newton steps from the nAGQ = 0 optimum before BOBYQA (with ``confirm``);
        BOBYQA runs only when they do not converge.
    gradient
        Use the analytic gradient where the family has one (binomial, Poisson, negative
        binomial; Laplace and nAGQ = 0); False forces the derivative-free path.
    compiled
        Use the compiled objectives (:mod:`core.glm.compiled`) where they cover the model
        and are loaded; False keeps numpy's.
    """

    ftol_rel: float = 1e-12
    ftol_abs: float = 1e-10
    xtol_abs: float = 1e-9
    stage1_ftol_abs: float = 1e-4
    polish_ftol_abs: float = 1e-6
    max_evaluations: int = 20_000
    confirm: bool = True
    newton_first: bool = True
    newton_steps: int = 6
    gradient: bool = True
    compiled: bool = True


@dataclass
class StageResult:
    """One BOBYQA run: end point, objective, evaluations and nlopt's return code."""

    x: np.ndarray
    objective: float
    evaluations: int
    return_code: int


@dataclass
class GlmmFit:
    """The result of :func:`fit_glmm`.

    Attributes
    ----------
    theta, beta
        Estimates (theta in the terms' order, column-major lower triangles).
    objective
        -2 log-likelihood under the approximation (Laplace, or AGQ with the saturated
        log-likelihood included).
    objective_lme4
        What lme4 reports: the same for Laplace; without the saturated part for AGQ.
    n_agq
        0 (theta only, beta from PIRLS), 1 (Laplace) or the number of AGQ nodes.
    state
        PIRLS state at the estimates (conditional modes, means, the factor).
    stage1
        The nAGQ = 0 result (theta, with its beta in ``stage1_beta``).
    stage2
        The joint run (None for n_agq = 0).
    check
        The Newton confirmation (None when not run).
    confirmed
        True when the check found a positive definite Hessian and no further decrease.
    messages
        Notes on the run.
    """

    theta: np.ndarray
    beta: np.ndarray
    objective: float
    objective_lme4: float
    n_agq: int
    state: PirlsState
    stage1: StageResult
    stage1_beta: np.ndarray
    stage2: StageResult | None
    check: NewtonCheck | None
    confirmed: bool
    messages: list[str] = field(default_factory=list)

    @property
    def evaluations(self) -> int:
        """Objective evaluations over all stages."""
        total = self.stage1.evaluations
        total += self.stage2.evaluations if self.stage2 else 0
        return total + (self.check.evaluations if self.check else 0)


def glm_start(problem: GlmmProblem, max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """beta of the GLM without random effects, by IRLS from R's starting means."""
    fam = problem.family
    x, y, wt, off = problem.design.x, problem.y, problem.weights, problem.offset
    eta = fam.link.link(fam.starting_mu(y, wt))
    beta = np.zeros(x.shape[1])
    dev_old = np.inf
    for _ in range(max_iter):
        mu = fam.link.inverse(eta)
        mu_eta = fam.link.mu_eta(eta)
        w = wt * mu_eta ** 2 / fam.variance(mu)
        work = eta - off + (y - mu) / mu_eta
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(x * sw[:, None], work * sw, rcond=None)[0]
        eta = x @ beta + off
        mu = fam.link.inverse(eta)
        dev = float(np.sum(fam.deviance_residuals(y, mu, wt)))
        if abs(dev - dev_old) < tol * (abs(dev) + 0.1):
            break
        dev_old = dev
    return beta


def bobyqa(fun, x0: np.ndarray, lower: np.ndarray, step: np.ndarray,
           settings: GlmmSettings, ftol_abs: float | None = None) -> StageResult:
    """Minimize ``fun`` from ``x0`` with nlopt's BOBYQA; non-finite values count as worse
    than the start."""
    f0 = fun(x0)
    if not np.isfinite(f0):
        raise FloatingPointError(f"the objective is not finite at the start {x0}")
    count = [0]

    def wrapped(x, grad):
        count[0] += 1
        value = fun(np.asarray(x))
        return value if np.isfinite(value) else f0 + 1.0

    opt = nlopt.opt(nlopt.LN_BOBYQA, len(x0))
    opt.set_min_objective(wrapped)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -np.inf))
    opt.set_ftol_rel(settings.ftol_rel)
    opt.set_ftol_abs(settings.ftol_abs if ftol_abs is None else ftol_abs)
    opt.set_xtol_abs(settings.xtol_abs)
    opt.set_maxeval(settings.max_evaluations)
    opt.set_initial_step(step)
    start = np.maximum(x0, lower)
    try:
        x = opt.optimize(start)
        code = opt.last_optimize_result()
        fx = opt.last_optimum_value()
    except nlopt.RoundoffLimited:
        x, fx, code = start, f0, nlopt.ROUNDOFF_LIMITED
    if not f0 >= fx:
        x, fx = start, f0
    return StageResult(np.asarray(x, dtype=float), float(fx), count[0] + 1, int(code))


def _theta_step(theta: np.ndarray) -> np.ndarray:
    return np.maximum(0.1 * np.abs(theta), 0.05)


def has_gradient(problem: GlmmProblem, settings: GlmmSettings) -> bool:
    """True when the fit can use the analytic gradient (a family whose density term is
    the deviance plus a constant)."""
    return settings.gradient and problem.analytic_gradient and problem.saturated is not None


def fit_nagq0(problem: GlmmProblem, settings: GlmmSettings, beta0: np.ndarray,
              theta0: np.ndarray | None = None, final: bool = True,
              joint: Any = None) -> tuple[StageResult, Any]:
    """Stage 1: theta minimizing the objective at the joint modes of (u, beta)
    (``joint``: that objective, numpy's :class:`JointObjective` when None)."""
    theta0 = problem.theta_initial() if theta0 is None else np.asarray(theta0, dtype=float)
    joint = JointObjective(problem, beta0) if joint is None else joint
    lower = problem.theta_lower()
    result = None
    if has_gradient(problem, settings):
        unsigned = problem.theta_lower_unsigned()
        x, fx, evaluations, code = lbfgs(joint.value_and_gradient, theta0, unsigned, final,
                                         settings.stage1_ftol_abs, settings.max_evaluations,
                                         even=unsigned < lower)
        if code > 0:
            result = StageResult(problem.rectify(x), fx, evaluations, code)
    if result is None:
        result = bobyqa(joint, theta0, lower, _theta_step(theta0), settings,
                        None if final else settings.stage1_ftol_abs)
    joint(result.x)
    return result, joint


def beta_scale(state: PirlsState) -> np.ndarray:
    """Standard errors of beta given theta, from the X part of the joint factor."""
    qr = state.factor.design.q_rest
    rx = state.factor.l22[qr:, qr:]
    inv = np.linalg.inv(rx)
    return np.sqrt(np.sum(inv * inv, axis=0))


def fit_glmm(problem: GlmmProblem, n_agq: int = 1, settings: GlmmSettings | None = None,
             theta0: np.ndarray | None = None, beta0: np.ndarray | None = None) -> GlmmFit:
    """Fit a GLMM by maximum likelihood under the Laplace or AGQ approximation.

    Parameters
    ----------
    problem
        The arrays.
    n_agq
        0: theta only, beta and u from PIRLS (fast, approximate); 1: Laplace; 2-25:
        adaptive Gauss-Hermite quadrature (single scalar term).
    settings
        Tolerances (defaults when None).
    theta0, beta0
        Starting values (default: theta 1/0, beta from the GLM fit).
    """
    settings = settings or GlmmSettings()
    covered = n_agq <= 1 and settings.compiled and compiled.covered(problem)
    use = covered and kernels.block_wanted()
    started = time.perf_counter()
    with blas_threads_for(problem.design.m):
        fit = _fit_glmm(problem, n_agq, settings, theta0, beta0, use)
    if covered and not use:  # numpy's time, toward loading the compiled kernels
        kernels.spent_in_numpy(time.perf_counter() - started)
    return fit


def _objectives(problem: GlmmProblem, n_agq: int, beta0: np.ndarray | None,
                use_compiled: bool) -> tuple[Any, Any, np.ndarray]:
    """The joint (nAGQ = 0) and final objectives, compiled or numpy's, and the start of
    beta (``beta0``, or the GLM's without random effects)."""
    if use_compiled:
        system = compiled.ScalarSystem(problem)
        beta = system.glm_beta() if beta0 is None else np.asarray(beta0, dtype=float)
        if beta is not None:
            return compiled.CompiledJoint(system, beta), compiled.CompiledLaplace(system), beta
    beta = glm_start(problem) if beta0 is None else np.asarray(beta0, dtype=float)
    final = AgqObjective(problem, n_agq) if n_agq > 1 else LaplaceObjective(problem)
    return JointObjective(problem, beta), final, beta


def _fit_glmm(problem, n_agq, settings, theta0, beta0, use_compiled) -> GlmmFit:
    if n_agq < 0:
        raise ValueError(f"n_agq must be 0, 1 (Laplace) or a number of nodes, got {n_agq}")
    joint, objective, beta_start = _objectives(problem, n_agq, beta0, use_compiled)
    stage1, joint = fit_nagq0(problem, settings, beta_start, theta0, final=n_agq == 0,
                              joint=joint)
    state = joint.state
    if n_agq == 0:
        if not isinstance(state, PirlsState):  # the compiled state: the record wants numpy's
            state = pirls(problem, stage1.x, state.beta, state.u_lead, state.u_rest, joint=True)
        value = laplace_deviance(problem, state)
        return GlmmFit(stage1.x, state.beta, value, value, 0, state, stage1, state.beta, None,
                       None, stage1.return_code > 0)
    n_theta = problem.n_theta
    scale = beta_scale(state)
    origin = np.concatenate([stage1.x, state.beta])
    units = np.concatenate([np.ones(n_theta), scale])
    objective.state = state

    def scaled(v: np.ndarray) -> float:
        x = origin + units * v
        return objective(x[:n_theta], x[n_theta:])

    def scaled_fg(v: np.ndarray) -> tuple[float, np.ndarray]:
        x = origin + units * v
        value, grad = objective.value_and_gradient(x[:n_theta], x[n_theta:])
        return value, grad * units

    use_gradient = n_agq == 1 and has_gradient(problem, settings)

    def confirm(start: np.ndarray, **kwargs) -> NewtonCheck:
        if use_gradient:
            return newton_confirm_gradient(scaled, scaled_fg, start, lower, **kwargs)
        return newton_confirm(scaled, start, lower, **kwargs)

    lower = np.concatenate([(problem.theta_lower() - stage1.x), np.full(len(scale), -np.inf)])
    step = np.concatenate([_theta_step(stage1.x), np.full(len(scale), 0.2)])
    zero = np.zeros(len(origin))
    stage2, check, messages = None, None, []
    if settings.confirm and settings.newton_first:
        # from the nAGQ = 0 optimum a few Newton steps usually reach the optimum
        check = confirm(zero, max_steps=settings.newton_steps)
        if not check.confirmed:
            messages.append("Newton steps from the nAGQ = 0 optimum did not converge; "
                            "BOBYQA took over")
    if check is None or not check.confirmed:
        start = zero if check is None else check.x
        first = check
        stage2 = bobyqa(scaled, start, lower, step, settings,
                        settings.polish_ftol_abs if settings.confirm else None)
        if first is not None:
            stage2.evaluations += first.evaluations
        check = confirm(stage2.x) if settings.confirm else None
        if check is not None:
            messages.extend(check.messages)
    v = stage2.x if check is None else check.x
    x = origin + units * v
    theta, beta = x[:n_theta], x[n_theta:]
    final = pirls(problem, theta, beta, objective.state.u_lead, objective.state.u_rest)
    if n_agq > 1:
        relative, full = agq_deviance(problem, final, n_agq)
    else:
        relative = full = laplace_deviance(problem, final)
    if check is not None:
        check.rescale(units, origin)
    confirmed = check is not None and check.confirmed
    return GlmmFit(theta, beta, full, relative, n_agq, final, stage1, state.beta, stage2, check,
                   confirmed, messages)


def beta_covariance(fit: GlmmFit) -> np.ndarray:
    """Wald covariance of beta: the beta block of (H / 2)^-1, H the Hessian of the objective
    over the free (theta, beta) at the optimum (lme4's ``vcov``; theta entries held at a
    bound are left out)."""
    if fit.check is None:
        raise ValueError("the fit has no Hessian: fit with GlmmSettings(confirm=True)")
    k = len(fit.theta)
    free = np.asarray(fit.check.free).copy()
    free[k:] = True
    hess = fit.check.hessian[np.ix_(free, free)]
    vcov = np.linalg.inv(hess / 2.0)
    nb = len(fit.beta)
    return vcov[-nb:, -nb:]


def beta_covariance_given_theta(problem: GlmmProblem, fit: GlmmFit) -> np.ndarray:
    """Covariance of beta with theta held at its estimate, from the (u, beta) factor at the
    modes (lme4's ``vcov(use.hessian = FALSE)``)."""
    state = pirls(problem, fit.theta, fit.beta, fit.state.u_lead, fit.state.u_rest)
    qr = state.factor.design.q_rest
    rx_inv = np.linalg.inv(state.factor.l22[qr:, qr:])
    return rx_inv.T @ rx_inv
