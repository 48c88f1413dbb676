"""The inference of a generalized linear mixed model: simulation, refits, predictions,
the parametric bootstrap, profile intervals, likelihood-ratio tests and the derivatives
at the optimum.

A mixin of :class:`~mixed_models.GLMM`: each method checks its arguments and calls the
free function of :mod:`mixed_models.inference` or :mod:`mixed_models.prediction`
(imported when first called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mixed_models import _validate as check
from mixed_models.api.base import FittedView
from mixed_models.errors import DataTypeError, InvalidArgumentError, ModelError

if TYPE_CHECKING:
    from mixed_models.core.convergence import Derivatives


class GlmmInferenceView(FittedView):
    """Simulation, refits, predictions and likelihood-based inference of a GLMM."""

    # --- simulation and refits ---------------------------------------------------------

    def simulate(self, nsim: int = 1, seed: Any = None, use_ran_ef: bool = False
                 ) -> np.ndarray:
        """Responses drawn from the fitted model, shape ``(n_obs, nsim)``: new random
        effects for each simulation (or the conditional modes with ``use_ran_ef``); for
        the binomial, proportions of the row's trials. See
        :func:`mixed_models.inference.glmm_simulate.simulate_responses`."""
        from mixed_models.inference.glmm_simulate import simulate_responses

        check.check_bool("use_ran_ef", use_ran_ef)
        return simulate_responses(self._record, nsim, seed, use_ran_ef)

    def simulate_new_response(self, seed: Any = None) -> np.ndarray:
        """One response drawn from the fitted model with new random effects."""
        return self.simulate(1, seed)[:, 0]

    def refit(self, newdata: object = None, y: object = None) -> Any:
        """The same model fitted to a new response ``y`` on the same rows (design,
        family, weights, offset and n_agq kept; started from this fit's estimates). A
        GLMM on new data: ``GLMM.from_formula(model.formula, newdata, ...)``."""
        from mixed_models.inference.glmm_refit import refit_response

        if newdata is not None or y is None:
            raise ModelError("a GLMM's refit takes a new response y (one value per "
                             "observation used); for new data fit "
                             "GLMM.from_formula(formula, newdata, family=...)")
        return self.from_record(refit_response(self._record, y))

    # --- tests ------------------------------------------------------------------------

    def anova(self, ddf: str = "wald") -> Any:
        """Type III Wald chi-square tests of the fixed-effects terms (car's
        ``Anova(m, type = 3)`` of a glmer fit under sum-to-zero contrasts): a table
        indexed by term with ``Chisq, df, p_value``; factors and interactions are tested
        jointly, the intercept is not. See
        :func:`mixed_models.inference.anova.wald_anova`."""
        from mixed_models.inference.anova import wald_anova

        if ddf != "wald":
            if not isinstance(ddf, str):
                raise InvalidArgumentError(f"ddf must be 'wald' for a GLMM, got {ddf!r}")
            raise ModelError(f"anova(ddf={ddf!r}) is not available for generalized linear "
                             "mixed models (GLMM): their type III tests are Wald chi-square "
                             "tests (ddf='wald')")
        return wald_anova(self._record)

    # --- likelihood ratio tests ---------------------------------------------------------

    @staticmethod
    def likelihood_ratio(model1: Any, model2: Any) -> float:
        """-2 log L1 - (-2 log L2) of two GLMMs of the same data, family, link and
        n_agq. See :func:`mixed_models.inference.glmm_lrt.glmm_likelihood_ratio`."""
        from mixed_models.inference.glmm_lrt import glmm_likelihood_ratio

        _check_glmms(model1, model2)
        return glmm_likelihood_ratio(model1.record, model2.record)

    @staticmethod
    def likelihood_ratio_test(model1: Any, model2: Any, method: str = "chi2",
                              nsim: int = 1000, seed: Any = None) -> Any:
        """Test the GLMM ``model1`` against ``model2``, in which it is nested
        (``"chi2"`` or ``"bootstrap"``): a
        :class:`~mixed_models.inference.lrt.LikelihoodRatioTest`. See
        :func:`mixed_models.inference.glmm_lrt.glmm_likelihood_ratio_test`."""
        from mixed_models.inference.glmm_lrt import glmm_likelihood_ratio_test

        _check_glmms(model1, model2)
        check.check_positive_int("nsim", nsim, "number of replicates")
        check.check_seed(seed)
        return glmm_likelihood_ratio_test(model1.record, model2.record, method, nsim, seed)

    # --- profiles ----------------------------------------------------------------------

    def convergence_check(self) -> Derivatives:
        """The derivatives of the objective (-2 log-likelihood) over theta and beta at the
        estimate, from the Newton check that confirmed it (lme4's ``optinfo$derivs``):
        the gradient (a parameter on its bound: the one-sided slope), the Hessian (NaN
        rows and columns for parameters on their bound), which parameters are free, and
        the Newton decrement, the decrease a Newton step still promises. An ``n_agq=0``
        fit is not checked: a ModelError."""
        from mixed_models.core.convergence import Derivatives

        check = getattr(self._record.problem.fit, "check", None)
        if check is None:
            raise ModelError("convergence_check() is not available for this GLMM: an "
                             "n_agq=0 fit is not checked by Newton steps; refit with "
                             "n_agq=1 (Laplace) for its derivatives")
        return Derivatives(np.array(check.gradient, dtype=float),
                           np.array(check.hessian, dtype=float),
                           np.array(check.free, dtype=bool), float(check.predicted_decrease))

    def profile(self, which: list[str] | str | None = None,
                alphamax: float = 0.01) -> Any:
        """Likelihood profiles of the Laplace (or AGQ) deviance: the zeta traces of the
        parameters (all, or ``which``), one row per point. See
        :func:`mixed_models.inference.glmm_profile.glmm_profile`."""
        from mixed_models.inference.glmm_profile import glmm_profile

        if isinstance(which, str):
            which = [which]
        check.check_open_unit("alphamax", alphamax, "the smallest tail probability traced")
        return glmm_profile(self._record, which, alphamax)

    # --- prediction --------------------------------------------------------------------

    def predict(self, newdata: object = None, type: str = "link", with_ran_ef: bool = True,
                new_levels: str = "population", *, offset: object = None) -> np.ndarray:
        """Predictions on the link scale (``type="link"``) or the response scale
        (``"response"``: the mean, a probability for the binomial); ``newdata=None``
        predicts the rows of the fit. See
        :func:`mixed_models.prediction.glmm_predict.glmm_predict`."""
        from mixed_models.prediction.glmm_predict import glmm_predict

        check.check_bool("with_ran_ef", with_ran_ef)
        return glmm_predict(self._record, newdata, type, with_ran_ef, new_levels, offset)

    def predict_with_intervals(self, newdata: object = None, level: float = 0.95,
                               type: str = "link", *, with_ran_ef: bool = True,
                               new_levels: str = "population", offset: object = None) -> Any:
        """Predictions with confidence intervals computed on the link scale (mapped
        through the inverse link for ``type="response"``): a table
        ``fit, se_link, lower, upper``. See
        :func:`mixed_models.prediction.glmm_predict.glmm_predict_with_intervals`."""
        from mixed_models.prediction.glmm_predict import glmm_predict_with_intervals

        check.check_level(level)
        check.check_bool("with_ran_ef", with_ran_ef)
        return glmm_predict_with_intervals(self._record, newdata, level, type, with_ran_ef,
                                           new_levels, offset)


def _check_glmms(*models: object) -> None:
    for i, model in enumerate(models, start=1):
        if not isinstance(model, FittedView):
            raise DataTypeError(f"model{i} must be a fitted GLMM, got "
                                f"{check.shown(model)} ({type(model).__name__})")


def not_available(name: str) -> ModelError:
    """The error of a method a GLMM does not have (yet)."""
    return ModelError(f"{name} is not available for generalized linear mixed models (GLMM) "
                      "yet; a GLMM has its estimates, summary(), Wald, profile and bootstrap "
                      "intervals, Wald and likelihood-ratio tests, refits, predictions and "
                      "residual diagnostics (docs/lme4_names.md, GLMM section, lists them)")


def wald_only(name: str, argument: str, value: object) -> None:
    """Refuse any ``argument`` of method ``name`` other than "wald"."""
    if value != "wald":
        if isinstance(value, str):
            raise not_available(f"{name}({argument}={value!r})")
        raise InvalidArgumentError(f"{argument} must be 'wald' for a GLMM, got {value!r}")


def interval_method(name: str, method: object) -> None:
    """Refuse interval methods other than Wald, profile and bootstrap."""
    if method not in ("wald", "profile", "bootstrap"):
        if isinstance(method, str):
            raise not_available(f"{name}(method={method!r})")
        raise InvalidArgumentError(f"method must be 'wald', 'profile' or 'bootstrap', "
                                   f"got {method!r}")
