"""GLMM fits for ``fit_one.py``: ours (``GLMM.from_formula``) and mixedlm's (``glmer``).

Each fitter takes the case and its data frame and returns (objective, evaluations), the
objective being -2 log-likelihood under the Laplace approximation, as lme4's
``-2 * logLik(glmer(...))``. A package without GLMMs raises :class:`Unavailable`, which
the runner reports as ``-``.
"""

from __future__ import annotations


class Unavailable(Exception):
    """The package cannot fit this case (shown as ``-``, not as an error)."""


def fit_mixed_models(case, frame):
    """``GLMM.from_formula(formula, data, family=...)``, when the package has it."""
    import mixed_models
    from mixed_models.core import kernels
    # the steady state of a session that fits many models, as for the LMM cases: the
    # compiled kernels loaded (a process loads them once numpy has cost as much)
    kernels.use_small_kernels()
    if not hasattr(mixed_models, "GLMM"):
        raise Unavailable("mixed_models has no GLMM class yet")
    formula, weights = case.formula_for("mixed_models")
    options = {"family": case.family}
    if weights is not None:
        options["weights"] = frame[weights].to_numpy()
    model = mixed_models.GLMM.from_formula(formula, frame, **options)
    log_likelihood = model.log_likelihood
    log_likelihood = log_likelihood() if callable(log_likelihood) else log_likelihood
    result = getattr(model, "optimization_result", None)
    return -2.0 * float(log_likelihood), getattr(result, "evaluations", None)


def fit_mixedlm(case, frame):
    """mixedlm's ``glmer`` with its default settings (Laplace)."""
    import mixedlm
    from mixedlm import families
    family = {"binomial": families.Binomial, "poisson": families.Poisson}[case.family]()
    formula, weights = case.formula_for("mixedlm")
    model = mixedlm.glmer(formula, frame, family=family, weights=weights)
    log_likelihood = model.logLik()
    return -2.0 * float(getattr(log_likelihood, "value", log_likelihood)), None


FITTERS = {"mixed_models": fit_mixed_models, "mixedlm": fit_mixedlm}
