"""The built site, read as a person reads it: every page in headless Chromium, with the network cut
off except for the site itself.

Each page is visited once (the ``visits`` fixture); the tests then ask what was seen. A screenshot
of each page goes to ``_build/screenshots/`` for a person to look at: its top, or the whole page
with ``SOFTMAX_BOOK_SCREENSHOTS=full``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import numpy as np
import pytest
import yaml

import test_release as release

from conftest import (
    BUILD_DIR,
    HTML_DIR,
    REPO,
    BookBuild,
    block_outside_world,
    import_or_need,
    launch_chromium,
    toc_sources,
    zh_toc_sources,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = BUILD_DIR / "screenshots"
FULL_SCREENSHOTS = os.environ.get("SOFTMAX_BOOK_SCREENSHOTS") == "full"
# TeX that MathJax should have turned into math; none of it may be left in a page's prose.
RAW_TEX = ("$$", "\\frac", "\\begin", "\\(", "\\[", "\\mathbf", "\\sigma")

# What the browser reports about one page, gathered in a single visit.
PAGE_SCRIPT = r"""
async () => {
  // The name a screen reader announces for a control or a picture: aria-labelledby, aria-label,
  // a <label> (for= or around it), a title; the subset of the accessible-name rules pages use.
  const accessibleName = (node) => {
    const by = (node.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
      .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
    const labels = Array.from(node.labels || []).map((label) => label.textContent).join(" ");
    return (by || node.getAttribute("aria-label") || labels || node.getAttribute("title")
            || "").trim();
  };
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  // Prose only: code, scripts, and MathJax's own output are not prose.
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll("pre, code, script, style, mjx-container, .MathJax")
       .forEach((node) => node.remove());
  const math = Array.from(document.querySelectorAll(".math"));
  return {
    mathjaxLoaded: Boolean(window.MathJax && MathJax.startup),
    mathElements: math.length,
    mathTypeset: math.filter((node) => node.querySelector("mjx-container")
                                       || node.tagName === "MJX-CONTAINER").length,
    containers: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
    prose: prose.innerText,
    brokenImages: Array.from(document.images)
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => img.getAttribute("src")),
    figures: document.querySelectorAll(".cell_output img").length,
    // Accessibility: an image a screen reader can name, a control it can announce.
    // (Icons marked aria-hidden are decoration a screen reader skips: the theme's buttons
    // carry their own names.)
    missingAlt: Array.from(document.querySelectorAll("img, svg[role=img]"))
      .filter((node) => !node.closest("[aria-hidden=true]"))
      .filter((node) => !(node.tagName === "IMG" ? (node.getAttribute("alt") || "").trim()
                                                  : accessibleName(node)))
      .map((node) => node.outerHTML.slice(0, 120)),
    unlabelledControls: Array.from(document.querySelectorAll(
        "article input:not([type=hidden]), article select, article textarea, .smx-viz input"))
      .filter((node) => !accessibleName(node))
      .map((node) => node.outerHTML.slice(0, 120)),
    // A chapter figure shows through softmax_pkg.viz.show: a light and a dark version, only
    // one of them displayed (here, the light theme: the light one).
    plainFigures: document.querySelectorAll(".cell_output img:not(.smx-figure)").length,
    figuresShown: Array.from(document.querySelectorAll("img.smx-figure"))
      .filter((img) => img.offsetParent !== null)
      .map((img) => img.classList.contains("smx-figure-light") ? "light" : "dark"),
    figuresLight: document.querySelectorAll("img.smx-figure-light").length,
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    lang: document.documentElement.lang,
    switches: Array.from(document.querySelectorAll("a.softmax-language-switch"))
      .filter((a) => a.offsetParent !== null)
      .map((a) => ({ href: a.href, text: a.innerText.trim(), lang: a.hreflang })),
    untranslatedNote: (document.querySelector(".softmax-untranslated") || {}).innerText || "",
    // The release footer: version, commit, the errata page and the report link
    footer: (() => {
      const footer = document.querySelector(".bd-footer-content .softmax-release");
      if (!footer) return null;
      const report = footer.querySelector("a.softmax-report-error");
      const errata = footer.querySelector("a.softmax-errata");
      const visible = (el) => Boolean(el && el.getClientRects().length
                                      && getComputedStyle(el).visibility !== "hidden");
      return {
        text: footer.innerText,
        visible: visible(footer),
        report: report && report.href,
        reportVisible: visible(report),
        reportText: report && report.innerText,
        errata: errata && errata.href,
        title: document.querySelector("h1") ? document.querySelector("h1").innerText : "",
      };
    })(),
  };
}
"""


@dataclasses.dataclass
class Visit:
    """What one page showed: its problems in the browser and what the DOM held."""

    page: str
    console_errors: list[str]
    page_errors: list[str]
    blocked: list[str]
    failed: list[str]
    report: dict
    buttons: dict[str, bool]


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def source(page_path: str) -> str:
    return (HTML_DIR / page_path).read_text(encoding="utf-8")


def screenshot_path(page_path: str) -> Path:
    return SCREENSHOTS / (page_path.removesuffix(".html").replace("/", "__") + ".png")


def html_pages(html_dir: Path) -> list[str]:
    """Every HTML page of the site, as a path relative to its root (theme templates excluded)."""
    return sorted(
        path.relative_to(html_dir).as_posix()
        for path in html_dir.rglob("*.html")
        # also under zh/, the Chinese edition's own site
        if not {"_static", "_sources", "_images"} & set(path.relative_to(html_dir).parts[:2])
    )


def chapter_pages() -> list[str]:
    """The pages made from notebooks, from the tables of contents of both editions."""
    english = [
        source.relative_to(REPO).with_suffix(".html").as_posix()
        for source in toc_sources()
        if source.suffix == ".ipynb"
    ]
    return english + [f"zh/{name}" for name in zh_pages() if name.endswith(".html") and
                      (ZH_BOOK / name).with_suffix(".ipynb").exists()]


ZH_BOOK = REPO / "book" / "zh"


def zh_pages() -> list[str]:
    """The Chinese edition's pages (relative to zh/), from book/zh/_toc.yml."""
    return [source.relative_to(ZH_BOOK).with_suffix(".html").as_posix() for source in zh_toc_sources()]


