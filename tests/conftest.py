"""Shared test helpers.

Tests that need something outside Python (Chromium, a fresh virtual environment, PyTorch) call
:func:`need`. On a developer's laptop a missing prerequisite skips the test; in CI
(``SOFTMAX_BOOK_CI=1``, set by ``.ci/run``) it fails it, so CI can never go green by skipping.

The session fixture :func:`book_build` builds the book once, with the README's own build command,
in a fresh environment made from requirements.txt alone (:func:`fresh_env`), for ``test_book.py``
(the build and the sources), ``test_binder_env.py`` (every notebook ran in that environment) and
``test_site.py`` (the site in a browser).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import venv
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


def in_fresh_process(code: str, *args: object) -> object:
    """Run ``code`` in a fresh Python process, with ``args`` as ``sys.argv[1:]`` and the checkout
    first on its path, and return the JSON value it prints last.

    For memory measurements: tracemalloc counts the allocations of every thread, and in this
    session background threads read the output of the book build while the package tests run.
    """
    done = run_stoppable([sys.executable, "-c", code, *map(str, args)], timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


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


# --- A fresh environment made from requirements.txt, as on a new machine or on Binder ----------

# What pip prints when it cannot reach the index at all (not when a pin does not exist).
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def clean_environment(env_dir: Path, home: Path) -> dict[str, str]:
    """The variables of a Binder-like session: this venv first on PATH, nothing from outside."""
    # pip's own settings (certificates, mirrors, timeouts) stay: they say how to reach PyPI, and
    # pip installs into the new environment whatever they say.
    # SOFTMAX_BOOK_*: what the caller set for its own builds (SOFTMAX_BOOK_EDITIONS=en) does not
    # belong in a fresh environment either.
    leaks = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "JUPYTER", "CONDA",
             "SOFTMAX_BOOK_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(leaks)}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PYTHONNOUSERSITE"] = "1"
    # Jupyter's per-user folders may hold a "python3" kernel of another Python: use empty ones.
    env["JUPYTER_DATA_DIR"] = str(home / "jupyter-data")
    env["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    env["IPYTHONDIR"] = str(home / "ipython")
    env["MPLCONFIGDIR"] = str(home / "matplotlib")
    return env


@dataclasses.dataclass(frozen=True)
class FreshEnv:
    """A new virtual environment that sees no outside package, and the variables to run in it."""

    env_dir: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.env_dir / "bin" / name)


# ``pip install -e .`` (the fresh environment) and ``python -m build`` (tests/test_release.py)
# both run setuptools in the checkout, which writes its egg-info there: one at a time.
SETUPTOOLS_IN_CHECKOUT = threading.Lock()


def make_fresh_env(root: Path) -> FreshEnv:
    """A new virtual environment in ``root`` with the README's ``pip install -r requirements.txt``,
    run in the repository root as Binder runs it (pip keeps its cache: a second run is quick)."""
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    env = clean_environment(env_dir, root)
    with SETUPTOOLS_IN_CHECKOUT:
        done = run_stoppable(
            [str(env_dir / "bin" / "python"), "-m", "pip", "install",
             "--disable-pip-version-check", "-r", "requirements.txt"],
            cwd=REPO, env=env, timeout=1800,
        )
    offline = any(sign in done.stderr for sign in OFFLINE_SIGNS)
    need(done.returncode == 0 or not offline, "access to PyPI")
    assert done.returncode == 0, f"pip install -r requirements.txt failed:\n{done.stderr[-5000:]}"
    return FreshEnv(env_dir, env)


@dataclasses.dataclass(frozen=True)
class BookBuild:
    """The outcome of building the book with the README's command."""

    command: str
    returncode: int
    log: str  # the English build's, which repeats every problem of the Chinese one
    zh_log: str  # the Chinese build's own log (_build/zh/build.log)
    seconds: float
    html_dir: Path


