"""What users of emmeans, performance, broom.mixed and lme4 call after a fit, over a
fitted-model record: marginal means and contrasts, linear hypotheses, R² and ICC, tidy
tables, lme4's ``coef()`` and ``allFit``. Each method calls the free function of
:mod:`mixed_models.inference` (imported when first called); ``mixed_models.compare``
is lme4's ``anova(m1, m2)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mixed_models.api.methods import InferenceView

if TYPE_CHECKING:
    import pandas as pd


class EcosystemView(InferenceView):
    """A fitted model with the R ecosystem's follow-up steps (the base of ``LMM``)."""

    def emmeans(self, specs: str | Sequence[str], by: str | Sequence[str] | None = None,
                ddf: str | None = None, level: float = 0.95,
                at: Mapping[str, object] | None = None, type: str = "link") -> pd.DataFrame:
        """Estimated marginal means (R's emmeans) of ``specs`` (``"Species"``, ``"A:B"``,
        ``"1"``), within ``by`` groups: ``emmean, se, df, lower, upper``. ``ddf``: an
        LMM's ``"satterthwaite"`` (None) or ``"kenward-roger"``; a GLMM's are asymptotic
        z intervals, on the link scale or with ``type="response"`` on the response
        scale (``prob``, ``rate``). See :func:`mixed_models.inference.emmeans.emmeans`."""
        from mixed_models.inference.emmeans import emmeans

        return emmeans(self._record, specs, by, ddf, level, at, type)

    def contrasts(self, specs: str | Sequence[str], method: object = "pairwise",
                  adjust: str | None = None, by: str | Sequence[str] | None = None,
                  ddf: str | None = None, level: float = 0.95,
                  at: Mapping[str, object] | None = None, type: str = "link") -> pd.DataFrame:
        """Contrasts of the marginal means (``"pairwise"``, ``"trt.vs.ctrl"`` or a dict of
        weights), adjusted by ``"tukey"``, ``"dunnettx"``, ``"mvt"``, ``"scheffe"``,
        ``"sidak"``, ``"bonferroni"``, ``"holm"``, ``"hochberg"``, ``"hommel"``, ``"bh"``,
        ``"by"`` or ``"none"``. A GLMM's are z tests on the link scale; ``type="response"``
        gives odds ratios (logit) or ratios (log). See
        :func:`mixed_models.inference.emmeans.contrasts`."""
        from mixed_models.inference.emmeans import contrasts

        return contrasts(self._record, specs, method, adjust, by, ddf, level, at, type)

    def test(self, hypothesis: object, rhs: object = 0.0,
             ddf: str = "satterthwaite") -> pd.DataFrame:
        """F test of a general linear hypothesis: a matrix L (with ``rhs``) or equations
        such as ``"Species_lvl_Human = Species_lvl_Ood"``. See
        :func:`mixed_models.inference.hypothesis.linear_hypothesis`."""
        from mixed_models.inference.hypothesis import linear_hypothesis

        return linear_hypothesis(self._record, hypothesis, rhs, ddf)

    def r2(self) -> dict[str, float]:
        """Nakagawa's ``marginal`` and ``conditional`` R² (random slopes as Johnson's
        extension), as R's performance; a binomial-logit or Poisson-log GLMM's with its
        distribution-specific variance. See :mod:`mixed_models.inference.r2`."""
        from mixed_models.inference.r2 import r2

        return r2(self._record)

    def icc(self) -> dict[str, float]:
        """The ``adjusted`` and ``unadjusted`` intraclass correlation, as R's performance."""
        from mixed_models.inference.r2 import icc

        return icc(self._record)

    def tidy(self, effects: Sequence[str] = ("fixed", "ran_pars"), conf_int: bool = False,
             conf_level: float = 0.95, ddf: str = "satterthwaite") -> pd.DataFrame:
        """broom.mixed's ``tidy``: ``effect, group, term, estimate, std_error, statistic,
        df, p_value`` (and ``conf_low, conf_high``; ``level`` for ``"ran_vals"``). See
        :func:`mixed_models.inference.tidy.tidy`."""
        from mixed_models.inference.tidy import tidy

        return tidy(self._record, effects, conf_int, conf_level, ddf)

    def glance(self) -> pd.DataFrame:
        """broom.mixed's ``glance``: one row of ``nobs, sigma, logLik, AIC, BIC``, the
        criterion and ``df_residual``."""
        from mixed_models.inference.tidy import glance

        return glance(self._record)

    def coef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``coef()``: per grouping factor, fixed plus random coefficients by level."""
        from mixed_models.inference.tidy import coef

        return coef(self._record)

    def all_fit(self) -> pd.DataFrame:
        """Refit with every optimizer (lme4's ``allFit``): objectives, fixed effects, SDs
        side by side. See :func:`mixed_models.inference.allfit.all_fit`."""
        from mixed_models.inference.allfit import all_fit

        return all_fit(self._record)
