"""The parametric bootstrap: simulate from the fit, refit, collect; and its LRT p-value.

Each replicate simulates a response from the fitted model
(:func:`~mixed_models.inference.simulate.simulate_response`), refits the same model to
it and collects statistics of the refit. The refit reuses the model's structure: only
the cross-products that involve y are recomputed (``LmmProblem.with_response``).

Refits start from the fit's theta (a warm start: small models then need a few Newton
steps) and skip the polish of a fit's derivative-free path: its changes are far below
the spread of the replicates (docs/performance.md has the measurements). With the
default statistics, the replicates of a single-term model are fitted all at once
(:mod:`.bootstrap_batched`: the same responses, optima at least as low); the few it
leaves (a variance at zero) go through the path above.

User callbacks (``what_to_collect``, ``how_to_simulate``) receive the public model
(``view`` of the record, an ``LMM`` when called through one); the defaults read the
record directly.

Unstable: the names of the variance-parameter columns (``sd_<column>|<group>``,
``cor_<row>.<column>|<group>``, ``sigma``) follow ``conf_int``'s row names and change
with them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mixed_models._validate import check_callable, check_positive_int
from mixed_models.core.crossprod import term_lambdas
from mixed_models.core.problem import LmmProblem
from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import (
    ConvergenceWarning,
    InvalidArgumentError,
    MixedModelsError,
    ModelError,
)
from mixed_models.fitted.fit import fit_problem
from mixed_models.inference.bootstrap_batched import batched_records, eligible, variance_values
from mixed_models.inference.bootstrap_runner import (
    Seed, replicate_seeds, resolve_n_jobs, run_replicates,
)
from mixed_models.inference.refit import with_response
from mixed_models.inference.simulate import simulate_response
from mixed_models.progress import wants_bar

Collector = Callable[[FittedModel], Any]
Simulator = Callable[[FittedModel, np.random.Generator], np.ndarray]

# A refit that fails for numeric reasons becomes a row of NaN; anything else (a bug in
# a user's callable) propagates.
_REFIT_FAILURES = (MixedModelsError, ArithmeticError, np.linalg.LinAlgError)
# Replicates left by the batched fit are refitted in processes from this many on (fewer
# cost less than starting the processes).
_SINGLE_IN_PROCESSES = 200
# Replicate statistics within this relative distance of the observed one count as ties.
_TIE_TOL = 1e-8


@dataclasses.dataclass(frozen=True)
class Failure:
    """A replicate whose refit failed, with the reason."""

    message: str


def refit_response(model: FittedModel, y: np.ndarray) -> FittedModel:
    """The model refitted to another response, every setting kept (a bootstrap replicate).

    The refit's warnings are not shown; they are in its ``warnings`` list. Its design is
    the original's with ``y`` replaced (its data frame still holds the original
    response column). The refit starts from the model's theta and is not polished
    (see the module's notes).
    """
    model = as_record(model)
    if model.is_generalized:
        from mixed_models.inference.glmm_refit import quiet_refit

        return quiet_refit(model, y)
    problem, structure = with_response(model, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_problem(problem, structure, model.control, model.theta,
                          dataclasses.replace(model.settings, polish=False))
    return dataclasses.replace(fit, warnings=tuple(str(w.message) for w in caught))


def variance_parameters(model: FittedModel) -> dict[str, float]:
    """Random-effect SDs and correlations, then sigma (the rows of ``conf_int``).

    Keys: ``sd_<column>|<group>`` and ``cor_<row>.<column>|<group>`` (the correlation of
    a later column with an earlier one, lme4's naming), within a grouping factor in
    theta's order (column-major over the lower triangle: ``sd_intercept``,
    ``cor_Days.intercept``, ``sd_Days``), grouping factors in the model's order, then
    ``sigma``. Values are those of ``var_corr()``.
    """
    model = as_record(model)
    return variance_values(model.structure.blocks(), _term_covariances(model),
                           None if _scale_free(model) else float(model.sigma))


def _term_covariances(model: FittedModel) -> list[np.ndarray]:
    """``results.term_covariances``; for a formula model's problem straight from its
    terms' lambdas (a refit's problem would otherwise form its cross-products of the
    original columns just to find them)."""
    problem = model.problem
    if not isinstance(problem, LmmProblem):
        return results.term_covariances(model)
    theta = model.theta
    lams = term_lambdas(problem.terms, problem.theta_slices, theta)
    return [model.sigma2 * lam @ lam.T for lam in lams]


def _scale_free(model: FittedModel) -> bool:
    """A GLMM without a scale parameter (binomial, Poisson, negative binomial): its
    sigma is 1 by definition, not an estimate."""
    if not model.is_generalized:
        return False
    family = model.family
    return not family.has_dispersion or family.name == "negative.binomial"


def default_collect(model: FittedModel) -> dict[str, float]:
    """What :func:`bootstrap` collects by default: the fixed effects, the random-effect
    SDs and correlations, sigma and the deviance (REML criterion for REML fits)."""
    model = as_record(model)
    out = results.fix_ef(model)
    out.update(variance_parameters(model))
    out["deviance"] = float(model.deviance)
    return out


class _BootstrapTask:
    """One replicate: simulate, refit, collect (a picklable callable)."""

    def __init__(self, model: FittedModel, collect: Collector, simulate: Simulator):
        self.model, self.collect, self.simulate = model, collect, simulate

    def __call__(self, rng: np.random.Generator) -> dict[Any, float] | Failure:
        y = _checked_response(self.simulate(self.model, rng), self.model.n_obs)
        try:
            fit = refit_response(self.model, y)
        except _REFIT_FAILURES as exc:
            return Failure(f"{type(exc).__name__}: {exc}")
        return _as_record(self.collect(fit))


class _Viewed:
    """A user's callable applied to the public model of a record (picklable)."""

    def __init__(self, func: Callable[..., Any], view: Callable[[FittedModel], object]):
        self.func, self.view = func, view

    def __call__(self, fit: FittedModel, *args: Any) -> Any:
        return self.func(self.view(fit), *args)