def build_book(fresh_env: FreshEnv) -> BookBuild:
    """Build the book exactly as the README says, in the fresh environment, from a clean output
    folder.

    Sphinx rebuilds incrementally and only reports warnings for the pages it rereads, so the old
    HTML and doctrees are removed first: every build reads every page and reports every warning.
    The logs are kept in ``_build/book-build.log`` and ``_build/zh/build.log``.
    """
    command = readme_build_command()
    stale = [HTML_DIR, BUILD_DIR / ".doctrees", BUILD_DIR / "jupyter_execute", BUILD_DIR / "zh"]
    for folder in stale:  # _build/zh: the Chinese build's log, read below
        shutil.rmtree(folder, ignore_errors=True)
    argv = shlex.split(command)
    argv[0] = fresh_env.bin(argv[0]) if argv[0] == "jupyter-book" else argv[0]
    start = time.monotonic()
    done = run_stoppable(argv, cwd=REPO, env=fresh_env.env, timeout=1200)
    seconds = time.monotonic() - start
    log = ANSI.sub("", done.stdout + done.stderr)  # Sphinx colours its log
    BUILD_DIR.mkdir(exist_ok=True)
    (BUILD_DIR / "book-build.log").write_text(log, encoding="utf-8")
    zh_log = BUILD_DIR / "zh" / "build.log"
    zh_text = ANSI.sub("", zh_log.read_text(encoding="utf-8")) if zh_log.exists() else ""
    return BookBuild(command, done.returncode, log, zh_text, seconds, HTML_DIR)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- ... made in the background while the other tests run ----------------------------------------
# Making the environment and building the book take minutes on two cores, mostly in subprocesses:
# they start as soon as the tests are collected, in a background thread, and the tests that need
# them run last (pytest_collection_modifyitems), so the package tests run meanwhile.

_BACKGROUND: dict[str, concurrent.futures.Future] = {}
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fresh-env")
_PROCESSES: list[subprocess.Popen] = []
_STOP = threading.Event()  # set when the session ends: no new step may start
_PROCESSES_LOCK = threading.Lock()


def run_stoppable(argv: list[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` capturing text output, in a process group of its own that the end of
    the session stops (with the kernels and builds it started) if the tests end first."""
    with _PROCESSES_LOCK:
        if _STOP.is_set():
            raise RuntimeError(f"the test session ended before {argv[:3]} could start")
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, stdin=subprocess.DEVNULL, start_new_session=True,
                                   **kwargs)
        _PROCESSES.append(process)
    with process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(process, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _stop_group(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(process.pid, sig)


def _needs(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session: pytest.Session, config, items: list[pytest.Item]):
    # Stable: the tests that need the fresh environment keep their order, after all others. They
    # all carry the marker "venv" (the book, the site, the PDFs are built in it), so that
    # -m "not venv" leaves out everything that needs PyPI.
    items.sort(key=lambda item: _needs(item, "fresh_env"))
    for item in items:
        if _needs(item, "fresh_env"):
            item.add_marker(pytest.mark.venv)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any(_needs(item, "fresh_env") for item in session.items):
        root = Path(tempfile.mkdtemp(prefix="softmax-fresh-env-"))
        _BACKGROUND["root"] = root  # type: ignore[assignment]
        _BACKGROUND["env"] = _POOL.submit(make_fresh_env, root)
    if any(_needs(item, "book_build") for item in session.items):
        _BACKGROUND["build"] = _POOL.submit(lambda: build_book(_BACKGROUND["env"].result()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The tests ended before they needed the build (-x, a keyboard interrupt): stop it.
    futures = [f for f in (_BACKGROUND.get("build"), _BACKGROUND.get("env")) if f is not None]
    for future in futures:
        future.cancel()
    with _PROCESSES_LOCK:
        _STOP.set()
        for process in _PROCESSES:
            _stop_group(process, signal.SIGTERM)
    concurrent.futures.wait(futures)
    if "root" in _BACKGROUND:
        shutil.rmtree(_BACKGROUND["root"], ignore_errors=True)  # about a gigabyte


@pytest.fixture(scope="session")
def fresh_env() -> FreshEnv:
    """The fresh environment (:func:`make_fresh_env`), made in the background.

    The book is built in it (:func:`book_build`), so the build executes every notebook of both
    editions with this environment's kernel: what a reader on a fresh machine or on Binder gets.
    """
    return _BACKGROUND["env"].result()


@pytest.fixture(scope="session")
def book_build(fresh_env: FreshEnv) -> BookBuild:
    """The book, built once per session with the README's command in the fresh environment
    (:func:`build_book`), in the background."""
    return _BACKGROUND["build"].result()


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