def notebook_of(page_path: str) -> str:
    """The repository path of the notebook a chapter page was made from."""
    if page_path.startswith("zh/"):
        return "book/" + page_path.removesuffix(".html") + ".ipynb"
    return page_path.removesuffix(".html") + ".ipynb"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is the base class's
        pass


@pytest.fixture(scope="session")
def site(book_build: BookBuild, book_pdf):
    """Serve the built site on 127.0.0.1 at a free port, for the whole session.

    After the PDF is printed (``book_pdf``): every page's download menu links it.
    """
    # With --keep-going the site is written even when the build has warnings (test_book.py fails
    # then); the fixture removed the old site first, so what is there is this session's build.
    assert (book_build.html_dir / "book" / "index.html").exists(), "no site was built"
    handler = functools.partial(_QuietHandler, directory=str(book_build.html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def visits(site: str, book_build: BookBuild) -> dict[str, Visit]:
    """Open every page of the site once in headless Chromium, with the outside world blocked.

    Two browsers take pages from one queue, largest first, each in its own thread (Playwright's
    sync API wants one instance per thread): a page is visited alone in its own tab either way,
    so this only halves the wall-clock time.
    """
    import_or_need("playwright")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    pages = sorted(html_pages(book_build.html_dir),
                   key=lambda path: (book_build.html_dir / path).stat().st_size, reverse=True)
    queue = collections.deque(pages)
    lock = threading.Lock()
    visits: dict[str, Visit] = {}

    def worker() -> None:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            while True:
                with lock:
                    if not queue:
                        break
                    page_path = queue.popleft()
                try:
                    visits[page_path] = _visit(context, site, page_path)
                except BaseException:
                    with lock:
                        queue.clear()  # the other browser stops too: the error shows at once
                    raise
            browser.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(worker) for _ in range(2)]:
            future.result()
    return {page_path: visits[page_path] for page_path in sorted(visits)}


def _visit(context, site: str, page_path: str) -> Visit:
    page = context.new_page()
    console_errors, page_errors, blocked, failed = [], [], [], []

    block_outside_world(page, blocked)
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: (
            failed.append(request.url) if urlsplit(request.url).hostname == "127.0.0.1" else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.url} ({response.status})") if response.status >= 400 else None
        ),
    )
    page.goto(site + page_path, wait_until="load")
    redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', source(page_path))
    if redirect:  # the site's root page only forwards the reader to the landing page
        page.wait_for_url(urljoin(site + page_path, redirect.group(1)))
    page.wait_for_load_state("networkidle")
    report = page.evaluate(PAGE_SCRIPT)
    # The top of the page, or all of it with SOFTMAX_BOOK_SCREENSHOTS=full (a few seconds a page).
    page.screenshot(path=str(screenshot_path(page_path)), full_page=FULL_SCREENSHOTS)
    buttons = _header_buttons(page, page_path) if page_path in chapter_pages() else {}
    page.close()
    return Visit(page_path, console_errors, page_errors, blocked, failed, report, buttons)


