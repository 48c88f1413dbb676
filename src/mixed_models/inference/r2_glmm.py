"""The variance components of Nakagawa's R² and the ICC for a generalized linear mixed
model, as R's performance (insight's ``get_variance``) defines them.

fixed and random are the linear model's (on the link scale: the variance of X beta,
offset excluded, and Johnson's mean of z_i' Sigma z_i per term); the residual variance
is the distribution-specific one:

- binomial with the logit link: pi² / 3 (the variance of the standard logistic);
- Poisson with the log link: the lognormal approximation log(1 + 1/lambda), where
  lambda = exp(b0) and b0 is the intercept of the null model (the same random effects,
  fixed part ``~ 1``) refitted to the same data, as performance does by default.

Other families and links raise a :class:`~mixed_models.errors.ModelError`; so does a
Poisson model with an offset, whose null model is not defined the same way.
"""

from __future__ import annotations

import numpy as np

from mixed_models.errors import ModelError
from mixed_models.fitted.record import FittedModel

SUPPORTED = (("binomial", "logit"), ("poisson", "log"))


def check_supported(fit: FittedModel) -> None:
    """Refuse the GLMMs whose distribution-specific variance is not defined here."""
    pair = (fit.family.name, fit.family.link.name)
    if pair not in SUPPORTED:
        raise ModelError(f"R² and ICC of a GLMM are defined here for a binomial with the "
                         f"logit link and a Poisson with the log link; the model is "
                         f"{pair[0]}({pair[1]})")
    if pair[0] == "poisson" and fit.problem.offset is not None:
        raise ModelError("R² and ICC of a Poisson GLMM with an offset are not available: "
                         "the null model that gives lambda is defined without an offset")


def distribution_variance(fit: FittedModel) -> float:
    """pi² / 3 (binomial logit) or log(1 + 1/lambda) (Poisson log; see the module)."""
    check_supported(fit)
    if fit.family.name == "binomial":
        return float(np.pi ** 2 / 3.0)
    return float(np.log1p(1.0 / np.exp(null_intercept(fit))))


def null_intercept(fit: FittedModel) -> float:
    """The intercept of the model refitted with the fixed part ``~ 1``."""
    from mixed_models.core.glm import GlmmProblem, GlmmSettings, fit_glmm

    design = fit.structure.require_design("R² of a GLMM")
    core = fit.problem.core
    null = GlmmProblem([r.term_data() for r in design.random], np.ones((core.design.n, 1)),
                       core.y, core.family, weights=core.weights)
    settings = GlmmSettings(max_evaluations=fit.control.max_evaluations)
    return float(fit_glmm(null, fit.problem.n_agq, settings).beta[0])
