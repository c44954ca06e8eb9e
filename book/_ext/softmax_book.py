"""Sphinx extension with the Softmax Book's own fixes to the Jupyter Book 1 frame.

1. Links derived from the one repository setting. ``_config.yml`` names the repository once
   (``repository.url`` and ``repository.branch``). From it this extension derives the MyST
   substitutions the landing page uses (``{{ binder_link }}``, ``{{ clone_commands }}``,
   ``{{ pip_install_git }}``), so pointing the book at a fork changes one line.

2. No thebe scripts. Under Jupyter Book 1, sphinx-thebe's inline ``const THEBE_JS_URL = ...``
   script ends up twice on every page, and the browser reports "Identifier 'THEBE_JS_URL' has
   already been declared". Jupyter Book always loads sphinx-thebe, but the book does not use it
   (``launch_buttons.thebe: false``; thebe would need unpkg.com and a live Binder), so its
   scripts are dropped from every page.

3. Author-year labels in the bibliography. Citations in the text read "Bendersky (2016)"
   (``bibtex_reference_style: author_year``); the pybtex style ``authoryear`` registered here
   labels the entries of the bibliography the same way, instead of [1], [2], ...
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinx.config import Config

_THEBE_SCRIPTS = ("sphinx-thebe.js",)


def _repository(config: Config) -> tuple[str, str]:
    options = config.html_theme_options
    url = options.get("repository_url", "").rstrip("/")
    branch = options.get("repository_branch", "") or "main"
    if not url:
        raise ValueError("_config.yml must set repository.url")
    return url, branch


def add_repository_substitutions(app: Sphinx, config: Config) -> None:
    """Define the landing page's repository links from ``repository`` in ``_config.yml``."""
    url, branch = _repository(config)
    binderhub = config.html_theme_options.get("launch_buttons", {}).get("binderhub_url", "")
    # The same provider paths as sphinx-book-theme's launch buttons use.
    if url.startswith("https://github.com/"):
        spec = "gh/" + url.removeprefix("https://github.com/")
    elif url.startswith("https://gitlab.com/"):
        spec = "gl/" + quote(url.removeprefix("https://gitlab.com/"), safe="")
    else:
        spec = "git/" + quote(url, safe="")
    binder = f"{binderhub.rstrip('/')}/v2/{spec}/{branch}?urlpath=lab/tree/book"
    config.myst_substitutions = {
        **config.myst_substitutions,
        "repository_url": url,
        "binder_link": f"[open the whole book in JupyterLab on Binder]({binder})",
        "clone_commands": f"```bash\ngit clone {url}.git\ncd {url.rsplit('/', 1)[-1]}\n```",
        "pip_install_git": f'```bash\npip install "git+{url}@{branch}"\n```',
    }


def _is_thebe_script(script: Any) -> bool:
    filename = getattr(script, "filename", None) or ""
    body = getattr(script, "attributes", {}).get("body", "")
    return filename.endswith(_THEBE_SCRIPTS) or "THEBE_JS_URL" in body


def drop_thebe_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Remove sphinx-thebe's (duplicated) configuration and loader scripts from the page."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe_script(s)]


class _AuthorYearLabels(BaseLabelStyle):
    """Labels like "Blanchard et al., 2021", matching the author-year citations in the text."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.last_names) for p in people]
            if not names:
                who = entry.fields.get("organization", entry.key)
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class _AuthorYearStyle(UnsrtStyle):
    default_label_style = _AuthorYearLabels
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.formatting", "authoryear", _AuthorYearStyle)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_repository_substitutions)
    # After sphinx-thebe and sphinx-book-theme (default priority 500) have added their scripts.
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
