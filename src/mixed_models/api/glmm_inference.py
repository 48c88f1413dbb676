"""The inference of a generalized linear mixed model: simulation, refits, predictions,
the parametric bootstrap, profile intervals and likelihood-ratio tests.

A mixin of :class:`~mixed_models.GLMM`: each method checks its arguments and calls the
free function of :mod:`mixed_models.inference` or :mod:`mixed_models.prediction`
(imported when first called).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixed_models import _validate as check
from mixed_models.api.base import FittedView
from mixed_models.errors import ModelError


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

    # --- profiles ----------------------------------------------------------------------

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
