"""LMM methods that present a fitted model: summaries, HTML, plots.

Each method delegates to :mod:`mixed_models.display` or :mod:`mixed_models.plotting`,
imported when first called (matplotlib is never imported by ``import mixed_models``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixed_models.display import ModelSummary


class DisplayMethods:
    """Mixed into :class:`~mixed_models.model.LMM`."""

    def summary(self, ddf: str | None = None) -> ModelSummary:
        """Everything lme4's ``summary()`` shows, as a data object.

        Parameters
        ----------
        ddf
            Tests of the fixed effects, passed to ``fix_ef_summary(ddf=...)``:
            ``"wald"``, ``"satterthwaite"`` or ``"kenward-roger"``; None takes that
            method's default.

        Returns
        -------
        ModelSummary
            Values and tables; ``print()`` it for text, ``.to_html()`` and
            ``.to_markdown()`` for the other renderings.
        """
        from mixed_models.display import summarize

        return summarize(self, ddf=ddf)

    def __str__(self) -> str:
        return self.summary().to_text()

    def _repr_html_(self) -> str:
        return self.summary().to_html()

    def plot_diagnostics(self, fig: Any = None) -> Any:
        """Draw the standard diagnostic panel (needs matplotlib: ``mixed_models[plot]``).

        See :func:`mixed_models.plotting.diagnostic_panel`; returns the Figure.
        """
        from mixed_models.plotting import diagnostic_panel

        return diagnostic_panel(self, fig=fig)