def _header_buttons(page, page_path: str) -> dict[str, bool]:
    """Open the launch and download menus as a reader would, and see what they offer."""
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]["url"].rstrip("/")
    notebook_path = notebook_of(page_path)
    # By class, not by name: the Chinese edition's theme names the buttons in Chinese.
    page.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
    # In the launch menu itself: the page may link to Binder elsewhere too (the banner of an
    # interactive figure's static version does).
    binder = page.locator(".dropdown-launch-buttons").locator(
        f'a[href^="https://mybinder.org/v2/gh/"][href$="?urlpath=lab/tree/{notebook_path}"]'
    )
    launch = binder.count() == 1 and binder.is_visible()
    page.keyboard.press("Escape")
    page.locator(".dropdown-download-buttons button.dropdown-toggle").click()
    notebook = page.locator('a.dropdown-item[href*="_sources/"][href$=".ipynb"]')
    download = notebook.count() == 1 and notebook.is_visible()
    page.keyboard.press("Escape")
    repo = page.locator(f'a[href="{repository}"]')
    return {
        "Binder (JupyterLab)": launch,
        "download .ipynb": download,
        "repository": repo.count() >= 1 and repo.first.is_visible(),
    }


def _problems(visits: dict[str, Visit], check) -> list[str]:
    return [f"{path}: {problem}" for path, visit in visits.items() for problem in check(visit)]


def test_the_site_has_the_landing_page_chapters_and_reference(visits: dict[str, Visit]):
    for page in ["index.html", "book/index.html", "book/api.html", "book/bibliography.html"]:
        assert page in visits
    for page in ["zh/index.html", "zh/search.html"] + [f"zh/{name}" for name in zh_pages()]:
        assert page in visits
    assert chapter_pages() and set(chapter_pages()) <= set(visits)
    assert all(screenshot_path(page).exists() for page in visits)


def test_no_page_logs_a_console_error_or_throws(visits: dict[str, Visit]):
    problems = _problems(visits, lambda v: v.console_errors + v.page_errors)
    assert not problems, "\n".join(problems)


def test_every_request_stays_on_the_site_and_succeeds(visits: dict[str, Visit]):
    problems = _problems(visits, lambda v: [f"blocked {url}" for url in v.blocked])
    problems += _problems(visits, lambda v: [f"failed {url}" for url in v.failed])
    assert not problems, "\n".join(problems)


def test_math_is_typeset_by_the_sites_own_mathjax(visits: dict[str, Visit]):
    def check(visit: Visit):
        report = visit.report
        if report["mathElements"] and not report["mathjaxLoaded"]:
            yield "has math but MathJax did not load"
        if report["mathTypeset"] != report["mathElements"]:
            yield f"typeset {report['mathTypeset']} of {report['mathElements']} math elements"
        if report["mathErrors"]:
            yield f"{report['mathErrors']} MathJax errors"
        for tex in RAW_TEX:
            if tex in report["prose"]:
                yield f"raw TeX {tex!r} in the text"

    assert not (problems := _problems(visits, check)), "\n".join(problems)
    for page in ["book/index.html", "book/api.html", "zh/index.html"] + chapter_pages():
        assert visits[page].report["containers"] > 0, f"{page} shows no typeset math"


def test_every_image_loads(visits: dict[str, Visit]):
    problems = _problems(visits, lambda v: [f"image {src}" for src in v.report["brokenImages"]])
    assert not problems, "\n".join(problems)
    # Figures drawn by the chapters' code reach the site (not every chapter needs one).
    assert any(visits[page].report["figures"] for page in chapter_pages()), "no chapter figure"


def test_every_image_has_alt_text_and_every_control_a_label(visits: dict[str, Visit]):
    """What a screen reader needs: a text for each picture, a name for each control."""
    problems = _problems(visits, lambda v: [f"no alt text: {n}" for n in v.report["missingAlt"]])
    problems += _problems(
        visits, lambda v: [f"unlabelled control: {n}" for n in v.report["unlabelledControls"]]
    )
    assert not problems, "\n".join(problems)


