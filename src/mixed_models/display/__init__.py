"""Renderings of fitted models: text now; HTML and Markdown build on the same data."""

from mixed_models.display.text import render_text

__all__ = ["render_text"]
