"""Sphinx extension: no ipywidgets state on the book's pages.

The interactive figures of ``softmax_pkg.viz`` reach a notebook's output as two mime types: the
live ipywidget view and a static HTML version. The website has no kernel, so ``_config.yml``
(``nb_mime_priority_overrides``) drops the widget view and the page shows the HTML version.

What is left of the widgets is their saved state: when the book's build executes a notebook,
nbclient records every widget model in the notebook's metadata (slider positions, and the PNG of
each figure), and myst-nb copies it into the page as a ``<script
type="application/vnd.jupyter.widget-state+json">``, hundreds of kilobytes that only a widget
manager would read. The book loads none (``nb_ipywidgets_js: {}``) and shows no widget view, so
this extension removes that script from every page.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _is_widget_state(script: Any) -> bool:
    return getattr(script, "attributes", {}).get("type") == WIDGET_STATE


def drop_widget_state(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Remove the saved ipywidgets state that myst-nb adds to a notebook's page."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_widget_state(s)]


def setup(app: Sphinx) -> dict[str, Any]:
    # After myst-nb (default priority 500) has added the state to the page.
    app.connect("html-page-context", drop_widget_state, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
