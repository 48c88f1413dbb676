"""LMM methods for tests, intervals, bootstrap, refitting and prediction.

Each method is a thin delegation to :mod:`mixed_models.inference` or
:mod:`mixed_models.prediction`, imported when first called so that the model layer does
not import the layers above it.
"""

from __future__ import annotations


class InferenceMethods:
    """Mixed into :class:`~mixed_models.model.LMM`."""
