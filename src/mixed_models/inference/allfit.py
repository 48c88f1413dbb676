"""Refit a model with every optimizer (lme4's ``allFit``), over a fitted-model record.

Each fit starts from the default starting point, as ``allFit`` (which updates the model
with another optimizer) does, and is the full fit (polish and checks included) with that
optimizer. The table shows how far the optima agree: a spread in the objective or the
estimates flags a flat or difficult likelihood surface.

Unstable: the optimizers are the values of ``Control.optimizer``, not lme4's seven.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from mixed_models.errors import MixedModelsError
from mixed_models.fitted.fit import fit_problem
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.results import fix_ef, term_covariances

OPTIMIZERS = ("auto", "bobyqa", "newuoa", "lbfgs")


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


def _one(fit: FittedModel, optimizer: str) -> dict[str, object]:
    control = dataclasses.replace(fit.control, optimizer=optimizer)
    settings = dataclasses.replace(fit.settings, optimizer=optimizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            new = fit_problem(fit.problem, fit.structure, control, None, settings)
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
    """One row per optimizer: ``ok``, ``objective`` (REML criterion or deviance),
    ``evaluations``, the fixed effects, the SDs and correlations (``sd_<column>|<group>``,
    ``cor_<a>.<b>|<group>``), ``sigma`` and the warnings of that fit (``message``)."""
    fit = as_record(model)
    rows = [_one(fit, name) for name in OPTIMIZERS]
    return pd.DataFrame(rows).set_index("optimizer")
