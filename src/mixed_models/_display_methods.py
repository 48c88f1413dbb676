"""LMM methods that present a fitted model: summaries, HTML, plots.

Each method delegates to :mod:`mixed_models.display` or :mod:`mixed_models.plotting`,
imported when first called (matplotlib is never imported by ``import mixed_models``).
"""

from __future__ import annotations


class DisplayMethods:
    """Mixed into :class:`~mixed_models.model.LMM`."""
