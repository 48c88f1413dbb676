"""Refitting a generalized linear mixed model to a new response on the same rows."""

from __future__ import annotations

import numpy as np

from mixed_models.errors import ModelError
from mixed_models.fitted.glmm_fit import refit_glmm_response
from mixed_models.fitted.record import FittedModel, as_record


def refit_response(model: object, y: object) -> FittedModel:
    """The GLMM fitted again to the response ``y`` (one value per observation used; for
    the binomial, proportions of the row's trials), started from the model's estimates.

    The design, family, link, prior weights, offset, ``n_agq`` and control are the
    model's; a negative binomial whose shape was estimated gets it estimated again.
    """
    record = as_record(model)
    if not record.is_generalized:
        raise ModelError("refit_response is the GLMM's refit; for an LMM use "
                         "mixed_models.inference.refit.refit")
    return refit_glmm_response(record, np.asarray(y, dtype=float))


def quiet_refit(model: FittedModel, y: np.ndarray) -> FittedModel:
    """:func:`refit_response` without showing its warnings (a bootstrap replicate): they
    are in the refit's ``warnings`` list."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return refit_response(model, y)
