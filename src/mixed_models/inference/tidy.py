"""Tidy results of a fitted model (R's broom.mixed ``tidy`` and ``glance``) and lme4's
``coef()``, over a fitted-model record.

broom.mixed's term names are translated to ours: ``(Intercept)`` is ``intercept``,
``SpeciesHuman`` is ``Species_lvl_Human``; random-effect parameters are ``sd__<column>``,
``cor__<column>.<column>`` and ``sd__Observation`` (the residual SD) with our column
names, e.g. ``sd__intercept``, ``cor__intercept.Age``. Columns are snake_case:
``std_error``, ``p_value``, ``conf_low``, ``conf_high``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mixed_models.errors import InvalidArgumentError
from mixed_models.fitted.glmm_results import residuals_of
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fix_ef, ran_ef_table, term_covariances

EFFECTS = ("fixed", "ran_pars", "ran_vals")
COLUMNS = ["effect", "group", "level", "term", "estimate", "std_error", "statistic", "df",
           "p_value", "conf_low", "conf_high"]


def _fixed(fit: FittedModel, ddf: str, conf_level: float) -> pd.DataFrame:
    from mixed_models.inference.tests import fix_ef_summary

    table = fix_ef_summary(fit, ddf)
    stat = table["t_value"] if "t_value" in table else table["z_score"]
    df = table["df"] if "df" in table else pd.Series(np.inf, index=table.index)
    p = table["p_value"] if "p_value" in table else table["WaldZ_p_value"]
    crit = stats.t.ppf(0.5 + conf_level / 2.0, df.to_numpy())
    return pd.DataFrame({"effect": "fixed", "group": None, "level": None,
                         "term": table.index.to_list(), "estimate": table["coef"].to_numpy(),
                         "std_error": table["sd"].to_numpy(), "statistic": stat.to_numpy(),
                         "df": df.to_numpy(), "p_value": p.to_numpy(),
                         "conf_low": (table["coef"] - crit * table["sd"]).to_numpy(),
                         "conf_high": (table["coef"] + crit * table["sd"]).to_numpy()})


def _ran_pars(fit: FittedModel) -> pd.DataFrame:
    """SDs and correlations per grouping factor, then the residual SD (broom's order:
    the upper triangle row by row, SD first)."""
    rows = []
    for block, cov in zip(fit.structure.blocks(), term_covariances(fit)):
        sd = np.sqrt(np.diag(cov))
        columns = block.columns
        for i, name in enumerate(columns):
            rows.append((block.group, f"sd__{name}", sd[i]))
            for j in range(i + 1, len(columns)):
                if block.linked[i, j]:
                    denom = sd[i] * sd[j]
                    rows.append((block.group, f"cor__{name}.{columns[j]}",
                                 cov[i, j] / denom if denom > 0 else np.nan))
    if has_residual_sd(fit):
        rows.append(("Residual", "sd__Observation", fit.sigma))
    frame = pd.DataFrame(rows, columns=["group", "term", "estimate"])
    frame.insert(0, "effect", "ran_pars")
    return frame


def has_residual_sd(fit: FittedModel) -> bool:
    """Whether the model has a residual SD among its parameters: an LMM's sigma, a Gamma
    or inverse Gaussian GLMM's dispersion; not a binomial, Poisson or negative binomial
    GLMM's (its sigma is 1 by definition)."""
    if not fit.is_generalized:
        return True
    return bool(fit.family.has_dispersion) and fit.family.name != "negative.binomial"


def _ran_vals(fit: FittedModel, conf_level: float) -> pd.DataFrame:
    table = ran_ef_table(fit)
    groups = list(dict.fromkeys(table["group"]))
    terms = list(dict.fromkeys(table["term"]))
    order = np.lexsort((table["term"].map(terms.index).to_numpy(),
                        table["group"].map(groups.index).to_numpy()))
    table = table.iloc[order]
    z = stats.norm.ppf(0.5 + conf_level / 2.0)
    return pd.DataFrame({"effect": "ran_vals", "group": table["group"].astype(str).to_numpy(),
                         "level": table["level"].astype(str).to_numpy(),
                         "term": table["term"].to_numpy(),
                         "estimate": table["value"].to_numpy(),
                         "std_error": table["cond_sd"].to_numpy(),
                         "conf_low": (table["value"] - z * table["cond_sd"]).to_numpy(),
                         "conf_high": (table["value"] + z * table["cond_sd"]).to_numpy()})


