"""mixed_models: linear mixed models with lme4's formula language and the Ruby gem's API.

>>> from mixed_models import LMM
>>> model = LMM.from_formula("Reaction ~ Days + (Days | Subject)", data)  # doctest: +SKIP
"""

from mixed_models.model import LMM

__all__ = ["LMM"]
__version__ = "0.1.0"
