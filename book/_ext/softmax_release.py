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

3. The download menu of every page links the PDF of the whole book in the page's edition
   (``softmax_pdf``, a path in the edition's built site; ``book/_ext/book_pdf.py`` prints both
   from the built pages after the build).

The Chinese edition (``book/zh``, ``language = "zh_CN"``, copied into ``_build/html/zh/``) uses this
extension too: one builder for both, its words from ``WORDS`` by edition. The Chinese footer is in
Chinese, its report link names the page as ``zh/<page>.html``, its errata link goes to the Chinese
errata page (to the English one, one folder up, while there is no translation), and its download
menu offers the Chinese PDF.
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


# The words of the footer and of the download menu's PDF entry, by edition. The report link's
# prefilled version field stays English in both (the errata form is in English).
WORDS = {
    "en": {
        "release": "The Softmax Book, version {version}, built from {built}.",
        "modified": " + local changes",
        "errata": "Errata and changes",
        "report": "Report an error on this page",
        "pdf": "Book (PDF)",
        "pdf_tooltip": "Download the whole book as a PDF",
    },
    "zh": {
        "release": "《Softmax 之书》，版本 {version}，构建自 {built}",
        "modified": "（含未提交的改动）",
        "errata": "勘误与修订",
        "report": "报告本页的错误",
        "pdf": "全书 PDF",
        "pdf_tooltip": "下载全书的 PDF",
    },
}


def _edition(config: Config) -> str:
    return "zh" if _chinese(config) else "en"


def _errata_url(app: Sphinx, pagename: str, context: dict[str, Any]) -> str | None:
    """The edition's errata page; in the Chinese edition without one, the English page."""
    own = ERRATA_DOC if not _chinese(app.config) else ERRATA_DOC.removeprefix("book/")
    if own in app.env.found_docs:
        return context["pathto"](own)
    if _chinese(app.config) and (app.softmax_root / f"{ERRATA_DOC}.md").is_file():
        return f"{_to_english_site(pagename)}{ERRATA_DOC}.html"
    return None


def add_release_footer(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Put the version, the commit, the errata page and the report link in the page's footer."""
    release = app.softmax_release
    words = WORDS[_edition(app.config)]
    version, commit = release["version"], release["commit"]
    modified = release["modified"]
    built_from = f"commit {commit}" + (WORDS["en"]["modified"] if modified else "")
    report = errata_issue_url(
        _repository_url(app.config), version, built_from, _plain_title(context),
        f"zh/{pagename}.html" if _chinese(app.config) else f"{pagename}.html",
    )
    built = f"commit {commit}" + (words["modified"] if modified else "")
    parts = [words["release"].format(
        version=f'<span class="softmax-version">{html.escape(version)}</span>',
        built=f'<span class="softmax-commit">{html.escape(built)}</span>',
    )]
    errata = _errata_url(app, pagename, context)
    if errata:
        errata = html.escape(errata)
        parts.append(f'<a class="softmax-errata" href="{errata}">{words["errata"]}</a>')
    parts.append(
        f'<a class="softmax-report-error" href="{html.escape(report)}" '
        f'rel="noopener">{words["report"]}</a>'
    )
    footer = '<p class="softmax-release">' + " &middot; ".join(parts) + "</p>"
    context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + footer


def add_pdf_to_download_menu(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Offer the edition's whole book as a PDF in the page's download menu, beside the page's
    own files (each edition's PDF sits at the root of its site: ``softmax-book.pdf``,
    ``zh/softmax-book.pdf``)."""
    pdf = app.config.softmax_pdf
    if not pdf:
        return
    words = WORDS[_edition(app.config)]
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                0,
                {
                    "type": "link",
                    "url": context["pathto"](pdf, 1),
                    "text": words["pdf"],
                    "tooltip": words["pdf_tooltip"],
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