def tidy(model: object, effects: Sequence[str] = ("fixed", "ran_pars"), conf_int: bool = False,
         conf_level: float = 0.95, ddf: str = "satterthwaite") -> pd.DataFrame:
    """broom.mixed's ``tidy``: one row per fixed effect (t tests with ``ddf``: also
    ``"kenward-roger"`` or ``"wald"``; a GLMM's are Wald z tests whatever ``ddf``),
    random-effect SD or correlation (then the residual SD where the model has one), and
    (with ``"ran_vals"``) conditional mode with its conditional SD and normal interval.
    ``conf_low, conf_high`` only with ``conf_int``; ``level`` only with ran_vals."""
    fit = as_record(model)
    if fit.is_generalized:
        ddf = "wald"
    effects = [effects] if isinstance(effects, str) else list(effects)
    unknown = [e for e in effects if e not in EFFECTS]
    if unknown or not effects:
        raise InvalidArgumentError(f"effects must be some of {EFFECTS}, got {effects!r}")
    if not (isinstance(conf_level, float | int) and 0 < conf_level < 1):
        raise InvalidArgumentError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    pieces = []
    if "fixed" in effects:
        pieces.append(_fixed(fit, ddf, conf_level))
    if "ran_pars" in effects:
        pieces.append(_ran_pars(fit))
    if "ran_vals" in effects:
        pieces.append(_ran_vals(fit, conf_level))
    table = pd.concat(pieces, ignore_index=True).reindex(columns=COLUMNS)
    drop = [] if conf_int else ["conf_low", "conf_high"]
    if "ran_vals" not in effects:
        drop.append("level")
    return table.drop(columns=drop)


def glance(model: object) -> pd.DataFrame:
    """broom.mixed's ``glance``: ``nobs, sigma, logLik, AIC, BIC``, the criterion
    (``REML_criterion`` for a REML fit, ``deviance`` for an ML fit; for a GLMM lme4's
    ``deviance()``, the sum of the squared deviance residuals) and ``df_residual``
    (observations minus all parameters, lme4's ``df.residual``)."""
    fit = as_record(model)
    criterion = "REML_criterion" if fit.reml else "deviance"
    value = fit.deviance
    if fit.is_generalized:
        value = float(np.sum(residuals_of(fit, "deviance") ** 2))
    return pd.DataFrame({"nobs": [fit.n_obs], "sigma": [fit.sigma],
                         "logLik": [fit.log_likelihood], "AIC": [fit.aic], "BIC": [fit.bic],
                         criterion: [value],
                         "df_residual": [fit.n_obs - fit.n_parameters]})


def coef(model: object) -> dict[str, pd.DataFrame]:
    """lme4's ``coef()``: per grouping factor, a table indexed by level with a column per
    fixed effect (and per random effect without a fixed one): the fixed effect plus the
    level's conditional mode where the effect is random."""
    fit = as_record(model)
    beta = fix_ef(fit)
    table = ran_ef_table(fit)
    out = {}
    for group, part in table.groupby("group", sort=False):
        modes = part.pivot(index="level", columns="term", values="value")
        levels = list(dict.fromkeys(part["level"]))
        modes = modes.reindex(index=levels)
        columns = list(beta) + [t for t in modes.columns if t not in beta]
        values = pd.DataFrame({name: beta.get(name, 0.0) for name in columns}, index=levels)
        for term in modes.columns:
            values[term] = values[term] + modes[term]
        values.index.name = str(group)
        out[str(group)] = values
    return out
