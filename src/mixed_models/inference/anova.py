"""The type III ANOVA table of the fixed-effects terms: F tests for linear mixed models
(lmerTest's ``anova(m, type=3)``), Wald chi-square tests for generalized ones (car's
``Anova(m, type=3)`` of a glmer fit)."""

from __future__ import annotations


import numpy as np
import pandas as pd

from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.errors import InvalidArgumentError
from mixed_models.inference.contrasts import term_contrasts
from mixed_models.inference.kenward_roger import kr_f_test, kr_t_test
from mixed_models.inference.satterthwaite import FTest, TTest, f_test, t_test

DDF_METHODS = ("satterthwaite", "kenward-roger")


def check_ddf(ddf: str, allowed: tuple[str, ...] = DDF_METHODS) -> str:
    """The ddf method in lower case, or an error listing the allowed ones."""
    method = ddf.lower() if isinstance(ddf, str) else ddf
    if method not in allowed:
        raise InvalidArgumentError(f"ddf must be one of {allowed}, got {ddf!r}")
    return method


def contrast_f_test(model: FittedModel, contrasts: np.ndarray, ddf: str) -> FTest:
    """F test of ``contrasts @ beta = 0`` with Satterthwaite or Kenward-Roger df."""
    method = check_ddf(ddf)
    return f_test(model, contrasts) if method == "satterthwaite" else kr_f_test(model, contrasts)


def contrast_t_test(model: FittedModel, contrast: np.ndarray, ddf: str) -> TTest:
    """t test of ``contrast @ beta = 0`` with Satterthwaite or Kenward-Roger df."""
    method = check_ddf(ddf)
    return t_test(model, contrast) if method == "satterthwaite" else kr_t_test(model, contrast)


def anova(model: FittedModel, ddf: str = "satterthwaite") -> pd.DataFrame:
    """Type III F tests of the fixed-effects terms.

    Returns
    -------
    DataFrame
        Indexed by term (``Age``, ``Species``, ``recipe:temp``), columns
        ``F_value, num_df, den_df, p_value``; ``attrs`` records ``ddf`` and ``type``.
        Multi-column terms (factors, interactions) are tested jointly. The intercept is
        not tested.
    """
    model = as_record(model)
    method = check_ddf(ddf)
    rows = {}
    for label, contrasts in term_contrasts(model).items():
        if contrasts.shape[0] == 0:
            rows[label] = (np.nan, 0, np.nan, np.nan)
            continue
        test = contrast_f_test(model, contrasts, method)
        rows[label] = (test.f_value, test.num_df, test.den_df, test.p_value)
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["F_value", "num_df", "den_df", "p_value"])
    table.index.name = "term"
    table.attrs.update(ddf=method, type="III")
    return table


def wald_chisq(diff: np.ndarray, middle: np.ndarray) -> tuple[float, int, float]:
    """The Wald chi-square d' M^+ d of the estimates' departure ``diff`` with covariance
    ``middle``, its df (the rank of ``middle``) and p-value."""
    from scipy import stats

    df = int(np.linalg.matrix_rank(middle))
    chisq = float(diff @ np.linalg.pinv(middle) @ diff)
    return chisq, df, float(stats.chi2.sf(chisq, df))


def wald_anova(model: FittedModel) -> pd.DataFrame:
    """Type III Wald chi-square tests of the fixed-effects terms of a GLMM.

    Returns
    -------
    DataFrame
        Indexed by term, columns ``Chisq, df, p_value``: each term's contrasts (those of
        :func:`anova`, which do not depend on the coding of the factors) tested jointly
        against the Wald covariance of beta, as car's ``Anova(m, type = 3)`` tests them
        under sum-to-zero contrasts. The intercept is not tested. ``attrs`` records
        ``test="wald_chisq"`` and ``type="III"``.
    """
    from mixed_models.fitted.results import fix_ef_cov

    model = as_record(model)
    beta, cov = model.estimates.beta, fix_ef_cov(model)
    rows = {}
    for label, contrasts in term_contrasts(model).items():
        if contrasts.shape[0] == 0:
            rows[label] = (np.nan, 0, np.nan)
            continue
        rows[label] = wald_chisq(contrasts @ beta, contrasts @ cov @ contrasts.T)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["Chisq", "df", "p_value"])
    table.index.name = "term"
    table.attrs.update(test="wald_chisq", type="III")
    return table