def _viewed(func: Callable[..., Any] | None, default: Callable[..., Any],
            view: Callable[[FittedModel], object] | None) -> Callable[..., Any]:
    if func is None:
        return default
    return func if view is None else _Viewed(func, view)


def public_view(model: object) -> Callable[[FittedModel], object] | None:
    """How to show a record to a user's callback: as the public class of ``model`` when
    it is one (it has ``from_record``), else as the record itself."""
    return None if isinstance(model, FittedModel) else getattr(type(model), "from_record", None)


def _checked_response(y: object, n_obs: int) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.shape != (n_obs,):
        raise InvalidArgumentError(
            f"how_to_simulate returned an array of shape {y.shape}; it must return one "
            f"value per observation of the fit, shape ({n_obs},)")
    if not np.all(np.isfinite(y)):
        raise InvalidArgumentError(
            f"how_to_simulate returned {int(np.sum(~np.isfinite(y)))} missing or infinite "
            "values; a simulated response must be finite")
    return y


def _as_record(value: object) -> dict[Any, float]:
    """A collector's result as {column: value}: a mapping or Series keeps its keys, a
    number becomes column ``value``, a sequence is numbered 0, 1, ..."""
    if isinstance(value, (Mapping, pd.Series)):
        return {k: float(v) for k, v in value.items()}
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return {"value": float(array)}
    return dict(enumerate(map(float, array.ravel())))


def bootstrap(model: FittedModel, nsim: int, *, seed: Seed = None,
              what_to_collect: Collector | None = None,
              how_to_simulate: Simulator | None = None, n_jobs: int | None = None,
              progress: bool | None = None,
              view: Callable[[FittedModel], object] | None = None) -> pd.DataFrame:
    """Parametric bootstrap: a table with one row per replicate.

    Parameters
    ----------
    model
        The fitted model to simulate from and refit.
    nsim
        Number of replicates.
    seed
        Seed of the run (an int, a :class:`numpy.random.SeedSequence` or None for fresh
        entropy, recorded in ``attrs["seed"]``). Replicate i draws from the i-th child
        of this seed, so the table does not depend on ``n_jobs``.
    what_to_collect
        ``refit -> statistics``: a dict or Series (one column per key), a number (column
        ``value``) or a sequence (columns 0, 1, ...). Default :func:`default_collect`.
    how_to_simulate
        ``(model, rng) -> response`` of length ``model.n_obs``; it must draw from
        ``rng`` for the run to be reproducible. Default: simulate from the fit.
    n_jobs
        Processes (None or -1: all cores).
    progress
        Progress bar (:func:`mixed_models.progress.progress_bar`): True (tqdm must be
        installed), False, or None / ``"auto"`` (on a terminal or in a notebook, when
        tqdm is installed).
    view
        record -> the object the user's callbacks receive (default: the public class
        of ``model`` when it is one, else the record).

    Returns
    -------
    pandas.DataFrame
        Indexed by replicate (0 .. nsim-1). A replicate whose refit failed is a row of
        NaN (with a ConvergenceWarning); ``attrs`` holds ``seed`` and ``failures``
        ({replicate: reason}).
    """
    _check_nsim(nsim)
    check_callable("what_to_collect", what_to_collect, "refit -> statistics")
    check_callable("how_to_simulate", how_to_simulate, "(model, rng) -> response")
    entropy, seeds = replicate_seeds(seed, nsim)
    view = view or public_view(model)
    model = as_record(model)
    model.structure.require_rows("the parametric bootstrap")
    task = _BootstrapTask(model, _viewed(what_to_collect, default_collect, view),
                          _viewed(how_to_simulate, default_simulate(model), view))
    if what_to_collect is None and how_to_simulate is None and eligible(model):
        records = _batched_then_single(task, model, seeds, n_jobs, progress)
    else:
        records = run_replicates(task, seeds, n_jobs=n_jobs, progress=progress)
    failures = {i: r.message for i, r in enumerate(records) if isinstance(r, Failure)}
    table = pd.DataFrame([{} if isinstance(r, Failure) else r for r in records],
                         index=pd.RangeIndex(nsim, name="replicate"), dtype=float)
    _warn_failures(failures, nsim)
    table.attrs.update(seed=entropy, failures=failures)
    return table


