"""LMM: a linear mixed model fitted by REML or ML, with the Ruby gem's vocabulary.

The class is thin: its constructors run one fit function of
:mod:`mixed_models.fitted.fit` and keep the :class:`~mixed_models.fitted.FittedModel`
record it returns; every value, table, test and plot is a free function over that record
(see :mod:`mixed_models.api`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mixed_models.api.ecosystem import EcosystemView
from mixed_models.control import Control


class LMM(EcosystemView):
    """A fitted linear mixed model.

    Build one with :meth:`LMM.from_formula`, :meth:`LMM.from_frame` (the gem's
    ``from_daru``: lists of column names) or ``LMM(x=, y=, zt=, lambdat=...)`` (raw
    matrices and a function theta -> Lambda', the gem's ``LMM.new``). The estimates are
    available as properties (``fix_ef``, ``ran_ef``, ``sigma2``, ``theta``,
    ``deviance``...) and tables through methods (``fix_ef_summary()``, ``var_corr()``...);
    ``record`` is the fitted-model record they are derived from.
    """

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
        from mixed_models.fitted import fit_raw

        self._record = fit_raw(
            x=x, y=y, zt=zt, lambdat=lambdat, start_point=start_point,
            x_col_names=x_col_names, z_col_names=z_col_names, weights=weights, offset=offset,
            reml=reml, lower_bound=lower_bound, upper_bound=upper_bound, sigma=sigma,
            control=control)

    @classmethod
    def from_formula(cls, formula: str, data: object, *, reml: bool = True,
                     weights: object = None, offset: object = None, na_action: str = "drop",
                     start_point: object = None, control: Control | None = None,
                     sigma: float | None = None, progress: bool | str = "auto") -> LMM:
        """Fit a linear mixed model given by an lme4 formula.

        Parameters
        ----------
        formula
            lme4 syntax, e.g. ``"Aggression ~ Age + Species + (Age | Location)"``.
        data
            A pandas or polars data frame (anything narwhals reads; not modified), or
            data bigger than memory, streamed chunk by chunk: a path to a Parquet file
            or directory, a dask DataFrame (summed on the current Dask client's
            workers), a list of frames or a function returning frames. A streamed
            model keeps no rows: ``write_rows(path)`` writes its fitted values and
            residuals (``fitted()`` is a dask series for a dask source).
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
        progress
            A progress bar for each pass over streamed data (rows read, or partitions
            of a dask frame): ``"auto"`` (when standard error is a terminal or in a
            notebook, and tqdm is installed), True or False. An in-memory fit shows none.

        Random-effects terms may carry lme4 2.x's covariance structures: ``us(x | g)``
        (the default), ``diag(x | g)`` (same as ``x || g``), ``cs(x | g)`` (compound
        symmetry) and ``ar1(0 + f | g)`` (autoregressive over the columns' order), each
        with an optional ``hom = TRUE/FALSE`` for one SD for all columns.

        A response that looks binary or like counts gets a
        :class:`~mixed_models.errors.NonGaussianResponseWarning` pointing to
        :class:`~mixed_models.GLMM`.
        """
        from mixed_models.fitted import fit_formula
        from mixed_models.fitted.checks import warn_non_gaussian

        record = fit_formula(
            formula, data, reml=reml, weights=weights, offset=offset, na_action=na_action,
            start_point=start_point, control=control, sigma=sigma, progress=progress)
        warn_non_gaussian(getattr(record.problem, "y", None))
        return cls.from_record(record)

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
        from mixed_models.formula.frame import frame_formula

        formula = frame_formula(response, fixed_effects, random_effects, grouping,
                                covariance)  # type: ignore[arg-type]
        return cls.from_formula(formula, data, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        method = "REML" if self.reml else "ML"
        return (f"<LMM {self.formula!r} fit by {method}: {self.n_obs} obs, "
                f"criterion {self.deviance:.4f}>")
