"""Refit a model with every optimizer (lme4's ``allFit``), over a fitted-model record.

Each fit starts from the default starting point, as ``allFit`` (which updates the model
with another optimizer) does, and is the full fit (polish and checks included) with that
optimizer. The table shows how far the optima agree: a spread in the objective or the
estimates flags a flat or difficult likelihood surface.

A GLMM is refitted along each of its routes (:data:`GLMM_ROUTES`): the nAGQ = 0 stage by
L-BFGS-B on the gradient or by BOBYQA, the joint (theta, beta) stage by Newton steps or
by BOBYQA, each ended by the Newton check that confirms the optimum.

Unstable: the optimizers are the values of ``Control.optimizer``, not lme4's seven; the
GLMM routes may change with the GLMM fit.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from mixed_models.core.glm.fit import GlmmSettings
from mixed_models.errors import MixedModelsError
from mixed_models.fitted.fit import fit_problem
from mixed_models.fitted.glmm_fit import refit_glmm_settings
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fix_ef, term_covariances

OPTIMIZERS = ("auto", "bobyqa", "newuoa", "lbfgs")
#: A GLMM's routes: the settings of each stage (the gradient is used only by families
#: that have one: binomial, Poisson, negative binomial).
GLMM_ROUTES = {
    "auto": {},  # nAGQ = 0 by L-BFGS-B, then Newton (BOBYQA when Newton fails)
    "bobyqa": {"gradient": False, "newton_first": False},  # BOBYQA in both stages
    "lbfgs_bobyqa": {"newton_first": False},  # L-BFGS-B, then BOBYQA
    "bobyqa_newton": {"gradient": False},  # BOBYQA, then Newton
}


def _sdcor(fit: FittedModel) -> dict[str, float]:
    """SDs and correlations named as ``conf_int`` names them, then sigma."""
    out = {}
    for block, cov in zip(fit.structure.blocks(), term_covariances(fit)):
        sd = np.sqrt(np.diag(cov))
        for i, name in enumerate(block.columns):
            out[f"sd_{name}|{block.group}"] = float(sd[i])
        for i in range(len(block.columns)):
            for j in range(i + 1, len(block.columns)):
                if block.linked[i, j]:
                    denom = sd[i] * sd[j]
                    out[f"cor_{block.columns[i]}.{block.columns[j]}|{block.group}"] = (
                        float(cov[i, j] / denom) if denom > 0 else np.nan)
    out["sigma"] = fit.sigma
    return out


def _refit(fit: FittedModel, optimizer: str) -> FittedModel:
    if fit.is_generalized:
        settings = GlmmSettings(max_evaluations=fit.control.max_evaluations,
                                **GLMM_ROUTES[optimizer])
        return refit_glmm_settings(fit, settings)
    control = dataclasses.replace(fit.control, optimizer=optimizer)
    settings = dataclasses.replace(fit.settings, optimizer=optimizer)
    return fit_problem(fit.problem, fit.structure, control, None, settings)


def _one(fit: FittedModel, optimizer: str) -> dict[str, object]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            new = _refit(fit, optimizer)
        except (MixedModelsError, ValueError, FloatingPointError) as exc:
            return {"optimizer": optimizer, "ok": False, "message": str(exc)}
    row: dict[str, object] = {"optimizer": optimizer, "ok": True,
                              "objective": new.deviance,
                              "evaluations": new.optimization.evaluations}
    row.update(fix_ef(new))
    row.update(_sdcor(new))
    row["message"] = "; ".join(str(w.message) for w in caught)
    return row


def all_fit(model: object) -> pd.DataFrame:
    """One row per optimizer (a GLMM: per route of :data:`GLMM_ROUTES`): ``ok``,
    ``objective`` (REML criterion or deviance; a GLMM's -2 log-likelihood),
    ``evaluations``, the fixed effects, the SDs and correlations (``sd_<column>|<group>``,
    ``cor_<a>.<b>|<group>``), ``sigma`` and the warnings of that fit (``message``)."""
    fit = as_record(model)
    names = GLMM_ROUTES if fit.is_generalized else OPTIMIZERS
    rows = [_one(fit, name) for name in names]
    return pd.DataFrame(rows).set_index("optimizer")
