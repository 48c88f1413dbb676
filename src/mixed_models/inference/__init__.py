"""Inference for fitted models: tests, degrees of freedom, intervals, profiles,
likelihood ratio tests, refits and the parametric bootstrap. The model's methods
delegate here; these are the same functions, taking the model as first argument."""

from mixed_models.inference.anova import anova
from mixed_models.inference.intervals import conf_int, fix_ef_conf_int, profile_intervals
from mixed_models.inference.lrt import (
    LikelihoodRatioTest,
    likelihood_ratio,
    likelihood_ratio_test,
)
from mixed_models.inference.profile import profile
from mixed_models.inference.refit import drop_fix_ef, drop_ran_ef, refit, refit_ml
from mixed_models.inference.tests import fix_ef_p, fix_ef_summary, fix_ef_test, ran_ef_p

__all__ = [
    "LikelihoodRatioTest",
    "anova",
    "conf_int",
    "drop_fix_ef",
    "drop_ran_ef",
    "fix_ef_conf_int",
    "fix_ef_p",
    "fix_ef_summary",
    "fix_ef_test",
    "likelihood_ratio",
    "likelihood_ratio_test",
    "profile",
    "profile_intervals",
    "ran_ef_p",
    "refit",
    "refit_ml",
]
