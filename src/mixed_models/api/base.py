"""The gem's stored values and tables over a fitted-model record.

Stored values are properties; anything that builds a table or takes options is a
method. Every value comes from :mod:`mixed_models.fitted.results` or the record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from mixed_models.control import Control
from mixed_models.core.lazy import lazy_module
from mixed_models.errors import DataTypeError

if TYPE_CHECKING:
    from mixed_models.core.convergence import Derivatives
    from mixed_models.core.optimize import OptimizationResult
    from mixed_models.fitted.record import FittedModel

# the fit machinery loads when a model is first built, not with the package
results = lazy_module("mixed_models.fitted.results")

View = TypeVar("View", bound="FittedView")


class FittedView:
    """A fitted model seen through the gem's vocabulary (the base of ``LMM``)."""

    _record: FittedModel

    @classmethod
    def from_record(cls: type[View], record: FittedModel) -> View:
        """The public model of a fitted-model record."""
        from mixed_models.fitted.record import FittedModel

        if not isinstance(record, FittedModel):
            raise DataTypeError(f"from_record needs a fitted-model record (FittedModel), got "
                                f"{type(record).__name__}")
        model = object.__new__(cls)
        model._record = record
        return model

    @property
    def record(self) -> FittedModel:
        """The fitted-model record: the problem, structure, estimates and optimization
        summary every other value is derived from."""
        return self._record

    @property
    def warnings(self) -> list[str]:
        """The messages of the warnings the fit raised."""
        return list(self._record.warnings)

    @property
    def reml(self) -> bool:
        """True when fitted by REML, False for maximum likelihood."""
        return self._record.reml

    @property
    def formula(self) -> str | None:
        """The formula as given (None for a model built from matrices)."""
        return self._record.formula

    @property
    def control(self) -> Control:
        """The optimizer and check settings the model was fitted with."""
        return self._record.control

    @property
    def optimization_result(self) -> OptimizationResult:
        """What the optimizer did: start, final theta, evaluations, return code."""
        return self._record.optimization

    @property
    def theta(self) -> np.ndarray:
        """Covariance parameters: the entries of each term's relative covariance factor.

        Terms are in lme4's order (most levels first), each term's entries column-major
        over the lower triangle. A ``cs``/``ar1`` term's entries are its SDs relative to
        sigma and then its correlation rho (lme4 2.x's ``par``); a raw-matrix model's are
        the arguments of its ``lambdat``.
        """
        return self._record.theta

    @property
    def deviance(self) -> float:
        """The optimized REML criterion (REML fits) or -2 log-likelihood (ML fits)."""
        return self._record.deviance

    @property
    def log_likelihood(self) -> float:
        """The log-likelihood (the REML log-likelihood for a REML fit)."""
        return self._record.log_likelihood

    @property
    def n_parameters(self) -> int:
        """Number of estimated parameters: fixed effects, theta and sigma."""
        return self._record.n_parameters

    @property
    def aic(self) -> float:
        """Akaike's information criterion from ``deviance``."""
        return self._record.aic

    @property
    def bic(self) -> float:
        """Schwarz's Bayesian information criterion from ``deviance``."""
        return self._record.bic

    @property
    def n_obs(self) -> int:
        """Number of observations used (after dropping rows with missing values)."""
        return self._record.n_obs

    @property
    def n_dropped(self) -> int:
        """Rows of the data dropped for missing values."""
        return self._record.structure.n_dropped

    @property
    def n_groups(self) -> dict[str, int]:
        """Number of levels of each grouping factor (none for a raw-matrix model)."""
        return self._record.structure.n_groups

    @property
    def sigma2(self) -> float:
        """Residual variance."""
        return self._record.sigma2

    @property
    def sigma(self) -> float:
        """Residual standard deviation."""
        return self._record.sigma

    @property
    def fix_ef_names(self) -> list[str]:
        """Names of the fixed effects (aliased columns excluded)."""
        return self._record.fix_ef_names

    @property
    def fix_ef(self) -> dict[str, float]:
        """Fixed-effects estimates by name."""
        return results.fix_ef(self._record)

    @property
    def ran_ef_names(self) -> list[str]:
        """Keys of ``ran_ef``: ``<column>_<level>`` (``<column>_<group>_<level>`` when
        two grouping factors share a level label; ``z0, z1, ...`` or ``z_col_names`` for
        a raw-matrix model)."""
        return self._record.ran_ef_names

    @property
    def ran_ef(self) -> dict[str, float]:
        """Conditional modes of the random effects (BLUPs) by name."""
        return results.ran_ef(self._record)

    @property
    def fix_ef_cov_mat(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates."""
        return results.fix_ef_cov_mat(self._record)

    @property
    def sigma_mat(self) -> pd.DataFrame:
        """Covariance of the random effects of one level of each grouping factor.

        Block-diagonal over grouping factors; labelled ``Location`` (intercept) and
        ``Location_Age`` (slope) as the gem does.
        """
        return results.sigma_mat(self._record, fill=0.0)

    @property
    def singular(self) -> bool:
        """True for a boundary fit (some lambda diagonal entry below 1e-4, as lme4; for
        cs/ar1 terms also a correlation at the edge of its range), judged in the
        centred and scaled columns the fit works in, so that a covariate's units and
        origin do not change the answer."""
        return self._record.singular

    @property
    def residuals(self) -> pd.Series:
        """Response minus fitted values (with random effects), a Series labelled by the
        input frame's index.

        One per input row, NaN for dropped rows, when fitted with ``na_action="exclude"``;
        one per row used (with those rows' labels) with ``"drop"``. Polars input and raw
        matrices are labelled 0..n-1; a streamed model gives a lazy dask series.
        """
        return results.per_row(self._record, results.residuals(self._record), "residual")

    @property
    def dev_fun(self) -> Callable[[np.ndarray], float]:
        """theta -> the model's objective (REML criterion or ML deviance)."""
        return results.dev_fun(self._record)

    @property
    def model_data(self) -> results.ModelData:
        """The model's matrices: X, y, Zt (sparse), Lambdat (sparse), weights, offset."""
        return results.model_data(self._record)

    def fitted(self, with_ran_ef: bool = True) -> pd.Series:
        """Fitted values X beta (+ Z b when ``with_ran_ef``) plus any offset, a Series
        labelled as :attr:`residuals`."""
        return results.per_row(self._record, results.fitted(self._record, with_ran_ef),
                               "fitted")

    def write_rows(self, path: str, with_ran_ef: bool = True) -> int:
        """Write the fitted values and residuals of every row of a model fitted from
        streamed data (a Parquet path, a dask DataFrame, a list of frames) to a Parquet
        file, chunk by chunk; returns the number of rows (NaN where a row was dropped)."""
        from mixed_models.fitted.streamed import write_streamed_rows

        return write_streamed_rows(self._record, path, with_ran_ef)

    def convergence_check(self) -> Derivatives:
        """Finite-difference gradient and Hessian of the objective at the estimate, and
        the Newton decrement (the decrease a Newton step promises, in objective units),
        over the theta of the internal centred and scaled columns, where the optimizer
        works (the same as ``theta`` when no column needed it)."""
        return results.convergence_check(self._record)

    def ran_ef_summary(self) -> pd.DataFrame:
        """Random-effect SDs on the diagonal and correlations off it, per grouping factor."""
        return results.ran_ef_summary(self._record)

    def ran_ef_cov(self) -> pd.DataFrame:
        """Random-effect variances and covariances, laid out as ``ran_ef_summary``."""
        return results.sigma_mat(self._record, fill=np.nan)

    def var_corr(self) -> pd.DataFrame:
        """Tidy variance components: ``group, var1, var2, vcov, sdcor`` (lme4's layout)."""
        return results.var_corr(self._record)

    def ran_ef_table(self) -> pd.DataFrame:
        """Tidy conditional modes: ``group, level, term, value, cond_sd``."""
        return results.ran_ef_table(self._record)

    def cond_cov_mat_ran_ef(self) -> pd.DataFrame:
        """Full conditional covariance matrix of the random effects given the data.

        A dense q x q table, so only for models with up to 10,000 random effects.
        """
        return results.cond_cov_mat_ran_ef(self._record)

    # --- presentation -------------------------------------------------------------------

    def summary(self, ddf: str | None = None) -> Any:
        """Everything lme4's ``summary()`` shows, as a data object (a
        :class:`~mixed_models.display.ModelSummary`): ``print()`` it for text,
        ``.to_html()`` and ``.to_markdown()`` for the other renderings. ``ddf`` chooses
        the tests of the fixed effects (``"wald"``, ``"satterthwaite"``,
        ``"kenward-roger"``); None shows Satterthwaite's t tests, as lmerTest does
        (Wald z tests where those are not defined)."""
        from mixed_models.display import summarize

        return summarize(self._record, ddf=ddf)

    def __str__(self) -> str:
        return self.summary().to_text()

    def _repr_html_(self) -> str:
        return self.summary().to_html()

    def plot_diagnostics(self, fig: Any = None) -> Any:
        """Draw the standard diagnostic panel (needs matplotlib: ``mixed_models[plot]``);
        returns the Figure. See :func:`mixed_models.plotting.diagnostic_panel`."""
        from mixed_models.plotting import diagnostic_panel

        return diagnostic_panel(self._record, fig=fig)
