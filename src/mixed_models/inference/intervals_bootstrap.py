"""Bootstrap confidence intervals of four types (the gem's ``boottype``, R's boot.ci).

With t the estimate, t*_1..t*_R the replicates' estimates, q_a their a-quantile
(numpy's linear interpolation) and alpha = 1 - level:

* ``percentile``: [q_{alpha/2}, q_{1-alpha/2}];
* ``basic``: [2t - q_{1-alpha/2}, 2t - q_{alpha/2}];
* ``normal``: (t - bias) -/+ z_{1-alpha/2} sd(t*), bias = mean(t*) - t (boot's norm.ci);
* ``studentized``: [t - se q^T_{1-alpha/2}, t - se q^T_{alpha/2}] with
  T_i = (t*_i - t) / se*_i, where se*_i is replicate i's OWN standard error. (The gem
  reuses the original se for every replicate, which turns this into the basic interval.)

Studentized intervals need a standard error per replicate, which only the fixed effects
have; for the variance parameters they are NaN. Replicates whose refit failed are left
out; a correlation that is undefined in a replicate (an SD estimated as zero) is left out
of that parameter's interval only.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import InvalidArgumentError, MixedModelsWarning
from mixed_models.inference.bootstrap import bootstrap, variance_parameters
from mixed_models.inference.bootstrap_runner import Seed

BOOTTYPES = ("studentized", "basic", "normal", "percentile")
PARAMETERS = ("fixed", "all")
_SE = "se:"


def collect_estimates(model: FittedModel, parameters: str = "fixed") -> dict[str, float]:
    """Estimates with the fixed effects' standard errors (columns ``se:<name>``);
    ``parameters="all"`` puts the random-effect SDs, correlations and sigma first."""
    model = as_record(model)
    out = variance_parameters(model) if parameters == "all" else {}
    est = model.estimates
    se = np.sqrt(model.sigma2 * np.diag(est.beta_cov_unscaled))
    for name, value, sd in zip(model.fix_ef_names, est.beta, se):
        out[name] = float(value)
        out[_SE + name] = float(sd)
    return out


def bootstrap_intervals(model: FittedModel, *, level: float = 0.95, boottype: str = "studentized",
                        nsim: int = 1000, seed: Seed = None, parameters: str = "fixed",
                        n_jobs: int | None = None, progress: bool | None = None
                        ) -> pd.DataFrame:
    """Parametric bootstrap confidence intervals.

    Parameters
    ----------
    model
        The fitted model.
    level
        Confidence level, between 0 and 1.
    boottype
        ``"studentized"``, ``"basic"``, ``"normal"``, ``"percentile"`` or ``"all"``.
    nsim, seed, n_jobs, progress
        As in :func:`~mixed_models.inference.bootstrap.bootstrap`.
    parameters
        ``"fixed"``: the fixed effects; ``"all"``: also the random-effect SDs and
        correlations and sigma (named as in :func:`variance_parameters`), before the
        fixed effects (lme4's ``confint`` order).

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter, columns ``lower, upper``; for ``"all"``, a pair
        ``<type>_lower, <type>_upper`` per type. ``attrs`` records level, boottype,
        nsim, the replicates used and the seed.
    """
    model = as_record(model)
    types = _check_options(level, boottype, parameters)
    collect = functools.partial(collect_estimates, parameters=parameters)
    reps = bootstrap(model, nsim, seed=seed, what_to_collect=collect, n_jobs=n_jobs,
                     progress=progress)
    reps = reps.drop(index=list(reps.attrs["failures"]))
    if len(reps) < 2:
        raise InvalidArgumentError(
            f"only {len(reps)} of {nsim} bootstrap refits succeeded; intervals need at least "
            "2 (raise nsim)")
    original = pd.Series(collect(model))
    names = [c for c in original.index if not str(c).startswith(_SE)]
    ses = [_SE + n if _SE + n in original.index else None for n in names]
    if "studentized" in types and None in ses:
        warnings.warn("studentized intervals need a standard error per replicate, which only "
                      "the fixed effects have: the variance parameters' are NaN",
                      MixedModelsWarning, stacklevel=2)
    out = {}
    for kind in types:
        lower, upper = _interval(kind, original, reps, names, ses, level)
        suffix = "" if len(types) == 1 else f"{kind}_"
        out[f"{suffix}lower"], out[f"{suffix}upper"] = lower, upper
    table = pd.DataFrame(out, index=pd.Index(names, name="parameter"))
    table.attrs.update(level=level, boottype=boottype, nsim=nsim, used=len(reps),
                       seed=reps.attrs.get("seed"))
    return table


def _check_options(level: float, boottype: str, parameters: str) -> tuple[str, ...]:
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    if parameters not in PARAMETERS:
        raise InvalidArgumentError(f"parameters must be one of {PARAMETERS}, got {parameters!r}")
    if boottype == "all":
        return BOOTTYPES
    if boottype not in BOOTTYPES:
        raise InvalidArgumentError(
            f"boottype must be one of {BOOTTYPES + ('all',)}, got {boottype!r}")
    return (boottype,)


def _interval(kind: str, original: pd.Series, reps: pd.DataFrame, names: list[str],
              ses: list[str | None], level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1.0 - level
    t = original[names].to_numpy(dtype=float)
    stars = reps[names].to_numpy(dtype=float)
    if kind == "percentile":
        return tuple(np.nanquantile(stars, [alpha / 2, 1 - alpha / 2], axis=0))
    if kind == "basic":
        lo, hi = np.nanquantile(stars, [alpha / 2, 1 - alpha / 2], axis=0)
        return 2 * t - hi, 2 * t - lo
    if kind == "normal":
        half = norm.ppf(1 - alpha / 2) * np.nanstd(stars, axis=0, ddof=1)
        centre = 2 * t - np.nanmean(stars, axis=0)
        return centre - half, centre + half
    return _studentized(t, stars, original, reps, ses, alpha)


def _studentized(t: np.ndarray, stars: np.ndarray, original: pd.Series, reps: pd.DataFrame,
                 ses: list[str | None], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.full(len(t), np.nan), np.full(len(t), np.nan)
    for j, se_name in enumerate(ses):
        if se_name is None:
            continue
        pivots = (stars[:, j] - t[j]) / reps[se_name].to_numpy(dtype=float)
        lo, hi = np.nanquantile(pivots, [alpha / 2, 1 - alpha / 2])
        lower[j], upper[j] = t[j] - original[se_name] * hi, t[j] - original[se_name] * lo
    return lower, upper
