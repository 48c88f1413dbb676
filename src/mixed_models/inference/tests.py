"""Tests of single parameters: the fixed-effects table with t tests, p-values of fixed
effects (Wald, likelihood ratio, bootstrap) and of random effects.

Vocabulary: ``*_p`` methods return p-values (the gem's ``fix_ef_p``/``ran_ef_p``: a
dict of all Wald p-values, or one float); ``fix_ef_test`` returns the tests themselves
(statistic, df, p-value) as a table.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import InvalidArgumentError, NotFoundError
from mixed_models.inference.anova import check_ddf, contrast_t_test
from mixed_models.inference.lrt import LikelihoodRatioTest, lrt_of_ml_fits, ml_fits
from mixed_models.inference.refit import (
    drop_fix_ef,
    drop_ran_ef,
    fixed_term_labels,
    resolve_fixed_term,
)

SUMMARY_DDF = ("wald", "satterthwaite", "kenward-roger")
P_METHODS = ("wald", "lrt", "bootstrap")


def fix_ef_summary(model: FittedModel, ddf: str = "wald") -> pd.DataFrame:
    """The fixed-effects table.

    ``ddf="wald"``: the gem's ``coef, sd, z_score, WaldZ_p_value``. ``"satterthwaite"``
    or ``"kenward-roger"``: ``coef, sd, df, t_value, p_value`` with lmerTest's t tests
    (Kenward-Roger's ``sd`` is the adjusted one). ``attrs["ddf"]`` records the method.
    """
    model = as_record(model)
    method = check_ddf(ddf, SUMMARY_DDF)
    if method == "wald":
        table = results.fix_ef_summary(model)
    else:
        p = len(model.fix_ef_names)
        tests = [contrast_t_test(model, row, method) for row in np.eye(p)]
        table = pd.DataFrame({"coef": [t.estimate for t in tests], "sd": [t.se for t in tests],
                              "df": [t.df for t in tests], "t_value": [t.t_value for t in tests],
                              "p_value": [t.p_value for t in tests]},
                             index=pd.Index(model.fix_ef_names))
    table.attrs["ddf"] = method
    return table


def _check_method(method: str) -> None:
    if method not in P_METHODS:
        raise InvalidArgumentError(f"method must be one of {P_METHODS}, got {method!r}")


def fix_ef_p(model: FittedModel, method: str = "wald", variable: str | None = None, nsim: int = 1000,
             seed: int | None = None) -> dict[str, float] | float:
    """p-values of the fixed effects (the gem's ``fix_ef_p``).

    ``"wald"``: the Wald z p-value of every coefficient (a dict), or of ``variable``.
    ``"lrt"``/``"bootstrap"``: the likelihood ratio test of the term ``variable``
    (a term of the formula, or the column of a one-column term) against the model
    without it, by chi-square or parametric bootstrap; a REML fit is refitted by ML.
    """
    model = as_record(model)
    _check_method(method)
    if method == "wald":
        p = results.fix_ef_summary(model)["WaldZ_p_value"]
        if variable is None:
            return {k: float(v) for k, v in p.items()}
        if variable not in p.index:
            raise NotFoundError(f"'{variable}' is not a fixed effect; the fixed effects are "
                                f"{list(p.index)}")
        return float(p[variable])
    if variable is None:
        raise InvalidArgumentError(f"method={method!r} tests one term: give variable=, one of "
                                   f"{[t for t, c in fixed_term_labels(model).items() if c]}")
    resolve_fixed_term(model, variable)
    (full,), refitted = ml_fits(model)
    return fixed_lrt(full, variable, method, nsim, seed, refitted).p_value


def fixed_lrt(full: FittedModel, variable: str, method: str, nsim: int, seed: int | None,
              refitted: bool) -> LikelihoodRatioTest:
    """Likelihood ratio test of one fixed-effects term of an ML fit."""
    reduced = drop_fix_ef(full, resolve_fixed_term(full, variable))
    df = full.n_parameters - reduced.n_parameters
    return lrt_of_ml_fits(reduced, full, df, "chi2" if method == "lrt" else "bootstrap",
                          nsim, seed, refitted)


def fix_ef_test(model: FittedModel, method: str = "wald", variable: str | None = None,
                nsim: int = 1000, seed: int | None = None) -> pd.DataFrame:
    """The tests of the fixed effects as a table: ``statistic, df, p_value``.

    ``"wald"``: one row per coefficient (statistic z, df inf). ``"lrt"``/
    ``"bootstrap"``: one row per term of the fixed part (or only ``variable``), the
    statistic being the likelihood ratio of the model without the term (lme4's
    ``drop1``). ``attrs["method"]`` records the method.
    """
    model = as_record(model)
    _check_method(method)
    if method == "wald":
        summary = results.fix_ef_summary(model)
        table = pd.DataFrame({"statistic": summary["z_score"], "df": np.inf,
                              "p_value": summary["WaldZ_p_value"]})
    else:
        terms = [variable] if variable is not None else \
            [t for t, cols in fixed_term_labels(model).items() if cols and t != "intercept"]
        for term in terms:
            resolve_fixed_term(model, term)
        (full,), refitted = ml_fits(model)
        rows = {t: fixed_lrt(full, t, method, nsim, seed, refitted) for t in terms}
        table = pd.DataFrame({"statistic": [r.statistic for r in rows.values()],
                              "df": [r.df for r in rows.values()],
                              "p_value": [r.p_value for r in rows.values()]},
                             index=pd.Index(list(rows)))
    table.attrs["method"] = method
    return table


def ran_ef_p(model: FittedModel, variable: str, grouping: str | tuple[str, ...], method: str = "lrt",
             nsim: int = 1000, seed: int | None = None) -> float:
    """p-value of one random effect: the likelihood ratio test of the model without it.

    As the gem's ``ran_ef_p``: ``"lrt"`` uses the chi-square distribution (which is
    conservative for a variance on its boundary), ``"bootstrap"`` the parametric
    bootstrap. A REML fit is refitted by ML first.
    """
    model = as_record(model)
    if method not in ("lrt", "bootstrap"):
        raise InvalidArgumentError(f"method must be 'lrt' or 'bootstrap', got {method!r}")
    (full,), refitted = ml_fits(model)
    reduced = drop_ran_ef(full, variable, grouping)
    df = full.n_parameters - reduced.n_parameters
    return lrt_of_ml_fits(reduced, full, df, "chi2" if method == "lrt" else "bootstrap",
                          nsim, seed, refitted).p_value
