"""Sphinx extension: the release a page belongs to, and the way to report an error in it.

1. One version number. The book reads ``version`` from ``pyproject.toml`` (the package's own
   number, also in ``CITATION.cff`` and ``CHANGELOG.md``) and sets Sphinx's ``version`` and
   ``release`` to it; the MyST substitutions ``{{ book_version }}`` and ``{{ book_commit }}``
   carry it into the pages.

2. The footer of every page says which version and which git commit the site was built from
   (with "+ local changes" when the work tree differed from that commit), links the page
   "Errata and changes", and offers "Report an error on this page": a new GitHub issue from
   ``.github/ISSUE_TEMPLATE/errata.yml``, its ``version`` and ``chapter`` fields filled in from
   the URL. The repository is the one ``repository.url`` in ``_config.yml`` names.

3. The download menu of every page links the PDF of the whole book (``softmax_pdf``, a path in the
   built site; ``book/_ext/book_pdf.py`` prints it from the built pages after the build).

The Chinese edition (``book/zh``, ``language = "zh_CN"``, copied into ``_build/html/zh/``) uses this
extension too: its footer is in Chinese, the report link names the page as ``zh/<page>.html``, and
the errata page and the PDF, which exist in English only, are the English edition's, one folder up.
"""

from __future__ import annotations

import html
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sphinx.application import Sphinx
from sphinx.config import Config

ERRATA_TEMPLATE = "errata.yml"
ERRATA_DOC = "book/errata"


def _repository_root(srcdir: Path) -> Path:
    """The folder with ``pyproject.toml``: the book's root, or above it (``book/zh``)."""
    for folder in (srcdir, *srcdir.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(f"no pyproject.toml in {srcdir} or above it")


def _chinese(config: Config) -> bool:
    return (config.language or "en").lower().startswith("zh")


def _to_english_site(pagename: str) -> str:
    """From a page of the Chinese edition (at ``zh/<pagename>.html``) to the English site's root."""
    return "../" * (pagename.count("/") + 1)


def _project_version(root: Path) -> str:
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _commit(root: Path) -> tuple[str, bool]:
    """The commit checked out in ``root`` (short hash) and whether tracked files differ from it."""
    commit = _git(root, "rev-parse", "--short=10", "HEAD")
    if not commit:
        return "unknown", False
    changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    return commit, bool(changes)


def read_release(app: Sphinx, config: Config) -> None:
    """Set ``version``/``release`` from ``pyproject.toml`` and note the commit being built."""
    root = _repository_root(Path(app.srcdir))
    app.softmax_root = root
    version = _project_version(root)
    commit, modified = _commit(root)
    config.version = config.release = version
    app.softmax_release = {"version": version, "commit": commit, "modified": modified}
    repository = _repository_url(config)
    branch = config.html_theme_options.get("repository_branch", "") or "main"
    config.myst_substitutions = {
        **config.myst_substitutions,
        "book_version": version,
        "book_commit": commit,
        "changelog_link": f"[`CHANGELOG.md`]({repository}/blob/{branch}/CHANGELOG.md)",
        "errata_form_link": (  # its words in the edition's language (the errata page says them)
            f"[{'勘误表单' if _chinese(config) else 'the errata form'}]"
            f"({repository}/issues/new?template={ERRATA_TEMPLATE})"
        ),
    }


def _repository_url(config: Config) -> str:
    url = config.html_theme_options.get("repository_url", "").rstrip("/")
    if not url:
        raise ValueError("_config.yml must set repository.url")
    return url


def errata_issue_url(repository: str, version: str, built_from: str, title: str, page: str) -> str:
    """A new-issue URL that opens the errata form with the version and the page filled in."""
    query = {
        "template": ERRATA_TEMPLATE,
        "title": f"[Errata] {title}",
        "version": f"{version}, {built_from}",
        "chapter": f"{title} ({page})",
    }
    return f"{repository}/issues/new?{urlencode(query)}"


def _plain_title(context: dict[str, Any]) -> str:
    title = html.unescape(re.sub(r"<[^>]+>", "", context.get("title") or "")).strip()
    if not title and context.get("pagename") == "search":
        from sphinx.locale import _  # the search page's heading, in the edition's language

        title = _("Search")
    return title or context.get("pagename", "")


def add_release_footer(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Put the version, the commit, the errata page and the report link in the page's footer."""
    release = app.softmax_release
    repository = _repository_url(app.config)
    version, commit = release["version"], release["commit"]
    built_from = f"commit {commit}" + (" + local changes" if release["modified"] else "")
    chinese = _chinese(app.config)
    report = errata_issue_url(
        repository, version, built_from, _plain_title(context),
        f"zh/{pagename}.html" if chinese else f"{pagename}.html",
    )
    if chinese:
        built = f"commit {commit}" + ("（含未提交的改动）" if release["modified"] else "")
        parts = [
            f'《Softmax 之书》，版本 <span class="softmax-version">{html.escape(version)}</span>，'
            f'构建自 <span class="softmax-commit">{html.escape(built)}</span>'
        ]
        if (app.softmax_root / f"{ERRATA_DOC}.md").is_file():
            errata = f"{_to_english_site(pagename)}{ERRATA_DOC}.html"
            parts.append(f'<a class="softmax-errata" href="{html.escape(errata)}">勘误与修订（英文）</a>')
        parts.append(
            f'<a class="softmax-report-error" href="{html.escape(report)}" '
            'rel="noopener">报告本页的错误</a>'
        )
        footer = '<p class="softmax-release">' + " &middot; ".join(parts) + "</p>"
        context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + footer
        return
    parts = [
        f'The Softmax Book, version <span class="softmax-version">{html.escape(version)}</span>, '
        f'built from <span class="softmax-commit">{html.escape(built_from)}</span>.'
    ]
    if ERRATA_DOC in app.env.found_docs:
        errata = context["pathto"](ERRATA_DOC)
        parts.append(f'<a class="softmax-errata" href="{html.escape(errata)}">Errata and changes</a>')
    parts.append(
        f'<a class="softmax-report-error" href="{html.escape(report)}" '
        'rel="noopener">Report an error on this page</a>'
    )
    footer = '<p class="softmax-release">' + " &middot; ".join(parts) + "</p>"
    context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + footer


def add_pdf_to_download_menu(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Offer the whole book as a PDF in the page's download menu, beside the page's own files."""
    pdf = app.config.softmax_pdf
    if not pdf:
        return
    if _chinese(app.config):  # the English edition's PDF: there is no Chinese one yet
        url, text, tooltip = f"{_to_english_site(pagename)}{pdf}", "全书 PDF（英文）", "下载全书的 PDF（英文版）"
    else:
        url, text, tooltip = context["pathto"](pdf, 1), "Book (PDF)", "Download the whole book as a PDF"
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                0,
                {
                    "type": "link",
                    "url": url,
                    "text": text,
                    "tooltip": tooltip,
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                },
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("softmax_pdf", "softmax-book.pdf", "html", types=[str])
    app.connect("config-inited", read_release)
    # After sphinx-book-theme (priority 501) has built the header buttons.
    app.connect("html-page-context", add_release_footer, priority=900)
    app.connect("html-page-context", add_pdf_to_download_menu, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
