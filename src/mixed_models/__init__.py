"""mixed_models: linear mixed models with lme4's formula language and the Ruby gem's API.

>>> from mixed_models import LMM
>>> model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)  # doctest: +SKIP
"""

from mixed_models._version import __version__
from mixed_models.glmm import GLMM
from mixed_models.lmm import LMM

# The GLM families load the GLMM core (scipy.special, nlopt): on first use only.
_FAMILIES = ("Binomial", "Gamma", "InverseGaussian", "NegativeBinomial", "Poisson")


def __getattr__(name: str) -> object:
    if name in _FAMILIES:
        from mixed_models.core.glm import family

        return getattr(family, name)
    raise AttributeError(f"module 'mixed_models' has no attribute {name!r}")


def compare(*models: object, names: list[str] | None = None) -> object:
    """Compare models of the same data as lme4's ``anova(m1, m2, ...)``: a table of
    ``npar, AIC, BIC, logLik, deviance, Chisq, Df, p_value`` sorted by ``npar``; REML
    fits are refitted by ML first (with a RefitWarning). See
    :func:`mixed_models.inference.compare.compare`."""
    from mixed_models.inference.compare import compare as _compare

    return _compare(*models, names=names)


def compile_kernels() -> bool:
    """Compile the optional numba kernels into numba's disk cache: those of small models,
    and the rank update and trace of large ones.

    With numba installed (the ``fast`` extra), small models (sleepstudy and the like)
    are fitted with compiled code once this has run for the installation: compiling
    takes numba tens of seconds, so a fit never starts it by itself and uses numpy
    until then. Run it once after installing (``make`` does); it only loads the
    kernels when they are compiled already. Returns False when numba is not installed.
    """
    from mixed_models.core.kernels import compile_small_kernels

    return compile_small_kernels()


__all__ = ["GLMM", "LMM", "__version__", "compare", "compile_kernels", *_FAMILIES]
