"""LMM: a linear mixed model fitted by REML or ML, with the Ruby gem's vocabulary.

The fit is a pipeline of short stages (as lme4's ``lmer``): parse the formula, build the
design from the data, build the numeric problem, optimize theta, assemble the
estimates. Stored values are properties; anything that builds a table or takes options
is a method. Tables are made in :mod:`mixed_models.results`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from mixed_models import results
from mixed_models._display_methods import DisplayMethods
from mixed_models._fitting_methods import FittingMethods, start_theta
from mixed_models._inference_methods import InferenceMethods
from mixed_models.control import Control, enforce, fit_arguments
from mixed_models.core.convergence import Derivatives, derivatives
from mixed_models.core.optimize import OptimizationResult, OptimizerSettings
from mixed_models.core.problem import LmmProblem
from mixed_models.design import ModelDesign, build_design
from mixed_models.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ModelError,
    SingularFitWarning,
)
from mixed_models.formula import parse_formula

SINGULAR_TOL = 1e-4
# Finite-difference diagnostics cost about 2 k^2 evaluations: only for small k.
MAX_DIAGNOSED_THETA = 20


class LMM(FittingMethods, InferenceMethods, DisplayMethods):
    """A fitted linear mixed model.

    Build one with :meth:`LMM.from_formula`, :meth:`LMM.from_frame` (the gem's
    ``from_daru``: lists of column names) or ``LMM(x=, y=, zt=, lambdat=...)`` (raw
    matrices and a function theta -> Lambda', the gem's ``LMM.new``). The estimates are
    available as properties (``fix_ef``, ``ran_ef``, ``sigma2``, ``theta``,
    ``deviance``...) and tables through methods (``fix_ef_summary()``, ``var_corr()``...).
    """

    _raw = None  # RawSpec of a model built from raw matrices

    def __init__(self, *, x: object, y: object, zt: object,
                 lambdat: Callable[[np.ndarray], object], start_point: object,
                 x_col_names: list[str] | None = None, z_col_names: list[str] | None = None,
                 weights: object = None, offset: object = None, reml: bool = True,
                 lower_bound: object = None, upper_bound: object = None,
                 sigma: float | None = None, control: Control | None = None) -> None:
        """Fit a linear mixed model given as matrices (the gem's ``LMM.new``).

        y = X beta + Z b + e with b = Lambda u, u ~ N(0, sigma^2 I), e ~ N(0, sigma^2 / w).

        Parameters
        ----------
        x, y, zt
            n x p fixed-effects matrix (full column rank), response (n,), and the q x n
            transpose of the random-effects matrix (dense or scipy.sparse).
        lambdat
            theta -> Lambda' (usually q x q upper triangular; k x q for k spherical
            effects), dense or sparse, e.g. ``lambda th: th[0] * chol(K).T`` for a
            kinship matrix K. Its pattern may be anything; the general core factors a
            dense (k + p + 1) square matrix per evaluation (up to 8,000 random effects).
        start_point
            Starting theta (its length is the number of covariance parameters).
        x_col_names, z_col_names
            Names of the fixed and random effects (default ``x0..``, ``z0..``).
        weights, offset, reml
            As in :meth:`from_formula` (arrays here).
        lower_bound, upper_bound
            Bounds of theta (default none). Entries bounded below by 0 are scale
            parameters: snapped to 0 when tiny, and below 1e-4 they mark a singular fit.
        sigma
            A known residual SD, held fixed instead of estimated.
        control
            Optimizer and check settings.
        """
        from mixed_models.constructors import raw_problem

        reml, control = fit_arguments(reml, control)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            problem, raw = raw_problem(
                x, y, zt, lambdat, start_point, x_col_names=x_col_names,
                z_col_names=z_col_names, weights=weights, offset=offset, reml=reml,
                lower_bound=lower_bound, upper_bound=upper_bound, sigma=sigma)
            fitted = type(self)._fit(problem, None, start_point, _settings(control), control)
        self.__dict__.update(fitted.__dict__)
        self._raw = raw
        self._reemit(caught)

    # --- construction ----------------------------------------------------------------

    @classmethod
    def from_formula(cls, formula: str, data: object, *, reml: bool = True,
                     weights: object = None, offset: object = None, na_action: str = "drop",
                     start_point: object = None, control: Control | None = None,
                     sigma: float | None = None) -> LMM:
        """Fit a linear mixed model given by an lme4 formula.

        Parameters
        ----------
        formula
            lme4 syntax, e.g. ``"Aggression ~ Age + Species + (Age | Location)"``.
        data
            A pandas or polars data frame (anything narwhals reads). Not modified.
        reml
            Fit by REML (default) or by maximum likelihood.
        weights
            Prior (precision) weights, as lme4's: a column name or one positive value per
            row; row i has residual variance sigma^2 / w_i.
        offset
            A known term added to the linear predictor: column name, array or scalar.
        na_action
            ``"drop"`` rows with missing values in the model's columns, ``"exclude"``
            (drop them, but give fitted values and residuals one entry per input row,
            NaN for the dropped rows, as R's na.exclude), or ``"raise"``.
        start_point
            Starting theta (default: lme4's start).
        control
            Optimizer and check settings, see :class:`~mixed_models.control.Control`.
        sigma
            A known residual SD, held fixed instead of estimated (MixedModels.jl's
            ``σ=``); the objective is then algorithm.md's d(theta | sigma).

        Random-effects terms may carry lme4 2.x's covariance structures: ``us(x | g)``
        (the default), ``diag(x | g)`` (same as ``x || g``), ``cs(x | g)`` (compound
        symmetry) and ``ar1(0 + f | g)`` (autoregressive over the columns' order), each
        with an optional ``hom = TRUE/FALSE`` for one SD for all columns.
        """
        from mixed_models.constructors import check_sigma

        reml, control = fit_arguments(reml, control)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_sigma(sigma)
            parsed = parse_formula(formula)
            design = build_design(parsed, data, weights, offset, na_action, control)
            problem = LmmProblem([r.term_data() for r in design.random], design.fixed.matrix,
                                 design.y, design.weights, design.offset, reml=reml,
                                 sigma=sigma)
            model = cls._fit(problem, design, start_point, _settings(control), control)
        model._reemit(caught)
        return model

    @classmethod
    def from_frame(cls, *, response: str, fixed_effects: object, random_effects: object,
                   grouping: object, data: object, covariance: object = None,
                   **options: object) -> LMM:
        """Fit a model given as lists of column names (the gem's ``from_daru``).

        ``fixed_effects=["intercept", "Age", "Species"]``, ``random_effects=[["intercept",
        "Age"]]``, ``grouping=["Location"]`` is ``Aggression ~ 1 + Age + Species + (1 +
        Age | Location)``. ``"intercept"`` is never implied; ``"no_intercept"`` removes
        it; a tuple ``("a", "b")`` is an interaction (in ``grouping``, the factor
        ``a:b``). ``covariance`` gives the terms' structures (``"us"``, ``"diag"``,
        ``"cs"``, ``"ar1"``). The fit is the one :meth:`from_formula` makes of the
        equivalent formula (``model.formula``); ``options`` are its keyword options.
        """
        from mixed_models.constructors import frame_formula

        formula = frame_formula(response, fixed_effects, random_effects, grouping,
                                covariance)  # type: ignore[arg-type]
        return cls.from_formula(formula, data, **options)  # type: ignore[arg-type]

    @classmethod
    def _fit(cls, problem: LmmProblem, design: ModelDesign | None, start_point: object,
             settings: OptimizerSettings, control: Control | None = None,
             polish: bool = True) -> LMM:
        # polish=False: bootstrap refits, where the Newton polish costs 60% more
        # evaluations for changes far below the replicates' spread.
        model = object.__new__(cls)
        # the optimizer works in centred and scaled columns (core.reparam); its result is
        # mapped back to the original ones below
        model._problem = problem.internal
        model._design = design
        model._settings = settings
        model._control = control or Control()
        model._start_point = start_point
        start = start_theta(problem.internal) if start_point is None else \
            problem.theta_to_internal(np.asarray(start_point, dtype=float))
        if polish and model._newton_confirms():
            rest = model._fit_by_blocked_gradient(start)
            if rest is not None:
                model._fit_confirmed_by_newton(*rest)
        else:
            model._optimization = problem.internal.optimize(settings, start)
            if polish:
                model._polish()
        model._problem = problem
        model._optimization = problem.result_to_original(model._optimization)
        if not np.isfinite(model._optimization.objective):
            raise DataError(
                "the objective is not finite at the optimum: the random effects reproduce the "
                "response exactly (e.g. it is constant within every group), so no residual "
                "variance can be estimated"
            )
        model._estimates = problem.estimates(model._optimization.final)
        model._check_fit()
        return model

    def _check_fit(self) -> None:
        opt, control = self._optimization, self._control
        if not (opt.converged and opt.confirmed):
            enforce(control.check_convergence, self._convergence_message(), ModelError,
                    ConvergenceWarning, stacklevel=5)
        spread = float(np.std(self._problem.y))
        if self._problem.sigma is None and spread > 0 and self.sigma < 1e-6 * spread:
            warnings.warn(
                f"the residual SD ({self.sigma:.3g}) is below 1e-6 of the response's SD "
                f"({spread:.3g}): the random effects reproduce the response almost exactly "
                "(e.g. it is constant within groups), so the variance estimates are not "
                "reliable", DataWarning, stacklevel=5)
        if self.singular:
            enforce(control.check_singular,
                    "boundary (singular) fit: the estimated covariance matrix of some random "
                    "effects is singular (a variance is zero or a correlation is +-1). The fit "
                    "is valid, but the model may be more complex than the data support: "
                    "consider removing the term or the correlation ('||').",
                    ModelError, SingularFitWarning, stacklevel=5)

    def _convergence_message(self) -> str:
        opt = self._optimization
        why = (f"the optimizer stopped with return code {opt.return_code}" if not opt.converged
               else f"a restart from the end point still lowered the objective after "
                    f"{opt.restarts} restarts")
        detail = ""
        if self._problem.n_theta <= MAX_DIAGNOSED_THETA:
            d = self.convergence_check()
            detail = (f"; max |gradient| {np.max(np.abs(d.gradient[d.free]), initial=0):.3g}, "
                      f"a Newton step would lower the objective by {d.decrement:.3g}")
        return (f"the optimum is not confirmed: {why} ({opt.evaluations} evaluations, objective "
                f"{opt.objective:.10g}){detail}. Try Control(optimizer='newuoa'), another "
                "start_point, or rescaling the predictors.")

    def _reemit(self, caught: list[warnings.WarningMessage]) -> None:
        self.warnings: list[str] = []
        for w in caught:
            self.warnings.append(str(w.message))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    # --- stored values ---------------------------------------------------------------

    @property
    def reml(self) -> bool:
        """True when fitted by REML, False for maximum likelihood."""
        return self._problem.reml

    @property
    def formula(self) -> str | None:
        """The formula as given (None for a model built from matrices)."""
        return None if self._design is None else self._design.parsed.formula

    @property
    def control(self) -> Control:
        """The optimizer and check settings the model was fitted with."""
        return self._control

    @property
    def optimization_result(self) -> OptimizationResult:
        """What the optimizer did: start, final theta, evaluations, return code."""
        return self._optimization

    @property
    def theta(self) -> np.ndarray:
        """Covariance parameters: the entries of each term's relative covariance factor.

        Terms are in lme4's order (most levels first), each term's entries column-major
        over the lower triangle. A ``cs``/``ar1`` term's entries are its SDs relative to
        sigma and then its correlation rho (lme4 2.x's ``par``); a raw-matrix model's are
        the arguments of its ``lambdat``.
        """
        return self._optimization.final.copy()

    @property
    def deviance(self) -> float:
        """The optimized REML criterion (REML fits) or -2 log-likelihood (ML fits)."""
        return self._optimization.objective

    @property
    def log_likelihood(self) -> float:
        """The log-likelihood (the REML log-likelihood for a REML fit)."""
        return -0.5 * self.deviance

    @property
    def n_parameters(self) -> int:
        """Number of estimated parameters: fixed effects, theta and sigma."""
        return self._problem.n_fixed + self._problem.n_theta + (self._problem.sigma is None)

    @property
    def aic(self) -> float:
        """Akaike's information criterion from ``deviance``."""
        return self.deviance + 2 * self.n_parameters

    @property
    def bic(self) -> float:
        """Schwarz's Bayesian information criterion from ``deviance``."""
        return self.deviance + self.n_parameters * np.log(self.n_obs)

    @property
    def n_obs(self) -> int:
        """Number of observations used (after dropping rows with missing values)."""
        return self._problem.n_obs

    @property
    def n_dropped(self) -> int:
        """Rows of the data dropped for missing values."""
        return 0 if self._design is None else self._design.frame.n_dropped

    @property
    def n_groups(self) -> dict[str, int]:
        """Number of levels of each grouping factor (none for a raw-matrix model)."""
        if self._design is None:
            return {}
        return {r.group: r.n_levels for r in self._design.random}

    @property
    def sigma2(self) -> float:
        """Residual variance."""
        return self._problem.sigma2(self._estimates)

    @property
    def sigma(self) -> float:
        """Residual standard deviation."""
        return float(np.sqrt(self.sigma2))

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects (aliased columns excluded)."""
        if self._design is None:
            return list(self._raw.x_col_names)
        return list(self._design.fixed.names)

    @property
    def fix_ef(self) -> dict[str, float]:
        """Fixed-effects estimates by name."""
        return dict(zip(self.fix_ef_names, map(float, self._estimates.beta)))

    @cached_property
    def ran_ef_names(self) -> list[str]:
        """Keys of ``ran_ef``: ``<column>_<level>``, see :func:`results.ran_ef_keys`
        (``z0, z1, ...`` or ``z_col_names`` for a raw-matrix model)."""
        if self._design is None:
            return list(self._raw.z_col_names)
        return results.ran_ef_keys(self._design.random)

    @property
    def ran_ef(self) -> dict[str, float]:
        """Conditional modes of the random effects (BLUPs) by name."""
        values = np.concatenate([b.ravel() for b in self._estimates.b])
        return dict(zip(self.ran_ef_names, map(float, values)))

    @property
    def fix_ef_cov_mat(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates."""
        cov = self.sigma2 * self._estimates.beta_cov_unscaled
        return pd.DataFrame(cov, index=self.fix_ef_names, columns=self.fix_ef_names)

    @property
    def sigma_mat(self) -> pd.DataFrame:
        """Covariance of the random effects of one level of each grouping factor.

        Block-diagonal over grouping factors; labelled ``Location`` (intercept) and
        ``Location_Age`` (slope) as the gem does.
        """
        return results.sigma_mat(self, fill=0.0)

    @property
    def singular(self) -> bool:
        """True for a boundary fit (some lambda diagonal entry below 1e-4, as lme4; for
        cs/ar1 terms also a correlation at the edge of its range), judged in the
        centred and scaled columns the fit works in, so that a covariate's units and
        origin do not change the answer."""
        return self._problem.singular(self.theta, SINGULAR_TOL)

    @property
    def residuals(self) -> np.ndarray:
        """Response minus fitted values (with random effects).

        One per input row, NaN for dropped rows, when fitted with ``na_action="exclude"``.
        """
        return self._align(self._problem.y - self._fitted(True))

    @property
    def dev_fun(self) -> Callable[[np.ndarray], float]:
        """theta -> the model's objective (REML criterion or ML deviance)."""
        return self._problem.detached_objective()

    @cached_property
    def model_data(self) -> results.ModelData:
        """The model's matrices: X, y, Zt (sparse), Lambdat (sparse), weights, offset."""
        return results.model_data(self)

    # --- methods -----------------------------------------------------------------------

    def fitted(self, with_ran_ef: bool = True) -> np.ndarray:
        """Fitted values X beta (+ Z b when ``with_ran_ef``) plus any offset.

        One per input row, NaN for dropped rows, when fitted with ``na_action="exclude"``.
        """
        return self._align(self._fitted(with_ran_ef))

    def _align(self, values: np.ndarray) -> np.ndarray:
        frame = None if self._design is None else self._design.frame
        if frame is not None and frame.na_action == "exclude":
            return frame.pad(values)
        return values

    def _fitted(self, with_ran_ef: bool) -> np.ndarray:
        problem = self._problem
        out = problem.x @ self._estimates.beta
        if problem.offset is not None:
            out = out + problem.offset
        if with_ran_ef:
            out = out + problem.random_part(self._estimates.b)
        return out

    def convergence_check(self) -> Derivatives:
        """Finite-difference gradient and Hessian of the objective at the estimate, and
        the Newton decrement (the decrease a Newton step promises, in objective units).

        Taken over the theta of the internal centred and scaled columns, where the
        optimizer works (the same as ``theta`` when no column needed it)."""
        problem = self._problem
        theta = problem.theta_to_internal(self.theta)  # where the optimizer worked
        return derivatives(problem.internal.detached_objective(), theta,
                           problem.internal.bounded_mask(theta))

    def ran_ef_summary(self) -> pd.DataFrame:
        """Random-effect SDs on the diagonal and correlations off it, per grouping factor."""
        return results.ran_ef_summary(self)

    def ran_ef_cov(self) -> pd.DataFrame:
        """Random-effect variances and covariances, laid out as ``ran_ef_summary``."""
        return results.sigma_mat(self, fill=np.nan)

    def var_corr(self) -> pd.DataFrame:
        """Tidy variance components: ``group, var1, var2, vcov, sdcor`` (lme4's layout)."""
        return results.var_corr(self)

    def ran_ef_table(self) -> pd.DataFrame:
        """Tidy conditional modes: ``group, level, term, value, cond_sd``."""
        return results.ran_ef_table(self)

    def cond_cov_mat_ran_ef(self) -> pd.DataFrame:
        """Full conditional covariance matrix of the random effects given the data.

        A dense q x q table, so only for models with up to 10,000 random effects.
        """
        return results.cond_cov_mat_ran_ef(self)

    def __repr__(self) -> str:
        method = "REML" if self.reml else "ML"
        return (f"<LMM {self.formula!r} fit by {method}: {self.n_obs} obs, "
                f"criterion {self.deviance:.4f}>")


def _settings(control: Control) -> OptimizerSettings:
    # "auto" is BOBYQA where the fitting methods do not choose otherwise
    optimizer = "bobyqa" if control.optimizer == "auto" else control.optimizer
    return OptimizerSettings(optimizer=optimizer, max_evaluations=control.max_evaluations)
