"""LMM methods for tests, intervals, bootstrap, refitting and prediction.

Each method is a thin delegation to :mod:`mixed_models.inference` or
:mod:`mixed_models.prediction`, imported when first called so that the model layer does
not import the layers above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import pandas as pd


class InferenceMethods:
    """Mixed into :class:`~mixed_models.model.LMM`."""

    # --- parametric bootstrap and simulation (issue 3, part B) ------------------------

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

        return bootstrap(self, nsim, seed=seed, what_to_collect=what_to_collect,
                         how_to_simulate=how_to_simulate, n_jobs=n_jobs, progress=progress)

    def simulate_new_response(self, seed: Any = None) -> np.ndarray:
        """A response drawn from the fitted model (b = Lambda u sigma, e ~ N(0, sigma^2/w),
        plus the offset), one value per observation of the fit."""
        from mixed_models.inference.simulate import simulate_new_response

        return simulate_new_response(self, seed)

    # --- prediction (issue 3, part B) -------------------------------------------------

    def predict(self, newdata: object = None, with_ran_ef: bool = True,
                new_levels: str = "population", *, offset: object = None) -> np.ndarray:
        """Predictions for new data (the fitted values when ``newdata`` is None).

        ``new_levels="population"`` predicts an unseen grouping level by the population
        value; ``"error"`` refuses it. See :func:`mixed_models.prediction.predict`.
        """
        from mixed_models.prediction import predict

        return predict(self, newdata, with_ran_ef, new_levels, offset)

    def predict_with_intervals(self, newdata: object = None, level: float = 0.95,
                               type: str = "confidence", *, with_ran_ef: bool = True,
                               new_levels: str = "population", weights: object = None,
                               offset: object = None) -> pd.DataFrame:
        """Predictions with ``"confidence"`` or ``"prediction"`` intervals: a table
        ``fit, lower, upper``. See :func:`mixed_models.prediction.predict_with_intervals`.
        """
        from mixed_models.prediction import predict_with_intervals

        return predict_with_intervals(self, newdata, level, type, with_ran_ef, new_levels,
                                      weights, offset)

    def cond_cov_ran_ef(self, group: str | None = None) -> pd.DataFrame:
        """Conditional covariance of each level's random effects, as a tidy table
        ``group, level, var1, var2, cov``. See :func:`mixed_models.prediction.cond_cov_ran_ef`.
        """
        from mixed_models.prediction import cond_cov_ran_ef

        return cond_cov_ran_ef(self, group)