def _batched_then_single(task: _BootstrapTask, model: FittedModel,
                         seeds: list[np.random.SeedSequence], n_jobs: int | None,
                         progress: bool | None) -> list[Any]:
    """Every replicate fitted in one batch; those it leaves (a variance at zero) refitted
    one by one, in processes when they are many. ``n_jobs`` and ``progress`` are checked
    as the per-replicate path checks them, whether or not it runs."""
    resolve_n_jobs(n_jobs, len(seeds))
    wants_bar("auto" if progress is None else progress)
    records: list[Any] = list(batched_records(model, seeds))
    left = [i for i, r in enumerate(records) if r is None]
    if left:
        jobs = n_jobs if len(left) >= _SINGLE_IN_PROCESSES else 1
        for i, r in zip(left, run_replicates(task, [seeds[i] for i in left], n_jobs=jobs,
                                             progress=progress)):
            records[i] = r
    return records


def default_simulate(model: FittedModel) -> Simulator:
    """How a replicate's response is drawn by default: from the fitted LMM, or from the
    GLMM's family with new random effects."""
    if model.is_generalized:
        from mixed_models.inference.glmm_simulate import simulate_one

        return simulate_one
    return simulate_response


def _check_nsim(nsim: object) -> None:
    check_positive_int("nsim", nsim, "number of replicates")


def _warn_failures(failures: dict[int, str], nsim: int) -> None:
    if failures:
        first = min(failures)
        warnings.warn(
            f"{len(failures)} of {nsim} bootstrap refits failed and are left out (NaN); "
            f"the first, replicate {first}: {failures[first]}", ConvergenceWarning,
            stacklevel=3)


# --- bootstrap likelihood ratio test ------------------------------------------------


class _LrtTask:
    """One replicate of the LRT: simulate under the null, refit both models."""

    def __init__(self, null_model: FittedModel, alt_model: FittedModel):
        self.null_model, self.alt_model = null_model, alt_model

    def __call__(self, rng: np.random.Generator) -> float:
        y = default_simulate(self.null_model)(self.null_model, rng)
        try:
            return _refit_deviance(self.null_model, y) - _refit_deviance(self.alt_model, y)
        except _REFIT_FAILURES:
            return np.nan


def _refit_deviance(model: FittedModel, y: np.ndarray) -> float:
    return float(refit_response(model, y).deviance)


def bootstrap_lrt_p(null_model: FittedModel, alt_model: FittedModel, nsim: int, *, seed: Seed = None,
                    n_jobs: int | None = None, progress: bool | None = None) -> float:
    """Parametric bootstrap p-value of the likelihood ratio test (pbkrtest's PBmodcomp).

    Responses are simulated from the null model; both models are refitted to each, and
    the p-value is (#{replicate statistic >= observed} + 1) / (nsim + 1), with the
    statistic null deviance minus alternative deviance. Replicates whose refits failed
    are left out (with a warning). Statistics within relative 1e-8 of the observed one
    count as at least as large (both are zero when the extra parameters sit on a
    boundary).

    Parameters
    ----------
    null_model, alt_model
        The two fits, on the same observations. ML fits; REML fits only when their fixed
        effects are the same (the REML criteria of different fixed effects are not
        comparable). Nesting is not checked here.
    nsim, seed, n_jobs, progress
        As in :func:`bootstrap`.
    """
    null_model, alt_model = as_record(null_model), as_record(alt_model)
    _check_nsim(nsim)
    _check_comparable(null_model, alt_model)
    observed = max(null_model.deviance - alt_model.deviance, 0.0)
    _, seeds = replicate_seeds(seed, nsim)
    stats = np.asarray(run_replicates(_LrtTask(null_model, alt_model), seeds, n_jobs=n_jobs,
                                      progress=progress, label="bootstrap LRT"), dtype=float)
    failed = np.isnan(stats)
    _warn_failures({int(i): "a refit failed" for i in np.flatnonzero(failed)}, nsim)
    stats = stats[~failed]
    extreme = np.sum(stats >= observed - _TIE_TOL * max(1.0, observed))
    return float((extreme + 1) / (len(stats) + 1))


def _check_comparable(null_model: FittedModel, alt_model: FittedModel) -> None:
    if null_model.n_obs != alt_model.n_obs or \
            not np.array_equal(null_model.problem.y, alt_model.problem.y):
        raise ModelError(
            f"the two models are not fitted to the same observations ({null_model.n_obs} "
            f"and {alt_model.n_obs} rows, or different responses); a likelihood ratio test "
            "compares fits to the same data")
    if null_model.reml != alt_model.reml:
        raise ModelError("one model is fitted by REML and the other by ML; fit both by ML "
                         "(reml=False) to compare them")
    if null_model.reml and null_model.fix_ef_names != alt_model.fix_ef_names:
        raise ModelError(
            f"REML fits with different fixed effects ({null_model.fix_ef_names} and "
            f"{alt_model.fix_ef_names}) cannot be compared; fit both by ML (reml=False)")
