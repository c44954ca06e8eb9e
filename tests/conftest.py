"""Shared test helpers.

Tests that need something outside Python (Chromium, a fresh virtual environment, PyTorch) call
:func:`need`. On a developer's laptop a missing prerequisite skips the test; in CI
(``SOFTMAX_BOOK_CI=1``, set by ``.ci/run``) it fails it, so CI can never go green by skipping.

The session fixture :func:`book_build` builds the book once, with the README's own build command,
for ``test_book.py`` (the build and the sources) and ``test_site.py`` (the site in a browser).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("SOFTMAX_BOOK_CI") == "1"


def need(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) unless ``available``; ``what`` names the prerequisite.

    Called at module level it skips (or fails) the whole module, with the reason shown.
    """
    if available:
        return
    message = f"prerequisite missing: {what}"
    if IN_CI:
        pytest.fail(message + " (tests may not skip in CI)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def import_or_need(module: str):
    """Import ``module`` (dotted names too) and return it, or skip locally / fail in CI if it
    cannot be imported; the reason names the module and repeats its ImportError."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        need(False, f"the Python package {module!r} ({exc})")


def has_module(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@pytest.fixture
def sklearn_installed() -> None:
    """For tests that compare with scikit-learn: skip locally / fail in CI without it."""
    need(has_module("sklearn"), "the Python package 'sklearn' (pip install scikit-learn)")


# --- The book, built once per test session -------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO / "_build"
HTML_DIR = BUILD_DIR / "html"


def toc_files(entry: dict) -> list[str]:
    """Every ``file`` (and the ``root``) named anywhere in a jb-book table of contents."""
    found = [entry[key] for key in ("root", "file") if key in entry]
    for key in ("parts", "chapters", "sections"):
        for child in entry.get(key, []):
            found += toc_files(child)
    return found


def toc_sources(edition: str = "en") -> list[Path]:
    """The source file of each entry of an edition's table of contents: ``_toc.yml`` for
    English, ``book/zh/_toc.yml`` for Chinese (an entry names a file without its suffix)."""
    import yaml  # comes with jupyter-book

    folder = REPO if edition == "en" else REPO / "book" / "zh"
    toc = yaml.safe_load((folder / "_toc.yml").read_text(encoding="utf-8"))
    sources = []
    for name in toc_files(toc):
        matches = [folder / f"{name}{suffix}" for suffix in (".md", ".ipynb")]
        matches = [path for path in matches if path.exists()]
        assert len(matches) == 1, f"{edition} toc entry {name!r} should match one .md or .ipynb file"
        sources.append(matches[0])
    return sources


def zh_toc_sources() -> list[Path]:
    """The source file of each entry of the Chinese edition's ``book/zh/_toc.yml``."""
    return toc_sources("zh")


def readme_commands() -> list[str]:
    """The command lines of the README's first code block (the book command, the test command)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert block, "README.md has no code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def readme_build_command() -> str:
    """The build part of the README's book command: what follows the ``pip install ... &&``."""
    book_command = readme_commands()[0]
    return book_command.split("&&", 1)[1].strip()


@dataclasses.dataclass(frozen=True)
class BookBuild:
    """The outcome of building the book with the README's command."""

    command: str
    returncode: int
    log: str
    seconds: float
    html_dir: Path


@pytest.fixture(scope="session")
def book_build() -> BookBuild:
    """Build the book once per session, exactly as the README says, from a clean output folder.

    Sphinx rebuilds incrementally and only reports warnings for the pages it rereads, so the old
    HTML and doctrees are removed first: every build reads every page and reports every warning.
    The log is kept in ``_build/book-build.log`` for a person to read.
    """
    command = readme_build_command()
    jupyter_book = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
    need(Path(jupyter_book).exists(), "the jupyter-book command (pip install -r requirements.txt)")
    for stale in (HTML_DIR, BUILD_DIR / ".doctrees", BUILD_DIR / "jupyter_execute"):
        shutil.rmtree(stale, ignore_errors=True)
    argv = shlex.split(command)
    argv[0] = jupyter_book if argv[0] == "jupyter-book" else argv[0]
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    seconds = time.monotonic() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # Sphinx colours its log
    BUILD_DIR.mkdir(exist_ok=True)
    (BUILD_DIR / "book-build.log").write_text(log, encoding="utf-8")
    return BookBuild(command, done.returncode, log, seconds, HTML_DIR)


# -- headless Chromium, cut off from everything but 127.0.0.1 ------------------------------------

CHROMIUM = "/usr/bin/chromium"
# As root, without a sandbox; no background traffic (update checks, sync) to a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    """Debian's Chromium through Playwright (whose own browser download needs the internet)."""
    need(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def block_outside_world(page, blocked: list[str]) -> None:
    """Abort every request not to 127.0.0.1, recording its URL in ``blocked``."""
    from urllib.parse import urlsplit

    def route(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)


# --- The PDF, printed once per session from the built site ---------------------------------------

PDF_PATH = HTML_DIR / "softmax-book.pdf"
# Each edition's PDF, where its pages' download menus link it (book/_ext/book_pdf.py EDITIONS).
PDF_PATHS = {"en": PDF_PATH, "zh": HTML_DIR / "zh" / "softmax-book.pdf"}


def readme_pdf_command() -> str:
    """The README's command that prints the built book to a PDF (its development section)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^(python book/_ext/book_pdf\.py[^\n]*)$", text, flags=re.MULTILINE)
    assert found, "README.md gives no 'python book/_ext/book_pdf.py' command"
    return found.group(1).strip()


@dataclasses.dataclass(frozen=True)
class BookPdf:
    """The outcome of printing the built book with the README's PDF command."""

    command: str
    returncode: int
    log: str
    seconds: float
    path: Path  # the English edition's
    paths: dict[str, Path]  # edition -> its PDF


@pytest.fixture(scope="session")
def book_pdf(book_build: BookBuild) -> BookPdf:
    """Print this session's build to ``_build/html/softmax-book.pdf`` and the Chinese edition's
    to ``_build/html/zh/softmax-book.pdf``, once, with the README's one command.

    The site's download menus link those files, so the site tests wait for them too.
    """
    need(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    for path in PDF_PATHS.values():
        path.unlink(missing_ok=True)
    argv = shlex.split(readme_pdf_command())
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL
    )
    log = done.stdout + done.stderr
    (BUILD_DIR / "book-pdf.log").write_text(log, encoding="utf-8")
    return BookPdf(readme_pdf_command(), done.returncode, log, time.monotonic() - start, PDF_PATH,
                   dict(PDF_PATHS))
