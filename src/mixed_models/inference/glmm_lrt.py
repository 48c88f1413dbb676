"""Likelihood ratio tests between nested generalized linear mixed models.

The test is the LMM's (:mod:`.lrt`: nesting and same-data checks, the chi-square or the
parametric-bootstrap p-value) on the GLMMs' -2 log-likelihoods under their
approximation, once the two models are checked to share the family, the link and the
approximation (the same ``n_agq``): likelihoods of different families or quadratures
are not on one scale.
"""

from __future__ import annotations

from typing import Any

from mixed_models.errors import ModelError
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.inference.lrt import LikelihoodRatioTest, likelihood_ratio_test


def _label(record: FittedModel) -> str:
    family = record.family
    shape = getattr(family, "shape", None)
    fixed_shape = shape is not None and not record.problem.shape_estimated
    return f"{family.name}({family.link.name}{f', shape={shape:g}' if fixed_shape else ''})"


def check_comparable_glmms(model1: FittedModel, model2: FittedModel) -> None:
    """Refuse two models unless both are GLMMs of one family, link and approximation."""
    for i, record in enumerate((model1, model2), start=1):
        if not record.is_generalized:
            raise ModelError(f"model{i} is a linear mixed model; a likelihood ratio test "
                             "compares models of one family (both GLMMs, or both LMMs)")
    a, b = _label(model1), _label(model2)
    if a != b:
        raise ModelError(f"the models have different families or links ({a} and {b}); a "
                         "likelihood ratio test compares models of one family and link")
    n1, n2 = model1.problem.n_agq, model2.problem.n_agq
    if n1 != n2:
        raise ModelError(f"the models use different approximations (n_agq={n1} and "
                         f"n_agq={n2}); fit both with the same n_agq")


def glmm_likelihood_ratio_test(model1: Any, model2: Any, method: str = "chi2",
                               nsim: int = 1000, seed: Any = None) -> LikelihoodRatioTest:
    """Test the GLMM ``model1`` against ``model2``, in which it is nested: the statistic
    is the difference of their -2 log-likelihoods (at least 0), the p-value from the
    chi-square distribution (``"chi2"``) or the parametric bootstrap (``"bootstrap"``:
    responses simulated from ``model1``, both refitted)."""
    model1, model2 = as_record(model1, "model1"), as_record(model2, "model2")
    check_comparable_glmms(model1, model2)
    return likelihood_ratio_test(model1, model2, method, nsim, seed)


def glmm_likelihood_ratio(model1: Any, model2: Any) -> float:
    """-2 log L1 - (-2 log L2) of two GLMMs of one family, link and approximation."""
    from mixed_models.inference.lrt import likelihood_ratio

    model1, model2 = as_record(model1, "model1"), as_record(model2, "model2")
    check_comparable_glmms(model1, model2)
    return likelihood_ratio(model1, model2)
