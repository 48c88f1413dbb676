"""GLMM: a generalized linear mixed model (lme4's ``glmer`` and ``glmer.nb``) with the
Ruby gem's vocabulary.

Like :class:`~mixed_models.LMM`, the class is thin: its constructors run a fit function
of :mod:`mixed_models.fitted.glmm_fit` and keep the record it returns; values come from
:mod:`mixed_models.fitted.results` (shared with LMMs) and
:mod:`mixed_models.fitted.glmm_results`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mixed_models.api.ecosystem import EcosystemView
from mixed_models.api.glmm_inference import (
    GlmmInferenceView, interval_method, not_available, wald_only,
)
from mixed_models._validate import check_level
from mixed_models.control import Control

def _labelled(model: GLMM, values: np.ndarray, name: str) -> pd.Series:
    """Per-row values as a Series labelled by the input frame's index (as the LMM's)."""
    from mixed_models.fitted.results import per_row

    return per_row(model.record, values, name)


class GLMM(GlmmInferenceView, EcosystemView):
    """A fitted generalized linear mixed model.

    Build one with :meth:`GLMM.from_formula`, :meth:`GLMM.from_frame` or ``GLMM(x=, y=,
    zt=, lambdat=...)`` (raw matrices). The estimates are properties (``fix_ef``,
    ``ran_ef``: conditional modes, ``theta``, ``deviance``, ``dispersion``...) and the
    tables methods (``fix_ef_summary()`` with Wald z tests, ``var_corr()``,
    ``ran_ef_table()`` with conditional SDs, ``overdispersion()``...); ``record`` is the
    fitted-model record (``record.is_generalized`` is True).
    """

    def __init__(self, *, x: object, y: object, zt: object,
                 lambdat: Callable[[np.ndarray], object], start_point: object,
                 family: object = "binomial", link: str | None = None, n_agq: int = 1,
                 x_col_names: list[str] | None = None, z_col_names: list[str] | None = None,
                 weights: object = None, offset: object = None, lower_bound: object = None,
                 upper_bound: object = None, control: Control | None = None) -> None:
        """Fit a GLMM given as matrices (the raw form of :class:`~mixed_models.LMM`).

        g(E[y | b]) = offset + X beta + Z b with b = Lambda u, u ~ N(0, I).

        Parameters
        ----------
        x, y, zt
            n x p fixed-effects matrix (full column rank), the response (n,) and the
            q x n transpose of the random-effects matrix (dense or scipy.sparse). A
            binomial response is 0/1, or proportions with the numbers of trials in
            ``weights``.
        lambdat
            theta -> Lambda' (k x q), dense or sparse, of any pattern, e.g.
            ``lambda th: th[0] * chol(K).T``. The system is factored densely, once per
            PIRLS iteration (4 s per fit at 1,000 random effects).
        start_point, lower_bound, upper_bound
            Starting theta and its bounds (default none). Entries bounded below by 0 are
            scale parameters.
        family, link, n_agq, weights, offset, control
            As in :meth:`from_formula`, but n_agq 0 or 1 only and a negative binomial's
            shape fixed (``NegativeBinomial(shape)``).
        x_col_names, z_col_names
            Names of the fixed and random effects (default ``x0..``, ``z0..``).

        The fit uses BOBYQA and Newton steps on differences of the objective (no
        analytic gradient), confirmed as a formula model's is.
        """
        from mixed_models.fitted.glmm_fit import fit_glmm_raw

        self._record = fit_glmm_raw(
            x=x, y=y, zt=zt, lambdat=lambdat, start_point=start_point, family=family,
            link=link, n_agq=n_agq, x_col_names=x_col_names, z_col_names=z_col_names,
            weights=weights, offset=offset, lower_bound=lower_bound,
            upper_bound=upper_bound, control=control)

    @classmethod
    def from_formula(cls, formula: str, data: object, family: object = "binomial",
                     link: str | None = None, n_agq: int = 1, *, weights: object = None,
                     offset: object = None, na_action: str = "drop",
                     start_point: object = None, control: Control | None = None) -> GLMM:
        """Fit a generalized linear mixed model given by an lme4 formula.

        Parameters
        ----------
        formula
            lme4 syntax, e.g. ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``
            or ``"TICKS ~ YEAR + offset(log(n)) + (1 | BROOD)"``.
        data
            A pandas or polars data frame (not modified).
        family
            ``"binomial"`` (links logit, probit, cloglog, cauchit, log), ``"poisson"``
            (log, sqrt, identity), ``"gamma"`` (inverse, log, identity),
            ``"inverse_gaussian"`` (1/mu^2, inverse, log, identity),
            ``"negative_binomial"`` (its shape estimated, as lme4's ``glmer.nb``), or a
            family object such as ``NegativeBinomial(shape=2.0)`` (shape fixed) from
            :mod:`mixed_models.core.glm`.
        link
            The link's name; None takes the family's canonical link (log for the
            negative binomial).
        n_agq
            0 (theta by PIRLS over (u, beta) jointly: fast, approximate), 1 (Laplace,
            the default) or 2-25 adaptive Gauss-Hermite nodes (one scalar random-effect
            term; not for families with an estimated scale).
        weights
            Prior weights (a column or one value per row); for a binomial proportion,
            the numbers of trials. A binomial response may also be 0/1, booleans, a
            two-level factor (second level = success) or ``cbind(successes, failures)``.
        offset
            Added to the linear predictor (column, array or scalar), as are the
            formula's ``offset(...)`` terms.
        na_action
            ``"drop"``, ``"exclude"`` (per-row values padded with NaN) or ``"raise"``.
        start_point
            Starting theta (default: lme4's start).
        control
            Check settings (:class:`~mixed_models.control.Control`: the data checks,
            ``check_singular``, ``check_convergence``) and ``max_evaluations``; the
            optimizer is the GLMM's own (an nAGQ = 0 stage, then Newton steps or BOBYQA
            over theta and beta). By default a grouping factor may have one level per
            observation (an observation-level random effect).
        """
        from mixed_models.fitted.glmm_fit import fit_glmm_formula

        return cls.from_record(fit_glmm_formula(
            formula, data, family=family, link=link, n_agq=n_agq, weights=weights,
            offset=offset, na_action=na_action, start_point=start_point, control=control))

    @classmethod
    def from_frame(cls, *, response: str, fixed_effects: object, random_effects: object,
                   grouping: object, data: object, family: object = "binomial",
                   link: str | None = None, n_agq: int = 1, covariance: object = None,
                   **options: object) -> GLMM:
        """Fit a GLMM given as lists of column names (the gem's ``from_daru``).

        The lists are :meth:`mixed_models.LMM.from_frame`'s: ``fixed_effects=["intercept",
        "period"]``, ``random_effects=[["intercept"]]``, ``grouping=["herd"]`` is
        ``response ~ 1 + period + (1 | herd)``. ``response`` is one column: 0/1,
        booleans, a two-level factor, counts, or a binomial proportion with the numbers
        of trials in ``weights=``. The fit is the one :meth:`from_formula` makes of the
        equivalent formula (``model.formula``) with ``family``, ``link``, ``n_agq`` and
        its keyword ``options``.
        """
        from mixed_models.formula.frame import frame_formula

        formula = frame_formula(response, fixed_effects, random_effects, grouping,
                                covariance)  # type: ignore[arg-type]
        return cls.from_formula(formula, data, family=family, link=link, n_agq=n_agq,
                                **options)  # type: ignore[arg-type]

    # --- what a GLMM is --------------------------------------------------------------------

    @property
    def family(self) -> str:
        """The family's name as lme4 prints it (``binomial``, ``poisson``, ``Gamma``,
        ``inverse.gaussian``, ``negative.binomial``)."""
        return str(self._record.family.name)

    @property
    def link(self) -> str:
        """The link's name (``logit``, ``log``...)."""
        return str(self._record.family.link.name)

    @property
    def n_agq(self) -> int:
        """0, 1 (Laplace) or the number of adaptive Gauss-Hermite nodes."""
        return int(self._record.problem.n_agq)

    @property
    def deviance(self) -> float:
        """-2 log-likelihood under the approximation (Laplace or adaptive Gauss-Hermite),
        the full density included (binomial coefficients, log y!).

        lme4 prints the same number as ``-2*log(L)`` for Laplace fits; with n_agq > 1
        lme4 leaves out the saturated model's log-likelihood, so its value is lower by
        that constant. lme4's ``deviance(m)`` is something else again: the sum of the
        deviance residuals at the conditional modes (``sum(residuals_of("deviance")**2)``
        here).
        """
        return self._record.deviance

    @property
    def log_likelihood(self) -> float:
        """The log-likelihood under the approximation: -deviance / 2."""
        return self._record.log_likelihood

    @property
    def sigma(self) -> float:
        """lme4's ``sigma()``: sqrt(pwrss / n) for Gamma and inverse Gaussian, else 1."""
        return self._record.sigma

    @property
    def dispersion(self) -> float:
        """phi = sigma^2 for Gamma and inverse Gaussian; the negative binomial's shape;
        1 for binomial and Poisson."""
        from mixed_models.fitted.glmm_results import dispersion

        return dispersion(self._record)

    @property
    def residuals(self) -> pd.Series:
        """Response residuals y - mu (for the binomial, y the proportion of successes);
        the other types: :meth:`residuals_of`."""
        from mixed_models.fitted.glmm_results import residuals_of

        return _labelled(self, residuals_of(self._record, "response"), "residual")

    def residuals_of(self, type: str = "deviance") -> pd.Series:
        """Residuals of a type: ``"deviance"`` (default, as lme4), ``"pearson"``,
        ``"response"`` or ``"working"``. See
        :func:`mixed_models.fitted.glmm_results.residuals_of`."""
        from mixed_models.fitted.glmm_results import residuals_of

        return _labelled(self, residuals_of(self._record, type), "residual")

    def fitted(self, with_ran_ef: bool = True) -> pd.Series:
        """Fitted means on the response scale (the probability of a success for the
        binomial): g^-1(X beta + Z b + offset), or g^-1(X beta + offset) without the
        random effects."""
        from mixed_models.fitted.glmm_results import fitted

        return _labelled(self, fitted(self._record, with_ran_ef), "fitted")

    def linear_predictor(self, with_ran_ef: bool = True) -> pd.Series:
        """The linear predictor X beta (+ Z b) + offset, on the link scale."""
        from mixed_models.fitted.glmm_results import linear_predictor

        return _labelled(self, linear_predictor(self._record, with_ran_ef), "eta")

    def overdispersion(self) -> Any:
        """Pearson chi-square over the residual df with its p-value (binomial and Poisson
        only): an :class:`~mixed_models.fitted.glmm_results.Overdispersion`."""
        from mixed_models.fitted.glmm_results import overdispersion

        return overdispersion(self._record)

    def var_corr(self) -> pd.DataFrame:
        """Tidy variance components (lme4's layout); a residual row only for Gamma and
        inverse Gaussian. SDs are theta-based, times sigma for those two families."""
        from mixed_models.fitted.glmm_results import var_corr

        return var_corr(self._record)

    @property
    def dev_fun(self) -> Callable[[np.ndarray], float]:
        """(theta, beta) concatenated -> the objective (``deviance`` at the estimates)."""
        return self._record.problem.deviance_function()

    @property
    def confirmed(self) -> bool:
        """True when the Newton check confirmed the optimum."""
        return bool(self._record.optimization.confirmed)

    # --- tests: Wald only ------------------------------------------------------------------

    def fix_ef_summary(self, ddf: str = "wald") -> pd.DataFrame:
        """Wald z table of the fixed effects: ``coef, sd, z_score, WaldZ_p_value``."""
        wald_only("fix_ef_summary", "ddf", ddf)
        return super().fix_ef_summary("wald")

    def tidy(self, effects: Any = ("fixed", "ran_pars"), conf_int: bool = False,
             conf_level: float = 0.95, ddf: str = "wald") -> pd.DataFrame:
        """broom.mixed's ``tidy`` of a glmer fit: Wald z tests of the fixed effects, the
        random-effect SDs and correlations (the residual SD only for families with a
        scale: Gamma, inverse Gaussian), conditional modes with ``"ran_vals"``. See
        :func:`mixed_models.inference.tidy.tidy`."""
        wald_only("tidy", "ddf", ddf)
        return super().tidy(effects, conf_int, conf_level, "wald")

    def test(self, hypothesis: object, rhs: object = 0.0, ddf: str = "wald") -> pd.DataFrame:
        """Wald chi-square test of a general linear hypothesis L beta = rhs (a matrix, or
        equations such as ``"period_lvl_2 = period_lvl_3"``): ``Chisq, df, p_value``.
        See :func:`mixed_models.inference.hypothesis.wald_chi2`."""
        wald_only("test", "ddf", ddf)
        return super().test(hypothesis, rhs, "wald")

    def fix_ef_p(self, method: str = "wald", variable: str | None = None, nsim: int = 1000,
                 seed: Any = None) -> dict[str, float] | float:
        """Wald z p-values of the fixed effects (``method="wald"`` only, for now)."""
        wald_only("fix_ef_p", "method", method)
        return super().fix_ef_p("wald", variable, nsim, seed)

    def fix_ef_test(self, method: str = "wald", variable: str | None = None,
                    nsim: int = 1000, seed: Any = None) -> pd.DataFrame:
        """Wald z tests as a table ``statistic, df, p_value`` (``method="wald"`` only)."""
        wald_only("fix_ef_test", "method", method)
        return super().fix_ef_test("wald", variable, nsim, seed)

    def fix_ef_conf_int(self, level: float = 0.95, method: str = "wald",
                        boottype: str = "studentized", nsim: int = 1000,
                        seed: Any = None) -> pd.DataFrame:
        """Intervals of the fixed effects: ``method="wald"``, ``"profile"`` (of the
        Laplace or AGQ deviance) or ``"bootstrap"`` (parametric, of type ``boottype``)."""
        interval_method("fix_ef_conf_int", method)
        if method == "profile":
            from mixed_models.inference.glmm_profile import glmm_profile_intervals

            check_level(level)
            return glmm_profile_intervals(self._record, level, self.fix_ef_names)
        return super().fix_ef_conf_int(level, method, boottype, nsim, seed)

    def conf_int(self, method: str = "profile", level: float = 0.95, nsim: int = 1000,
                 boottype: str = "percentile", seed: Any = None) -> pd.DataFrame:
        """Intervals of the random-effect SDs and correlations (and sigma for Gamma and
        inverse Gaussian), then the fixed effects: ``method="profile"`` (lme4's
        ``confint``), ``"bootstrap"`` (parametric) or ``"wald"`` (fixed effects only)."""
        interval_method("conf_int", method)
        if method == "profile":
            from mixed_models.inference.glmm_profile import glmm_profile_intervals

            check_level(level)
            return glmm_profile_intervals(self._record, level)
        table = super().conf_int(method, level, nsim, boottype, seed)
        family = self._record.family
        if not family.has_dispersion or family.name == "negative.binomial":
            table = table.drop(index="sigma", errors="ignore")  # 1 by definition
        return table

    # --- residual diagnostics ---------------------------------------------------------------

    def quantile_residuals(self, nsim: int = 250, seed: Any = None,
                           use_ran_ef: bool = True) -> Any:
        """Simulated quantile residuals (the DHARMa idea) with their Kolmogorov-Smirnov
        test against U(0, 1): a
        :class:`~mixed_models.inference.quantile_residuals.QuantileResiduals` from
        ``nsim`` responses simulated from the fit (seeded by ``seed``).

        By default the responses are drawn given the conditional modes: the residuals
        are then independent, as the test assumes. ``use_ran_ef=False`` draws new random
        effects for each simulation (DHARMa's default), which checks the random
        effects' distribution too, but makes the residuals of one group move together:
        with few groups the KS p-value is then too small."""
        from mixed_models._validate import check_seed
        from mixed_models.inference.glmm_simulate import simulate_responses
        from mixed_models.inference.quantile_residuals import quantile_residuals

        # one generator: the simulations, then the tie-breaking jitter
        rng = np.random.default_rng(check_seed(seed, generators=True))
        simulated = simulate_responses(self._record, nsim, rng, use_ran_ef)
        return quantile_residuals(self._record, simulated, rng)

    def plot_diagnostics(self, fig: Any = None, nsim: int = 250, seed: Any = None) -> Any:
        """The diagnostic panel (needs matplotlib), a Figure: see
        :func:`mixed_models.plotting.glmm_diagnostics.glmm_diagnostic_panel`, with
        :meth:`quantile_residuals` of ``nsim`` simulations seeded by ``seed``."""
        from mixed_models.plotting.glmm_diagnostics import glmm_diagnostic_panel

        return glmm_diagnostic_panel(self._record, self.quantile_residuals(nsim, seed), fig)

    def binned_residuals(self, bins: int | None = None) -> pd.DataFrame:
        """Gelman and Hill's binned residuals of a binary GLMM as a table (see
        :func:`mixed_models.inference.binned_residuals.binned_residuals`)."""
        from mixed_models.inference.binned_residuals import binned_residuals

        return binned_residuals(self._record, bins)

    def plot_quantile_residuals(self, nsim: int = 250, seed: Any = None,
                                use_ran_ef: bool = True, fig: Any = None) -> Any:
        """Draw the uniform Q-Q plot and the residuals-vs-predicted plot of
        :meth:`quantile_residuals` (needs matplotlib); returns the Figure."""
        from mixed_models.plotting.glmm_diagnostics import quantile_residual_panel

        return quantile_residual_panel(self.quantile_residuals(nsim, seed, use_ran_ef),
                                       fig=fig)

    def plot_binned_residuals(self, ax: Any = None, bins: int | None = None) -> Any:
        """Draw the binned residual plot of a binary GLMM (needs matplotlib); returns
        the Axes."""
        from mixed_models.plotting.glmm_diagnostics import binned_residual_plot

        return binned_residual_plot(self._record, ax=ax, bins=bins)

    def write_rows(self, *args: object, **kwargs: object) -> Any:
        """Not available: a GLMM is fitted from rows in memory (there is no streamed
        GLMM whose per-row values would be written chunk by chunk). Raises a ModelError."""
        raise not_available("write_rows")

    # --- presentation ----------------------------------------------------------------------

    def summary(self, ddf: str | None = None) -> Any:
        """lme4's glmer summary as a data object (``print()`` it; ``.to_html()``,
        ``.to_markdown()``). Fixed effects get Wald z tests (``ddf`` None or
        ``"wald"``)."""
        from mixed_models.display.glmm_summary import summarize_glmm

        if ddf is not None:
            wald_only("summary", "ddf", ddf)
        return summarize_glmm(self._record)

    def __repr__(self) -> str:
        return (f"<GLMM {self.formula!r} {self.family}({self.link}): {self.n_obs} obs, "
                f"-2 log-likelihood {self.deviance:.4f}>")
