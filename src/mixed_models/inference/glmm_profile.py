"""Likelihood profiles of a generalized linear mixed model (lme4's ``profile`` of a
``glmer`` fit) and the intervals read from them.

The objective is the fit's -2 log-likelihood under its approximation (Laplace or
adaptive Gauss-Hermite) as a function of (theta, beta) jointly. The parameters are the
random effects' SDs and correlations (theta's SD/correlation form, :mod:`.sdcor`) and
the fixed effects. For one of them held at a value, the objective is minimized over all
the others (BOBYQA, started from the previous point's optimum), and zeta = sign(value -
estimate) sqrt(objective - objective at the fit). The points are placed by the LMM
profile's stepping rule (:mod:`.profile`), and intervals are read off the traces as
there (a spline of zeta against the parameter, inverted).

A negative binomial's shape is held at its estimate, as lme4's profile of a
``glmer.nb`` fit does. Gamma and inverse Gaussian models, whose scale sigma is not a
parameter of the approximate likelihood lme4 defines, are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixed_models.errors import ModelError
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.inference.profile import Tracer, bounded_minimum, trace_table
from mixed_models.inference.sdcor import SdCorScale, sdcor_scale

# A deviance this far below the fit's means the fit was not at the optimum.
_LOWER_TOL = 1e-6


@dataclass(eq=False)
class _GlmmSetup:
    """The fit's parameters (SDs/correlations, then fixed effects) and its objective."""

    scale: SdCorScale
    names: list[str]
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    step: np.ndarray          # the first step of each trace
    base: float
    objective: Callable[[np.ndarray, np.ndarray], float]

    @property
    def n_var(self) -> int:
        return len(self.scale.names)

    def deviance(self, params: np.ndarray) -> float:
        theta = self.scale.to_theta(params[:self.n_var], 1.0)
        if theta is None:
            return np.inf
        return float(self.objective(theta, params[self.n_var:]))


def _setup(record: FittedModel) -> _GlmmSetup:
    family = record.family
    if family.has_dispersion and family.name != "negative.binomial":
        raise ModelError(f"profiles of a {family.name} GLMM are not available: its scale "
                         "sigma is not a parameter of the approximate likelihood; use "
                         "conf_int(method='bootstrap') or Wald intervals")
    problem = record.problem
    scale = sdcor_scale(record)
    names = list(scale.names) + list(record.fix_ef_names)
    beta = np.asarray(record.estimates.beta, dtype=float)
    estimate = np.concatenate([scale.from_theta(np.asarray(record.theta), 1.0), beta])
    p = len(beta)
    se = np.sqrt(np.diag(problem.beta_covariance))
    var_step = np.where(scale.is_sd, np.maximum(0.01 * scale.from_theta(
        np.asarray(record.theta), 1.0), 1e-3), 0.01)
    deviance_fn = problem.deviance_function()

    def objective(theta: np.ndarray, b: np.ndarray) -> float:
        return deviance_fn(np.concatenate([theta, b]))

    lower = np.concatenate([scale.lower, np.full(p, -np.inf)])
    upper = np.concatenate([scale.upper, np.full(p, np.inf)])
    return _GlmmSetup(scale, names, estimate, lower, upper,
                      np.concatenate([var_step, 0.125 * se]), float(record.deviance),
                      objective)


def glmm_profile(model: object, which: list[str] | None = None, alphamax: float = 0.01,
                 max_points: int = 100, delta_cutoff: float = 0.125,
                 limit_zetas: tuple[float, ...] = ()) -> pd.DataFrame:
    """Zeta traces of a GLMM's parameters (all unless ``which`` names some);
    ``limit_zetas`` as the LMM's :func:`~mixed_models.inference.profile.profile`.

    Returns
    -------
    pandas.DataFrame
        As the LMM's :func:`mixed_models.inference.profile.profile`: one row per point,
        ``parameter, value, zeta`` and every parameter's value there; ``attrs`` holds
        ``base_deviance`` and each parameter's bounds and estimate.
    """
    record = as_record(model)
    if not record.is_generalized:
        raise ModelError("glmm_profile is for GLMMs; an LMM's: inference.profile.profile")
    setup = _setup(record)
    out = trace_table(setup.names, which, lambda w, tracer: _trace(setup, w, tracer),
                      alphamax, max_points, delta_cutoff, limit_zetas)
    out.attrs.update(base_deviance=setup.base,
                     lower=dict(zip(setup.names, setup.lower)),
                     upper=dict(zip(setup.names, setup.upper)),
                     estimate=dict(zip(setup.names, setup.estimate)))
    return out


def _trace(setup: _GlmmSetup, w: int, tracer: Tracer) -> list[np.ndarray]:
    estimate = setup.estimate[w]
    free = np.arange(len(setup.names)) != w

    def zeta_at(value: float, start_row: np.ndarray) -> np.ndarray:
        params = np.array(start_row[1:], dtype=float)
        params[w] = value

        def fun(x: np.ndarray) -> float:
            params[free] = x
            return setup.deviance(params)

        x, dev = bounded_minimum(fun, params[free], setup.lower[free], setup.upper[free])
        params[free] = x
        diff = dev - setup.base
        if diff < -_LOWER_TOL * max(1.0, abs(setup.base)):
            raise ModelError(f"profiling {setup.names[w]} found a deviance {-diff:.3g} below "
                             "the fit's: the fit was not at the optimum")
        zeta = float(np.sign(value - estimate) * np.sqrt(max(diff, 0.0)))
        return np.concatenate([[zeta], params])

    row0 = np.concatenate([[0.0], setup.estimate])
    lower, upper = setup.lower[w], setup.upper[w]
    first = zeta_at(min(upper, estimate + setup.step[w]), row0)
    rows = tracer.trace(row0, first, w + 1, lower, upper, zeta_at, downward=False)
    if estimate > lower:
        rows += tracer.trace(row0, first, w + 1, lower, upper, zeta_at, downward=True)
    return rows + tracer.limits(rows, w + 1, zeta_at)


def glmm_profile_intervals(model: object, level: float = 0.95,
                           which: list[str] | None = None) -> pd.DataFrame:
    """Profile intervals of a GLMM's parameters (``lower, upper`` by parameter), read
    off :func:`glmm_profile`'s traces as lme4's ``confint(method = "profile")``."""
    from mixed_models.inference.intervals import limit_zeta, profile_intervals

    alphamax = min(0.01, (1 - level) / 2)
    z = limit_zeta(level)
    return profile_intervals(glmm_profile(model, which, alphamax, limit_zetas=(-z, z)), level)
