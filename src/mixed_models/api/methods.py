"""The gem's tests, intervals, refits, bootstrap and predictions over a fitted-model
record: each method checks its arguments and calls the free function of
:mod:`mixed_models.inference` or :mod:`mixed_models.prediction` (imported when first
called, so that ``import mixed_models`` stays light); refits come back as the public
class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from mixed_models import _validate as check
from mixed_models.api.base import FittedView
from mixed_models.errors import DataTypeError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd


class InferenceView(FittedView):
    """A fitted model with the gem's inference vocabulary (the base of ``LMM``)."""

    # --- tests and degrees of freedom -------------------------------------------------

    def fix_ef_summary(self, ddf: str = "wald") -> pd.DataFrame:
        """The fixed-effects table, indexed by fixed effect.

        ``ddf="wald"`` (default): the gem's Wald z table ``coef, sd, z_score,
        WaldZ_p_value``. ``"satterthwaite"`` or ``"kenward-roger"`` (REML fits only):
        lmerTest's t tests, ``coef, sd, df, t_value, p_value``. ``attrs["ddf"]`` records
        the method. See :func:`mixed_models.inference.tests.fix_ef_summary`.
        """
        from mixed_models.inference.tests import fix_ef_summary

        return fix_ef_summary(self._record, ddf)

    def anova(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """Type III F tests of the fixed-effects terms (lmerTest's ``anova``): a table
        indexed by term with ``F_value, num_df, den_df, p_value``; factors and
        interactions are tested jointly. ``ddf`` is ``"satterthwaite"`` or
        ``"kenward-roger"``. See :func:`mixed_models.inference.anova.anova`.
        """
        from mixed_models.inference.anova import anova

        return anova(self._record, ddf)

    def fix_ef_p(self, method: str = "wald", variable: str | None = None, nsim: int = 1000,
                 seed: Any = None) -> dict[str, float] | float:
        """p-values of the fixed effects: ``"wald"`` (all, as a dict, or ``variable``'s),
        ``"lrt"`` or ``"bootstrap"`` (the term ``variable`` against the model without
        it). See :func:`mixed_models.inference.tests.fix_ef_p`.
        """
        from mixed_models.inference.tests import fix_ef_p

        _check_test_options(variable, nsim, seed)
        return fix_ef_p(self._record, method, variable, nsim, seed)

    def fix_ef_test(self, method: str = "wald", variable: str | None = None,
                    nsim: int = 1000, seed: Any = None) -> pd.DataFrame:
        """The tests behind :meth:`fix_ef_p` as a table ``statistic, df, p_value``: per
        coefficient (Wald) or per term (likelihood ratio, bootstrap; all terms unless
        ``variable`` is given). See :func:`mixed_models.inference.tests.fix_ef_test`.
        """
        from mixed_models.inference.tests import fix_ef_test

        _check_test_options(variable, nsim, seed)
        return fix_ef_test(self._record, method, variable, nsim, seed)

    def ran_ef_p(self, variable: str, grouping: str | tuple[str, ...], method: str = "lrt",
                 nsim: int = 1000, seed: Any = None) -> float:
        """p-value of the random effect ``variable`` (``"intercept"``, ``"Age"``...) of
        ``grouping``, by a likelihood ratio test (``"lrt"``, chi-square) or a parametric
        bootstrap. See :func:`mixed_models.inference.tests.ran_ef_p`.
        """
        from mixed_models.inference.tests import ran_ef_p

        check.check_name("variable", variable)
        check.check_grouping(grouping)
        _check_test_options(None, nsim, seed)
        return ran_ef_p(self._record, variable, grouping, method, nsim, seed)

    @staticmethod
    def likelihood_ratio(model1: Any, model2: Any) -> float:
        """2 (log L2 - log L1) of the ML fits of two models of the same data (REML fits
        are refitted by ML). See :func:`mixed_models.inference.lrt.likelihood_ratio`.
        """
        from mixed_models.inference.lrt import likelihood_ratio

        _check_models(model1, model2)
        return likelihood_ratio(model1.record, model2.record)

    @staticmethod
    def likelihood_ratio_test(model1: Any, model2: Any, method: str = "chi2",
                              nsim: int = 1000, seed: Any = None) -> Any:
        """Test the restricted ``model1`` against ``model2`` (``"chi2"`` or
        ``"bootstrap"``): a :class:`~mixed_models.inference.lrt.LikelihoodRatioTest`
        with ``statistic, df, p_value``. REML fits are refitted by ML (with a
        RefitWarning); non-nested models or different data are refused.
        """
        from mixed_models.inference.lrt import likelihood_ratio_test

        _check_models(model1, model2)
        _check_test_options(None, nsim, seed)
        return likelihood_ratio_test(model1.record, model2.record, method, nsim, seed)

    # --- intervals and profiles -------------------------------------------------------

    def fix_ef_conf_int(self, level: float = 0.95, method: str = "wald",
                        boottype: str = "studentized", nsim: int = 1000,
                        seed: Any = None) -> pd.DataFrame:
        """Confidence intervals of the fixed effects: ``lower, upper`` indexed by fixed
        effect. ``method`` is ``"wald"``, ``"profile"``, ``"bootstrap"`` (of type
        ``boottype``: ``"studentized"``, ``"basic"``, ``"normal"``, ``"percentile"``) or
        ``"all"`` (a pair of columns per method and bootstrap type).
        See :func:`mixed_models.inference.intervals.fix_ef_conf_int`.
        """
        from mixed_models.inference.intervals import fix_ef_conf_int

        check.check_level(level)
        _check_test_options(None, nsim, seed)
        return fix_ef_conf_int(self._record, level, method, boottype, nsim, seed)

    def conf_int(self, method: str = "profile", level: float = 0.95, nsim: int = 1000,
                 boottype: str = "percentile", seed: Any = None) -> pd.DataFrame:
        """Confidence intervals of every parameter (lme4's ``confint``): rows
        ``sd_<column>|<group>``, ``cor_<row>.<column>|<group>``, ``sigma``, then the
        fixed effects; columns ``lower, upper``. ``method`` is ``"profile"`` (ML
        profile, a REML fit is refitted by ML), ``"bootstrap"`` or ``"wald"`` (fixed
        effects only; NaN for the others). See
        :func:`mixed_models.inference.intervals.conf_int`.
        """
        from mixed_models.inference.intervals import conf_int

        check.check_level(level)
        _check_test_options(None, nsim, seed)
        return conf_int(self._record, method, level, nsim, boottype, seed)

    def profile(self, which: list[str] | str | None = None,
                alphamax: float = 0.01) -> pd.DataFrame:
        """Likelihood profiles: the zeta traces of the parameters (all, or ``which``: a
        name or a list of names), one row per point; ``alphamax`` (between 0 and 1) sets
        how far each trace goes. See :func:`mixed_models.inference.profile.profile`.
        """
        from mixed_models.inference.profile import profile

        which = _check_which(which)
        check.check_open_unit("alphamax", alphamax, "the smallest tail probability traced")
        return profile(self._record, which, alphamax)

    # --- refits -----------------------------------------------------------------------

    def refit(self, newdata: object = None, y: object = None) -> Any:
        """The same model fitted to ``newdata``, or to a new response ``y`` on the same
        rows. See :func:`mixed_models.inference.refit.refit`.
        """
        from mixed_models.inference.refit import refit

        _check_refit_data(newdata, y)
        return self.from_record(refit(self._record, newdata, y))

    def drop_fix_ef(self, name: str) -> Any:
        """The model refitted without the fixed-effects term ``name`` (``"Age"``,
        ``"Species"``, ``"intercept"``...). See
        :func:`mixed_models.inference.refit.drop_fix_ef`.
        """
        from mixed_models.inference.refit import drop_fix_ef

        check.check_name("name", name)
        return self.from_record(drop_fix_ef(self._record, name))

    def drop_ran_ef(self, variable: str, grouping: str | tuple[str, ...]) -> Any:
        """The model refitted without the random effect ``variable`` of ``grouping``.
        See :func:`mixed_models.inference.refit.drop_ran_ef`.
        """
        from mixed_models.inference.refit import drop_ran_ef

        check.check_name("variable", variable)
        check.check_grouping(grouping)
        return self.from_record(drop_ran_ef(self._record, variable, grouping))

    # --- parametric bootstrap and simulation ------------------------------------------

    def bootstrap(self, nsim: int, *, seed: Any = None,
                  what_to_collect: Callable[[Any], Any] | None = None,
                  how_to_simulate: Callable[[Any, np.random.Generator], np.ndarray] | None = None,
                  n_jobs: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Parametric bootstrap: one row per replicate of the statistics collected from
        refits to responses simulated from this fit.

        See :func:`mixed_models.inference.bootstrap.bootstrap` for the options (seed,
        ``what_to_collect(refit)``, ``how_to_simulate(model, rng)``, processes,
        progress bar).
        """
        from mixed_models.inference.bootstrap import bootstrap

        return bootstrap(self._record, nsim, seed=seed, what_to_collect=what_to_collect,
                         how_to_simulate=how_to_simulate, n_jobs=n_jobs, progress=progress,
                         view=type(self).from_record)

    def simulate_new_response(self, seed: Any = None) -> np.ndarray:
        """A response drawn from the fitted model (b = Lambda u sigma, e ~ N(0, sigma^2/w),
        plus the offset), one value per observation of the fit."""
        from mixed_models.inference.simulate import simulate_new_response

        return simulate_new_response(self._record, seed)

    # --- prediction -------------------------------------------------------------------

    def predict(self, newdata: object = None, with_ran_ef: bool = True,
                new_levels: str = "population", *, offset: object = None) -> pd.Series:
        """Predictions for new data (the fitted values when ``newdata`` is None), a
        Series labelled by ``newdata``'s index (0..n-1 for polars).

        ``new_levels="population"`` predicts an unseen grouping level by the population
        value; ``"error"`` refuses it. See :func:`mixed_models.prediction.predict`.
        """
        from mixed_models.prediction import predict

        check.check_bool("with_ran_ef", with_ran_ef)
        return predict(self._record, newdata, with_ran_ef, new_levels, offset)

    def predict_with_intervals(self, newdata: object = None, level: float = 0.95,
                               type: str = "confidence", *, with_ran_ef: bool = True,
                               new_levels: str = "population", weights: object = None,
                               offset: object = None) -> pd.DataFrame:
        """Predictions with ``"confidence"`` or ``"prediction"`` intervals: a table
        ``fit, lower, upper``. See :func:`mixed_models.prediction.predict_with_intervals`.
        """
        from mixed_models.prediction import predict_with_intervals

        check.check_level(level)
        check.check_bool("with_ran_ef", with_ran_ef)
        return predict_with_intervals(self._record, newdata, level, type, with_ran_ef,
                                      new_levels, weights, offset)

    def cond_cov_ran_ef(self, group: str | None = None) -> pd.DataFrame:
        """Conditional covariance of each level's random effects, as a tidy table
        ``group, level, var1, var2, cov``. See :func:`mixed_models.prediction.cond_cov_ran_ef`.
        """
        from mixed_models.prediction import cond_cov_ran_ef

        check.check_name("group", group, optional=True)
        return cond_cov_ran_ef(self._record, group)


def _check_test_options(variable: object, nsim: object, seed: object) -> None:
    """The options shared by the tests and intervals (checked whatever the method)."""
    check.check_name("variable", variable, optional=True)
    check.check_positive_int("nsim", nsim, "number of replicates")
    check.check_seed(seed)


def _check_models(*models: object) -> None:
    for i, model in enumerate(models, start=1):
        if not isinstance(model, FittedView):
            raise DataTypeError(
                f"model{i} must be a fitted LMM, got {check.shown(model)} "
                f"({type(model).__name__})")


def _check_which(which: object) -> list[str] | None:
    """None, or the parameter names as a list (one name may be given as a string)."""
    if which is None:
        return None
    if isinstance(which, str):
        return [which]
    if isinstance(which, Iterable):
        names = list(which)
        if all(isinstance(w, str) for w in names):
            return names
    raise DataTypeError(
        f"which must be a parameter's name or a list of names, got {check.shown(which)}")


def _check_refit_data(newdata: object, y: object) -> None:
    if newdata is not None:
        from mixed_models.design.frame import to_pandas

        try:
            to_pandas(newdata)
        except DataTypeError:
            raise DataTypeError(
                f"newdata must be a data frame (pandas, polars or another narwhals-supported "
                f"frame), got {check.shown(newdata)} ({type(newdata).__name__})") from None
    if y is not None:
        try:
            np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise DataTypeError(
                f"y must be one number per observation of the fit, got {check.shown(y)}"
            ) from None
