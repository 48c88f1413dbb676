"""Likelihood profiles (lme4's ``profile.merMod``): zeta traces for every parameter.

For a parameter fixed at a value, the ML deviance is minimized over all the others;
zeta = sign(value - estimate) sqrt(deviance - deviance at the optimum). As lme4 does,
a REML fit is refitted by ML first; the variance parameters are the SDs and
correlations of the random effects and sigma (see :mod:`.sdcor`), and a fixed effect
is profiled by moving x_j beta_j into the offset and refitting without column j.
Points are placed as lme4 places them: from the estimate, steps of about
``delta_cutoff`` times the final cutoff in zeta, each found by extrapolating the last
two points, until |zeta| passes sqrt(chi2_{1-alphamax}(number of parameters)) or the
parameter reaches a bound.

A correlation has no effect once either of the SDs it correlates is zero, so the
deviance there is a constant: each point of a correlation's trace is the better of the
inner fit and that floor. Without it, an inner fit started from the previous point can
stay on a branch whose deviance has risen above the floor, and the trace jumps down
when the fit finally falls onto the boundary. Where zeta stops growing (a plateau on
such a floor) the steps double instead of crawling at the minimum step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import nlopt
import numpy as np
import pandas as pd
from scipy import stats

from mixed_models.core.factor import BlockedCholesky, profiled_objective
from mixed_models.core.problem import LmmProblem
from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import ConvergenceWarning, NotFoundError
from mixed_models.inference.profile_limits import crossing_points
from mixed_models.inference.refit import refit_ml
from mixed_models.inference.sdcor import SdCorScale, sdcor_scale

MIN_STEP = 1e-6
MAX_MULT = 10.0
LOWER_DEVIANCE_TOL = 1e-6
# Tolerances of the inner fits. zeta^2 is a deviance difference, so these give zeta to
# far better than needed on well-conditioned models; ill-conditioned ones (SDs of very
# different sizes, as alien_species) need them to avoid stopping early.
INNER_FTOL = 1e-11
INNER_XTOL = 1e-10
# First step of the inner fits, relative to each parameter: each starts from the
# previous point's optimum, which is close.
FIRST_STEP = 0.02
# Bisections of the gap where a correlation's trace meets its floor: the kink is then
# located to 1/32 of the gap.
KINK_BISECTIONS = 5
# A step whose zeta jumps by more than this many nominal steps (lme4's extrapolation
# overshooting where zeta bends sharply, as near a correlation of -1) is bisected, at
# most REFINE_BISECTIONS times: a spline through so wide a gap misplaces the limit.
REFINE_JUMP = 1.5
REFINE_BISECTIONS = 4


@dataclass(eq=False)
class _Setup:
    """The ML fit and the functions the profiles evaluate."""

    ml: FittedModel
    scale: SdCorScale
    names: list[str]
    estimate: np.ndarray      # SDs/cors, sigma, fixed effects
    n_var: int                # number of variance parameters (with sigma)
    lower: np.ndarray
    upper: np.ndarray
    base: float
    deviance: Callable[[np.ndarray], float]
    beta: Callable[[np.ndarray], np.ndarray]


def _setup(model: FittedModel) -> _Setup:
    model.structure.require_design("profile")
    ml = refit_ml(model)
    scale = sdcor_scale(ml)
    problem = ml.problem
    factor = BlockedCholesky(problem.cp)
    n_theta = problem.n_theta

    def theta_of(vp: np.ndarray) -> np.ndarray | None:
        if not vp[-1] > 0:
            return None
        return scale.to_theta(vp[:n_theta], vp[-1])

    def deviance(vp: np.ndarray) -> float:
        theta = theta_of(vp)
        if theta is None or not factor.update(theta):
            return np.inf
        return profiled_objective(factor, False, vp[-1])

    def beta(vp: np.ndarray) -> np.ndarray:
        theta = theta_of(vp)
        if theta is None or not factor.update(theta):
            return np.full(problem.n_fixed, np.nan)
        return problem.estimates_from(factor, theta).beta

    var = np.append(scale.from_theta(ml.theta, ml.sigma), ml.sigma)
    return _Setup(ml, scale, list(scale.names) + ["sigma"] + ml.fix_ef_names,
                  np.concatenate([var, ml.estimates.beta]), n_theta + 1,
                  np.append(scale.lower, 0.0), np.append(scale.upper, np.inf),
                  ml.deviance, deviance, beta)


def profile(model: FittedModel, which: list[str] | None = None, alphamax: float = 0.01,
            max_points: int = 100, delta_cutoff: float = 0.125,
            limit_zetas: tuple[float, ...] = ()) -> pd.DataFrame:
    """Zeta traces of the parameters (all of them unless ``which`` names some).

    ``limit_zetas`` (an interval's -z and z): each trace also gets points where zeta
    crosses these values (:mod:`.profile_limits`), so that intervals read off it are the
    profile's crossings rather than a spline's reading between lme4's points.

    Returns
    -------
    DataFrame
        One row per profile point: ``parameter`` (the one held fixed), ``zeta``,
        ``value`` (its value), then the value of every parameter at that point (columns
        named as the parameters: SDs, correlations, ``sigma``, fixed effects). Sorted by
        parameter, then value. ``attrs`` holds the ML deviance (``base_deviance``) and
        the parameters' bounds (``lower``, ``upper``).
    """
    model = as_record(model)
    setup = _setup(model)

    def trace(w: int, tracer: Tracer) -> list[np.ndarray]:
        return _profile_variance(setup, w, tracer) if w < setup.n_var \
            else _profile_fixed(setup, w - setup.n_var, tracer)

    out = trace_table(setup.names, which, trace, alphamax, max_points, delta_cutoff,
                      limit_zetas)
    out.attrs.update(_attributes(setup))
    return out


def trace_table(names: list[str], which: list[str] | None,
                trace: Callable[[int, Tracer], list[np.ndarray]], alphamax: float,
                max_points: int, delta_cutoff: float,
                limit_zetas: tuple[float, ...] = ()) -> pd.DataFrame:
    """Trace the parameters ``which`` (all ``names`` if None) with ``trace(index, tracer)``,
    which returns rows ``(zeta, every parameter's value)``, into the profile table: one row
    per point, ``parameter, value, zeta`` and every parameter, sorted by parameter then
    value. The cutoff is the ``1 - alphamax`` chi-square quantile on ``len(names)`` df."""
    which = names if which is None else list(which)
    unknown = [w for w in which if w not in names]
    if unknown:
        raise NotFoundError(f"no parameter named {unknown}; the parameters are {names}")
    cutoff = float(np.sqrt(stats.chi2.ppf(1 - alphamax, len(names))))
    tracer = Tracer(cutoff, cutoff * delta_cutoff, max_points, tuple(limit_zetas))
    frames = []
    for name in which:
        rows = trace(names.index(name), tracer)
        frame = pd.DataFrame(np.array(rows), columns=["zeta"] + names)
        frame.insert(0, "value", frame[name])
        frame.insert(0, "parameter", name)
        frames.append(frame.drop_duplicates().sort_values("value"))
    return pd.concat(frames, ignore_index=True)


def _attributes(setup: _Setup) -> dict[str, object]:
    """The base deviance, and each parameter's bounds and estimate."""
    n_fixed = len(setup.names) - setup.n_var
    return {"base_deviance": setup.base,
            "lower": dict(zip(setup.names, np.append(setup.lower, [-np.inf] * n_fixed))),
            "upper": dict(zip(setup.names, np.append(setup.upper, [np.inf] * n_fixed))),
            "estimate": dict(zip(setup.names, setup.estimate))}


@dataclass(frozen=True)
class Tracer:
    """lme4's stepping rule along one parameter; ``limit_zetas``: where the trace's
    crossings are located exactly (:meth:`limits`)."""

    cutoff: float
    delta: float
    max_points: int
    limit_zetas: tuple[float, ...] = ()

    def limits(self, rows: list[np.ndarray], column: int,
               zeta_at: Callable[[float, np.ndarray], np.ndarray]) -> list[np.ndarray]:
        """Rows where the trace ``rows`` crosses each of ``limit_zetas``."""
        return crossing_points(rows, column, self.limit_zetas, zeta_at)

    def trace(self, estimate_row: np.ndarray, first: np.ndarray, column: int,
              lower: float, upper: float, zeta_at: Callable[[float, np.ndarray], np.ndarray],
              downward: bool) -> list[np.ndarray]:
        """Points from the estimate outwards; rows are (zeta, parameters...)."""
        rows = [first, estimate_row] if downward else [estimate_row, first]
        while len(rows) < self.max_points:
            last = rows[-1]
            if not (lower < last[column] < upper) or not abs(last[0]) <= self.cutoff:
                break
            value = self._next(rows[-2], last, column, lower, upper)
            rows.append(zeta_at(value, last))
        return rows

    def _next(self, prev: np.ndarray, last: np.ndarray, column: int, lower: float,
              upper: float) -> float:
        num = last[column] - prev[column]
        denom = last[0] - prev[0]
        if not np.isfinite(denom) or denom == 0:
            step = max(MIN_STEP, 2.0 * abs(num))  # a plateau: zeta is flat to the bound
        else:
            step = self.delta * num / denom
            if step < 0:
                step = max(MIN_STEP, 2.0 * abs(num))
            elif abs(step) > MAX_MULT * abs(num):
                step = MAX_MULT * abs(num)
        return float(min(upper, max(lower, last[column] + np.sign(num) * step)))


def _zeta(setup: _Setup, value: float, estimate: float, deviance: float) -> float:
    diff = deviance - setup.base
    if diff < -LOWER_DEVIANCE_TOL * max(1.0, abs(setup.base)):
        warnings.warn(f"profiling found a deviance {-diff:.3g} below the fit's: the fit was "
                      "not at the optimum", ConvergenceWarning, stacklevel=5)
    return float(np.sign(value - estimate) * np.sqrt(max(diff, 0.0)))


def _profile_variance(setup: _Setup, w: int, tracer: Tracer) -> list[np.ndarray]:
    n_var = setup.n_var
    estimate = setup.estimate[w]
    floors = [_held_minimum(setup, setup.estimate[:n_var], {w: estimate, k: 0.0})
              for k in _sd_partners(setup.scale, w)]
    on_floor: set[float] = set()

    def zeta_at(value: float, start_row: np.ndarray) -> np.ndarray:
        vp, dev = _held_minimum(setup, start_row[1:n_var + 1], {w: value})
        for floor_vp, floor_dev in floors:
            if floor_dev < dev:
                candidate = floor_vp.copy()
                candidate[w] = value
                candidate_dev = setup.deviance(candidate)
                if candidate_dev < dev:
                    vp, dev = candidate, candidate_dev
                    on_floor.add(value)
        return np.concatenate([[_zeta(setup, value, estimate, dev)], vp, setup.beta(vp)])

    row0 = np.concatenate([[0.0], setup.estimate])
    first = zeta_at(0.001 if estimate == 0 else estimate * 1.01, row0)
    lower, upper = setup.lower[w], setup.upper[w]
    rows = tracer.trace(row0, first, w + 1, lower, upper, zeta_at, downward=False)
    if estimate > lower:
        rows += tracer.trace(row0, first, w + 1, lower, upper, zeta_at, downward=True)
    rows += _kink_points(rows, w + 1, on_floor, zeta_at)
    rows += _refine_points(rows, w + 1, REFINE_JUMP * tracer.delta, tracer.cutoff, zeta_at)
    return rows + tracer.limits(rows, w + 1, zeta_at)


def _refine_points(rows: list[np.ndarray], column: int, max_jump: float, cutoff: float,
                   zeta_at: Callable[[float, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Points bisecting each gap of the trace (within the cutoff) across which zeta
    jumps by more than ``max_jump``, until no piece does."""
    extra: list[np.ndarray] = []
    gaps = [(a, b, REFINE_BISECTIONS) for a, b in
            zip(*(lambda o: (o, o[1:]))(sorted(rows, key=lambda r: r[column])))]
    while gaps:
        a, b, left = gaps.pop()
        jump = abs(b[0] - a[0])
        if left == 0 or not np.isfinite(jump) or jump <= max_jump \
                or min(abs(a[0]), abs(b[0])) > cutoff:
            continue
        inner = a if abs(a[0]) < abs(b[0]) else b
        row = zeta_at(0.5 * (a[column] + b[column]), inner)
        extra.append(row)
        gaps += [(a, row, left - 1), (row, b, left - 1)]
    return extra


def _kink_points(rows: list[np.ndarray], column: int, on_floor: set[float],
                 zeta_at: Callable[[float, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Points bisecting each gap between a point of the trace on the floor and its
    neighbour off it: zeta has a kink there, which a spline through the two ends would
    smooth over (and a limit may lie in the gap)."""
    ordered = sorted(rows, key=lambda r: r[column])
    extra = []
    for a, b in zip(ordered, ordered[1:]):
        if (a[column] in on_floor) == (b[column] in on_floor):
            continue
        branch, floor = (b, a) if a[column] in on_floor else (a, b)
        for _ in range(KINK_BISECTIONS):
            mid = 0.5 * (branch[column] + floor[column])
            row = zeta_at(mid, branch)
            extra.append(row)
            if mid in on_floor:
                floor = row
            else:
                branch = row
    return extra


def _held_minimum(setup: _Setup, start: np.ndarray,
                  held: dict[int, float]) -> tuple[np.ndarray, float]:
    """The variance parameters minimizing the deviance with the entries ``held`` fixed,
    the others started from ``start``; and that deviance."""
    vp = np.array(start, dtype=float)
    free = np.ones(setup.n_var, dtype=bool)
    for index, value in held.items():
        vp[index] = value
        free[index] = False

    def objective(x: np.ndarray) -> float:
        vp[free] = x
        return setup.deviance(vp)

    x, dev = bounded_minimum(objective, vp[free], setup.lower[free], setup.upper[free])
    vp[free] = x
    return vp, dev


def _sd_partners(scale: SdCorScale, w: int) -> list[int]:
    """The entries of the two SDs that correlation entry ``w`` correlates (the
    correlation has no effect when either is zero); none for an SD or sigma."""
    start = 0
    for pat in scale.patterns:
        if start <= w < start + pat.n_theta:
            row, col = pat.rows[w - start], pat.cols[w - start]
            if row == col:
                return []
            return [start + j for j in range(pat.n_theta)
                    if pat.rows[j] == pat.cols[j] and pat.rows[j] in (row, col)]
        start += pat.n_theta
    return []


def _profile_fixed(setup: _Setup, j: int, tracer: Tracer) -> list[np.ndarray]:
    ml = setup.ml
    p = ml.problem
    keep = np.arange(p.n_fixed) != j
    column = p.x[:, j]
    offset0 = np.zeros(p.n_obs) if p.offset is None else p.offset
    estimate = setup.estimate[setup.n_var + j]
    se = float(np.sqrt(results.fix_ef_cov(ml)[j, j]))  # the ML fit's, as lme4

    def zeta_at(value: float, start_row: np.ndarray | None = None) -> np.ndarray:
        problem = LmmProblem(p.terms, p.x[:, keep], p.y, p.weights, offset0 + value * column,
                             reml=False, sigma=p.sigma)
        result = problem.optimize(ml.settings.optimizer_settings(), ml.theta)
        est = problem.estimates(result.final)
        sigma = np.sqrt(problem.sigma2(est))
        beta = np.insert(est.beta, j, value)
        var = np.append(setup.scale.from_theta(result.final, sigma), sigma)
        return np.concatenate([[_zeta(setup, value, estimate, result.objective)], var, beta])

    row0 = np.concatenate([[0.0], setup.estimate])
    first = zeta_at(estimate + tracer.delta * se)
    col = setup.n_var + j + 1
    rows = tracer.trace(row0, first, col, -np.inf, np.inf, zeta_at, downward=False)
    rows += tracer.trace(row0, first, col, -np.inf, np.inf, zeta_at, downward=True)
    return rows + tracer.limits(rows, col, zeta_at)


def bounded_minimum(fun: Callable[[np.ndarray], float], x0: np.ndarray, lower: np.ndarray,
                    upper: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimize ``fun`` in a box with BOBYQA, from ``x0`` (clipped into the box)."""
    x0 = np.clip(np.asarray(x0, dtype=float), lower, upper)
    if len(x0) == 0:
        return x0, fun(x0)
    f0 = fun(x0)
    fallback = f0 if np.isfinite(f0) else 1e300
    x, f = _bobyqa(fun, x0, lower, upper, FIRST_STEP, fallback)
    if not f <= f0:
        return x0, f0
    # a second run from the end point, with a fresh quadratic model, confirms it
    x2, f2 = _bobyqa(fun, x, lower, upper, FIRST_STEP / 10, fallback)
    return (x2, f2) if f2 < f else (x, f)


def _bobyqa(fun: Callable[[np.ndarray], float], x0: np.ndarray, lower: np.ndarray,
            upper: np.ndarray, scale: float, fallback: float) -> tuple[np.ndarray, float]:
    opt = nlopt.opt(nlopt.LN_BOBYQA, len(x0))
    opt.set_lower_bounds(lower)
    opt.set_upper_bounds(upper)
    opt.set_min_objective(lambda x, grad: _finite(fun(x), fallback))
    opt.set_ftol_abs(INNER_FTOL)
    opt.set_xtol_abs(INNER_XTOL)
    opt.set_maxeval(20_000)
    step = scale * np.maximum(np.abs(x0), 0.1)
    room = np.minimum(x0 - lower, upper - x0)
    step = np.where(room > 0, np.minimum(step, 0.5 * room), step)
    opt.set_initial_step(step)
    try:
        x = opt.optimize(x0)
        return np.asarray(x), float(opt.last_optimum_value())
    except nlopt.RoundoffLimited:
        return x0, fun(x0)


def _finite(value: float, fallback: float) -> float:
    return value if np.isfinite(value) else fallback
