"""mixed_models: linear mixed models with lme4's formula language and the Ruby gem's API.

>>> from mixed_models import LMM
>>> model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)  # doctest: +SKIP
"""

from mixed_models._version import __version__
from mixed_models.lmm import LMM

__all__ = ["LMM", "__version__"]