def test_each_chapter_figure_shows_once_with_its_light_version(visits: dict[str, Visit]):
    """Every figure comes through softmax_pkg.viz.show, and the light theme shows it once."""

    def check(visit: Visit):
        report = visit.report
        if report["plainFigures"]:
            yield f"{report['plainFigures']} figures not shown with softmax_pkg.viz.show"
        if report["figuresShown"] != ["light"] * report["figuresLight"]:
            yield f"shown: {report['figuresShown']}, figures: {report['figuresLight']}"

    assert not (problems := _problems(visits, check)), "\n".join(problems)
    chapters = set(chapter_pages())
    assert sum(v.report["figuresLight"] for page, v in visits.items() if page in chapters) >= 30


def test_every_internal_link_resolves_to_a_file_and_anchor(
    visits: dict[str, Visit], site: str, book_build: BookBuild
):
    root = urlsplit(site)

    def check(visit: Visit):
        for href in visit.report["links"]:
            url = urlsplit(href)
            if url.scheme not in ("http", "https") or url.netloc != root.netloc:
                continue
            target = book_build.html_dir / unquote(url.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                yield f"link {href} -> missing {target.relative_to(book_build.html_dir)}"
            elif url.fragment and target.suffix == ".html":
                if unquote(url.fragment) not in anchors_of(target):
                    yield f"link {href} -> no anchor #{url.fragment}"

    problems = _problems(visits, check)
    assert not problems, "\n".join(problems)


def test_chapter_pages_offer_binder_download_and_repository_buttons(visits: dict[str, Visit]):
    for page in chapter_pages():
        missing = [name for name, shown in visits[page].buttons.items() if not shown]
        assert visits[page].buttons and not missing, f"{page} lacks {missing}"


# --- the release footer: version, commit, errata (tests/test_release.py has the rest) -------


def test_every_page_shows_version_commit_and_a_prefilled_report_link(
    visits: dict[str, Visit], book_build: BookBuild
):
    # Each page's footer as Chromium showed it, read in the site tests' one visit of every page.
    version, commit = release.project_version(), release.head_commit()
    repository = release.repository_url()
    form_fields = set(release.errata_form_fields())
    pages = html_pages(book_build.html_dir)
    assert sorted(visits) == pages
    problems = []
    for path in pages:
        if 'http-equiv="Refresh"' in (book_build.html_dir / path).read_text(encoding="utf-8"):
            continue  # the site's root index.html only forwards to book/index.html
        seen = visits[path].report["footer"]
        if seen is None:
            problems.append(f"{path}: no release footer")
            continue
        if not (seen["visible"] and seen["reportVisible"]):
            problems.append(f"{path}: footer or report link not visible")
        # The Chinese edition (zh/) words its footer in Chinese and links its own errata page.
        chinese = path.startswith("zh/")
        says = f"版本 {version}，" if chinese else f"version {version},"
        if says not in seen["text"] or f"commit {commit}" not in seen["text"]:
            problems.append(f"{path}: footer says {seen['text']!r}")
        report_text = "报告本页的错误" if chinese else "Report an error on this page"
        if seen["reportText"] != report_text:
            problems.append(f"{path}: report link reads {seen['reportText']!r}")
        errata_page = "/zh/errata.html" if chinese else "/book/errata.html"
        if not (seen["errata"] or "").split("#")[0].endswith(errata_page):
            problems.append(f"{path}: errata link {seen['errata']!r}")
        url = urlsplit(seen["report"] or "")
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if f"{url.scheme}://{url.netloc}{url.path}" != f"{repository}/issues/new":
            problems.append(f"{path}: report link goes to {seen['report']!r}")
        if query.get("template") != release.ERRATA_FORM.name:
            problems.append(f"{path}: report link does not open {release.ERRATA_FORM.name}")
        prefilled = set(query) - {"template", "title", "labels"}
        if not prefilled <= form_fields:
            problems.append(f"{path}: fields {prefilled - form_fields} are not in the form")
        if not query.get("version", "").startswith(f"{version}, commit {commit}"):
            problems.append(f"{path}: version field {query.get('version')!r}")
        chapter = query.get("chapter", "")
        # Pages without a document title (search) are named after the page itself.
        title = seen["title"].strip("#¶ \n").lower()
        if f"({path})" not in chapter or title not in chapter.lower():
            problems.append(f"{path}: chapter field {query.get('chapter')!r}")
    assert len(pages) > 10
    assert any(path.startswith("zh/") for path in pages), "the Chinese edition's pages are missing"
    assert not problems, "\n".join(problems)


# --- the two editions ------------------------------------------------------------------------------

def test_every_page_says_its_language_and_links_to_its_twin(visits: dict[str, Visit], site: str):
    """English pages: lang="en", a switch to the Chinese page (or, if there is none yet, to the
    Chinese landing page with a note). Chinese pages: lang="zh-CN", a switch back."""
    translated = set(zh_pages())
    sphinx_own = ("search.html", "genindex.html", "py-modindex.html", "prf-prf.html")
    problems = []
    for page_path, visit in visits.items():
        if page_path == "index.html":  # the root page only forwards to book/index.html
            continue
        chinese = page_path.startswith("zh/")
        report = visit.report
        if report["lang"] != ("zh-CN" if chinese else "en"):
            problems.append(f"{page_path}: <html lang={report['lang']!r}>")
        if len(report["switches"]) != 1:
            problems.append(f"{page_path}: {len(report['switches'])} visible language switches")
            continue
        target = report["switches"][0]["href"].removeprefix(site)
        name = page_path.split("/", 1)[-1]
        if chinese:
            expected = name if name in sphinx_own else f"book/{name}"
            note = ""
        elif page_path.startswith("book/") and name in translated:
            expected, note = f"zh/{name}", ""
        elif name in sphinx_own:  # each edition has its own
            expected, note = f"zh/{name}", ""
        else:
            expected, note = "zh/index.html", "尚未译成中文"
        if target != expected:
            problems.append(f"{page_path}: language switch to {target}, expected {expected}")
        if note not in report["untranslatedNote"] or (not note and report["untranslatedNote"]):
            problems.append(f"{page_path}: note {report['untranslatedNote']!r}")
    assert not problems, "\n".join(problems)


def test_the_chinese_edition_speaks_chinese(visits: dict[str, Visit]):
    """The theme's own words (search, previous/next) and the figures' words are Chinese."""
    chapter = source("zh/03_softmax_derivative.html")
    assert "搜索" in chapter, "the theme's interface is not in Chinese"
    # matplotlib's complaint when it has no font for a character (the figure shows empty boxes).
    assert "missing from font" not in chapter
    assert "雅可比矩阵" in visits["zh/03_softmax_derivative.html"].report["prose"]
    assert visits["zh/03_softmax_derivative.html"].report["figures"] >= 3


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("雅可比", "03_softmax_derivative.html"),
        ("交叉熵", "index.html"),
        ("交叉熵", "03_softmax_derivative.html"),
        ("温度", "index.html"),
        ("温度", "03_softmax_derivative.html"),
    ],
)
def test_chinese_search_finds_the_pages_that_use_a_term(site: str, query: str, page: str):
    """Sphinx indexes Chinese words only when jieba segments them (issue 14)."""
    import_or_need("playwright")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked: list[str] = []
        block_outside_world(tab, blocked)
        tab.goto(f"{site}zh/search.html?q={query}", wait_until="load")
        tab.wait_for_selector("#search-results ul.search li", timeout=30_000)
        # Sphinx adds the results one by one, 5 ms apart, and fills in the summary line under the
        # title only after the last one (searchtools.js, _finishSearch): read the list then.
        tab.wait_for_function(
            "() => document.querySelector('#search-results p.search-summary')"
            "?.textContent.trim() !== ''", timeout=30_000)
        found = [urlsplit(a).path.rsplit("/", 1)[-1] for a in tab.eval_on_selector_all(
            "#search-results ul.search li a", "(links) => links.map((a) => a.href)"
        )]
        tab.screenshot(path=str(SCREENSHOTS / f"zh__search__{query}.png"), full_page=True)
        browser.close()
    assert page in found, f"searching {query} found {found}"
    assert not blocked


