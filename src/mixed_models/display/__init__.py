"""Summaries of fitted models as data, and their text, HTML and Markdown renderings.

``model.summary()`` returns a :class:`ModelSummary`; ``print(model)`` shows its text.
"""

from mixed_models.display.html import render_html
from mixed_models.display.markdown import render_markdown
from mixed_models.display.summary import ModelSummary, OptimizerReport, summarize
from mixed_models.display.text import render_text

__all__ = ["ModelSummary", "OptimizerReport", "render_html", "render_markdown", "render_text",
           "summarize"]
