"""Marginal means and contrasts of a generalized linear mixed model, on the link or the
response scale (R's emmeans with ``type = "link"`` or ``type = "response"``).

On the link scale a mean is ``l'beta`` as for a linear mixed model; its SE is
``sqrt(l' V l)`` with V the Wald covariance of beta, and the tests and intervals are
asymptotic (``df = inf``, z statistics), as emmeans does for a ``glmerMod``.

``type="response"`` maps a mean and its limits through the inverse link and its SE by
the delta method (``|dmu/deta| * se``); the mean's column is named as emmeans names it:
``prob`` for a binomial, ``rate`` for a Poisson or negative binomial with the log link,
``response`` otherwise. A contrast on the response scale is, for the log and logit
links, the back-transformed difference: a ``ratio`` (log) or an ``odds_ratio`` (logit),
labelled ``a / b``,
with SE ``ratio * se`` and the limits exponentiated; its test stays on the link scale
(``null`` is 1). Other links have no response-scale contrast here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixed_models.errors import InvalidArgumentError, ModelError
from mixed_models.fitted.record import FittedModel

TYPES = ("link", "response")
ASYMPTOTIC = "asymptotic"


def check_type(type: object) -> str:
    """``type`` as given, when it is ``"link"`` or ``"response"``."""
    if type not in TYPES:
        raise InvalidArgumentError(f"type must be one of {TYPES}, got {type!r}")
    return str(type)


def check_glmm_ddf(ddf: object) -> str:
    """A GLMM's tests are asymptotic: ``ddf`` must be None or ``"asymptotic"``."""
    if ddf not in (None, ASYMPTOTIC):
        raise InvalidArgumentError(
            f"a GLMM's marginal means use asymptotic z tests (df = inf); ddf must be None or "
            f"'asymptotic', got {ddf!r}")
    return ASYMPTOTIC


def wald_tests(fit: FittedModel, linfct: np.ndarray) -> pd.DataFrame:
    """estimate, se and df (inf) of each row of ``linfct`` from the Wald covariance of beta."""
    from mixed_models.fitted.results import fix_ef_cov

    estimate = linfct @ fit.estimates.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", linfct, fix_ef_cov(fit), linfct))
    return pd.DataFrame({"estimate": estimate, "se": se, "df": np.full(len(se), np.inf)})


def response_name(fit: FittedModel) -> str:
    """emmeans' name of a mean on the response scale: prob, rate or response."""
    family = fit.family.name
    if family == "binomial":
        return "prob"
    if fit.family.link.name == "log" and (family == "poisson"
                                          or family == "negative.binomial"):
        return "rate"
    return "response"


def to_response(fit: FittedModel, table: pd.DataFrame) -> pd.DataFrame:
    """A link-scale table of means (``emmean, se, df, lower, upper``) on the response scale."""
    link = fit.family.link
    eta = table["emmean"].to_numpy(dtype=float)
    out = table.drop(columns=["emmean"])
    out.insert(len(table.columns) - 5, response_name(fit), link.inverse(eta))
    out["se"] = np.abs(link.mu_eta(eta)) * table["se"].to_numpy(dtype=float)
    limits = link.inverse(table[["lower", "upper"]].to_numpy(dtype=float))
    out["lower"], out["upper"] = limits.min(axis=1), limits.max(axis=1)
    out.attrs.update(table.attrs, type="response")
    return out


def ratio_name(fit: FittedModel) -> str:
    """``odds_ratio`` (logit link) or ``ratio`` (log link); others are refused."""
    name = fit.family.link.name
    if name == "logit":
        return "odds_ratio"
    if name == "log":
        return "ratio"
    raise ModelError(f"contrasts on the response scale are the ratios of the log and logit "
                     f"links; the model's link is {name!r}: use type='link'")


def contrasts_to_response(fit: FittedModel, table: pd.DataFrame) -> pd.DataFrame:
    """Link-scale contrasts (differences of log odds or logs) as odds ratios or ratios."""
    name = ratio_name(fit)
    ratio = np.exp(table["estimate"].to_numpy(dtype=float))
    out = table.rename(columns={"estimate": name})
    out["contrast"] = out["contrast"].str.replace(" - ", " / ", regex=False)
    out[name] = ratio
    out["se"] = ratio * table["se"].to_numpy(dtype=float)
    out.insert(list(out.columns).index("df") + 1, "null", 1.0)
    out["lower"] = np.exp(table["lower"].to_numpy(dtype=float))
    out["upper"] = np.exp(table["upper"].to_numpy(dtype=float))
    out.attrs.update(table.attrs, type="response")
    return out