# -- the light and the dark theme ------------------------------------------------------------------

THEME_SHOTS = Path(tempfile.gettempdir()) / "softmax-book-themes"
# One page with chapter figures and one with the static widgets, and what to photograph there:
# the first chapter figure (a bar chart and curves: text, axes, legends) and the first widget.
THEME_PAGES = {
    "figure": ("book/01_softmax.html", "img.smx-figure-{theme}"),
    "widget": ("book/interactive.html", ".smx-viz svg.smx-viz-figure"),
}
# WCAG 2.1 minimum contrast of normal text (1.4.3); the page background's own tolerance.
TEXT_CONTRAST = 4.5
SAME_BACKGROUND = 1.15


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2.1 relative luminance of 8-bit sRGB colours (last axis: R, G, B)."""
    c = np.asarray(rgb, dtype=float) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(first, second) -> np.ndarray:
    high, low = np.maximum(first, second), np.minimum(first, second)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="session")
def theme_shots(site: str) -> dict[tuple[str, str], dict]:
    """Each page of THEME_PAGES in each theme, set as the theme's switch sets it (localStorage
    "mode" and "theme", read before the page is drawn): the page background and a screenshot of
    the element, saved in THEME_SHOTS, with what the DOM says is shown."""
    import_or_need("playwright")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(THEME_SHOTS, ignore_errors=True)
    THEME_SHOTS.mkdir(parents=True)
    shots = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for theme in ("light", "dark"):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_init_script(
                f'localStorage.setItem("mode", "{theme}"); localStorage.setItem("theme", "{theme}");'
            )
            for what, (page_path, selector) in THEME_PAGES.items():
                page = context.new_page()
                block_outside_world(page, [])
                page.goto(site + page_path, wait_until="networkidle")
                element = page.locator(selector.format(theme=theme)).first
                element.scroll_into_view_if_needed()
                path = THEME_SHOTS / f"{what}-{theme}.png"
                element.screenshot(path=str(path))
                page.screenshot(path=str(THEME_SHOTS / f"{what}-{theme}-page.png"))
                shots[what, theme] = {
                    "path": path,
                    "data_theme": page.evaluate("document.documentElement.dataset.theme"),
                    "background": page.evaluate(
                        "getComputedStyle(document.body).backgroundColor"),
                    "shown": page.evaluate(
                        """() => Array.from(document.querySelectorAll("img.smx-figure"))
                          .filter((img) => img.offsetParent !== null)
                          .map((img) => img.className)"""),
                }
                page.close()
            context.close()
        browser.close()
    return shots


def _rgb(css: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"[\d.]+", css)[:3]])


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("what", list(THEME_PAGES))
def test_figures_and_widgets_are_readable_in_both_themes(theme_shots, what, theme):
    """Read the screenshot's pixels: the figure's background is the page's, and its text and
    axes (the neutral pixels that stand out from the background) reach text contrast."""
    from PIL import Image

    shot = theme_shots[what, theme]
    assert shot["data_theme"] == theme
    page_background = _rgb(shot["background"])
    assert (luminance(page_background) < 0.05) == (theme == "dark"), shot["background"]
    pixels = np.asarray(Image.open(shot["path"]).convert("RGB")).reshape(-1, 3).astype(int)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]  # the colour most of the figure is
    page_lum = luminance(page_background)
    assert contrast(luminance(background), page_lum) < SAME_BACKGROUND, (
        f"{what} in the {theme} theme: background {background}, page {page_background}"
    )
    # Ink: grey pixels (text, axes, ticks) clearly apart from the background. Their cores must
    # reach text contrast; anti-aliased edges are lighter, so the 90th percentile is what counts.
    neutral = np.ptp(pixels, axis=1) < 24
    against = contrast(luminance(pixels), luminance(background))
    ink = against[neutral & (against > 1.5)]
    assert ink.size > 500, f"{what} in the {theme} theme: almost no text or axes ({ink.size} px)"
    assert np.percentile(ink, 90) >= TEXT_CONTRAST, (
        f"{what} in the {theme} theme: its text reaches contrast {np.percentile(ink, 90):.2f}"
    )
    if what == "figure":  # the theme's own version of each figure, and only that one
        assert shot["shown"] and all(f"smx-figure-{theme}" in c for c in shot["shown"]), shot


def test_the_pdf_prints_each_chapter_figure_once_in_its_light_version(book_pdf, book_build):
    """The PDF is printed from the site in the light theme: each figure of the English pages
    appears once, and as its light version (a white corner; the dark one is transparent)."""
    import base64
    import collections
    import io

    from PIL import Image

    pypdf = import_or_need("pypdf")
    assert book_pdf.returncode == 0, book_pdf.log[-2000:]
    figures = collections.Counter()
    for page in sorted((book_build.html_dir / "book").glob("*.html")):
        for data in re.findall(r'<img class="smx-figure smx-figure-light[^>]*base64,([^"]+)"',
                               page.read_text(encoding="utf-8")):
            figures[Image.open(io.BytesIO(base64.b64decode(data))).size] += 1
    assert sum(figures.values()) >= 30
    printed = [image.image for page in pypdf.PdfReader(book_pdf.path).pages
               for image in page.images if image.image.size in figures]
    assert collections.Counter(image.size for image in printed) == figures
    corners = [image.convert("RGBA").getpixel((0, 0)) for image in printed]
    assert all(corner[:3] == (255, 255, 255) for corner in corners), corners
