"""Model comparison (lme4's ``anova(m1, m2, ...)``) over fitted-model records.

Every model is fitted by maximum likelihood (REML fits are refitted by ML first, with a
RefitWarning, as lme4 does), the models are sorted by their number of parameters and
each is tested against the one before it: Chisq = 2 (log L - log L before) (at least 0),
Df = the difference in parameters, p from the chi-square distribution.

Unstable: only same data (rows, response, weights, offset) is checked, not nesting
(lme4 checks neither; the chi-square test means something only for nested models,
while AIC and BIC compare any models of the same data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.record import as_record


def compare(*models: object, names: list[str] | None = None) -> pd.DataFrame:
    """lme4's ``anova`` table of two or more models of the same data: ``npar, AIC, BIC,
    logLik, deviance, Chisq, Df, p_value``, indexed by ``names`` (default ``model1``,
    ``model2``... in the order given), rows sorted by ``npar``."""
    from mixed_models.inference.lrt import check_same_data, ml_fits

    if len(models) < 2:
        raise InvalidArgumentError(f"compare needs at least two models, got {len(models)}")
    records = [as_record(m, f"model{i}") for i, m in enumerate(models, start=1)]
    names = _names(names, len(records))
    for other in records[1:]:
        _check_same_family(records[0], other)
        check_same_data(records[0], other)
    fits, _ = ml_fits(*records)
    fits = [as_record(f) for f in fits]
    order = sorted(range(len(fits)), key=lambda i: fits[i].n_parameters)
    rows = [fits[i] for i in order]
    npar = np.array([f.n_parameters for f in rows])
    loglik = np.array([f.log_likelihood for f in rows])
    chisq = np.concatenate([[np.nan], 2.0 * np.maximum(0.0, np.diff(loglik))])
    dfs = np.concatenate([[np.nan], np.diff(npar)])
    with np.errstate(invalid="ignore"):
        p = np.where(dfs > 0, stats.chi2.sf(chisq, np.where(dfs > 0, dfs, 1)), np.nan)
    p[0] = np.nan
    table = pd.DataFrame({
        "npar": npar, "AIC": [f.aic for f in rows], "BIC": [f.bic for f in rows],
        "logLik": loglik, "deviance": [f.deviance for f in rows], "Chisq": chisq,
        "Df": pd.array([pd.NA] + [int(d) for d in dfs[1:]], dtype="Int64"),
        "p_value": p}, index=pd.Index([names[i] for i in order]))
    return table


def _family_label(record: object) -> str:
    family = record.family  # type: ignore[attr-defined]
    if isinstance(family, str):
        return family
    return f"{family.name}({family.link.name})"


def _check_same_family(first: object, other: object) -> None:
    """Likelihoods of different response distributions are not comparable."""
    a, b = _family_label(first), _family_label(other)
    if a != b:
        raise ModelError(f"the models have different families ({a} and {b}); compare "
                         "models of one family and link")


def _names(names: list[str] | None, n: int) -> list[str]:
    if names is None:
        return [f"model{i}" for i in range(1, n + 1)]
    names = list(names)
    if len(names) != n or not all(isinstance(x, str) for x in names):
        raise InvalidArgumentError(f"names must be {n} strings, one per model, got {names!r}")
    return names
