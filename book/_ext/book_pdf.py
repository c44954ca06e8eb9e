"""Print the built book to one PDF per edition, with Chromium, from the pages the build wrote.

    python book/_ext/book_pdf.py     # _build/html/book/ -> _build/html/softmax-book.pdf, and
                                     # _build/html/zh/   -> _build/html/zh/softmax-book.pdf
    python book/_ext/book_pdf.py --edition zh        # one edition only

Run it after ``jupyter-book build`` (it executes nothing: the chapters ran in the build). It
needs Playwright and Debian's Chromium, as the browser tests do, and pypdf.

How: every page of the edition, in the order of the site's navigation, is read from the built
HTML; their articles are put one after another into a single print page beside them (ids
prefixed with the page's name, so links between chapters become links inside the PDF). Chromium
loads that page as a reader's browser would (the site's own stylesheets, MathJax typesetting the
mathematics, the static widgets drawing themselves) and prints it once, with page numbers. The
page of each chapter and section is read from the print's named destinations; a title page and
the contents with those numbers are printed separately, put in front (pages i, ii, ...), their
links pointed at the body, and bookmarks added, with pypdf. An interactive figure is printed at
its first setting, with a line that points to the web page where its sliders move.

Both editions are printed by one browser, side by side (each in a page with its own renderer
process, so the two use both cores), each from the pages its own table of contents lists (the
Chinese edition, ``zh/``: whatever pages ``book/zh/_toc.yml`` has when the book is built). The
words the printing adds (title page, "Contents", the note under an interactive figure) come from
``EDITIONS``; the Chinese glyphs from Noto Sans CJK SC (Debian's ``fonts-noto-cjk``), which
Chromium embeds, as it embeds every font it prints with (``unify_ideographs`` then fixes the text
layer of the glyphs it names after Kangxi radicals).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import functools
import html
import http.server
import re
import subprocess
import sys
import threading
import time
import tomllib
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PRINT_PAGE = "_print-book.html"  # written beside the edition's pages, removed afterwards
TOC_LINK = "https://contents.invalid/#"  # the contents' links, made links into the body by pypdf

PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
html, body { background: #fff !important; }
.bd-main .bd-content .bd-article-container { max-width: none; padding: 0; }
.print-chapter { break-before: page; }
.print-targets + .print-chapter { break-before: auto; }
/* The theme hides an article's first h1 in print (it prints the page title separately). */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.print-front { text-align: center; padding-top: 30mm; }
.print-front .print-title { font-size: 2.6rem; font-weight: 700; margin-bottom: 1.5rem; }
.print-toc ol { list-style: none; padding-left: 0; }
.print-toc ol ol { padding-left: 1.5em; }
.print-toc li.toc-chapter { margin-top: .45em; font-weight: 600; }
.print-toc li.toc-section { font-weight: 400; font-size: .92em; }
.print-toc .toc-line { display: flex; align-items: baseline; gap: .3em; }
.print-toc .toc-line .leader { flex: 1; border-bottom: 1px dotted #888; }
.print-toc .toc-line a { color: inherit; text-decoration: none; }
pre, .highlight pre { white-space: pre-wrap !important; word-break: break-word; }
.headerlink, .smx-viz-banner, .smx-viz-controls, .smx-viz-nojs, .toggle-button { display: none !important; }
/* A code cell the web hides behind a toggle stays hidden on paper, dead toggle and all. */
details.hide.above-input { display: none !important; }
.smx-viz-print-note { font-size: .85em; font-style: italic; margin: .3em 0 1em; }
.cell_output img, .smx-viz svg { max-width: 100% !important; height: auto; }
figure, .cell_input, .cell_output, .smx-viz, .proof, .theorem, .admonition { break-inside: avoid-page; }
h1, h2, h3 { break-after: avoid-page; }
"""
FOOTER = ('<div style="width:100%;font-size:8px;color:#555;text-align:center;">'
          '<span class="pageNumber"></span></div>')

# Each edition: the folder of its pages inside the built site, its _config.yml (title, author),
# where its PDF goes (the path its download menu links: softmax_pdf of softmax_release), the
# words the printing adds, and what its print needs beyond PRINT_CSS.
EDITIONS: dict[str, dict[str, Any]] = {
    "en": {
        "folder": "book",
        "config": "_config.yml",
        "pdf": "softmax-book.pdf",
        "words": {
            "contents": "Contents",
            "version": "Version {version}, printed from commit {commit} on {today}.",
            "printed": "Printed from the book's web pages. The code of every chapter ran when the "
                       "book was built; interactive figures are shown at their first setting.",
            "still": "Interactive figure, printed at its first setting: its sliders move on "
                     "{where}.",
            "site_page": "the web page {page} of the book's website",
            "web_page": "the web page {url}",
            "live": " Or run it live: ",
            "binder": "this chapter on Binder",
            "live_end": ".",
        },
        "css": "",
    },
    "zh": {
        "folder": "zh",
        "config": "book/zh/_config.yml",
        "pdf": "zh/softmax-book.pdf",
        "words": {
            "contents": "目录",
            "version": "版本 {version}，印自 commit {commit}，{today}。",
            "printed": "本书由网页版印成。每一章的代码都在构建全书时运行过；交互图印出的是它的初始设置。",
            "still": "交互图，这里印出的是它的初始设置；在{where}上可以拖动它的滑块。",
            "site_page": "本书网站的网页 {page} ",
            "web_page": "网页 {url} ",
            "live": "也可以在线运行：",
            "binder": "在 Binder 上打开本章",
            "live_end": "。",
        },
        # Chinese glyphs from Noto Sans CJK SC by name, not from whatever fallback fontconfig
        # picks (which could be the Japanese or Korean cut of the same characters).
        "css": """
:root {
  --pst-font-family-base: system-ui, "Noto Sans CJK SC", sans-serif;  /* CJK_FONT */
  --pst-font-family-heading: system-ui, "Noto Sans CJK SC", sans-serif;
  --pst-font-family-monospace: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace;
}
""",
    },
}


def navigation_order(landing: Path) -> list[str]:
    """The edition's pages as the site's sidebar lists them: the landing page, then each entry."""
    soup = BeautifulSoup(landing.read_text(encoding="utf-8"), "html.parser")
    pages = [landing.name]
    for link in soup.select("nav.bd-docs-nav a.reference.internal"):
        href = link.get("href", "").split("#")[0] or landing.name
        if href not in pages and "/" not in href:
            pages.append(href)
    return pages


def _prefix(stem: str, fragment: str) -> str:
    return f"{stem}--{fragment}"


def page_article(path: Path, pages: set[str], words: dict[str, str],
                 where: str) -> tuple[str, Any, list]:
    """One page's article for print: title, content (ids prefixed, links made internal)."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article.bd-article")
    if article is None:
        raise SystemExit(f"{path}: no <article class='bd-article'>")
    stem = path.stem
    for tag in article.find_all(id=True):
        tag["id"] = _prefix(stem, tag["id"])
    for link in article.find_all("a", href=True):
        url = urlsplit(link["href"])
        if url.scheme or url.netloc:
            continue  # the outside world: kept as it is
        target = url.path or path.name  # the edition's pages all sit in one folder
        if target not in pages:
            del link["href"]  # another file of the site (a download, a source): not on paper
            continue
        link["href"] = "#" + _prefix(Path(target).stem, url.fragment or "top")
    # Exercise solutions are dropdowns on the web; on paper they are simply shown.
    for solution in article.select(".dropdown"):
        solution["class"] = [c for c in solution["class"] if c != "dropdown"]
    binder = soup.select_one('.dropdown-launch-buttons a[href*="/v2/"]')
    for figure in article.select(".smx-viz"):
        note = soup.new_tag("p", attrs={"class": "smx-viz-print-note"})
        web_page = where.format(page=f"{path.parent.name}/{path.name}")
        note.append(words["still"].format(where=web_page))
        if binder is not None:
            note.append(words["live"])
            live = soup.new_tag("a", href=binder["href"])
            live.string = words["binder"]
            note.append(live)
            note.append(words["live_end"])
        figure.insert_after(note)
    heading = article.find("h1")
    title = heading.get_text(" ", strip=True).rstrip("#¶ ").strip() if heading else stem
    sections = []
    for h2 in article.find_all("h2"):
        section = h2.find_parent("section")
        if section is not None and section.get("id"):
            sections.append((h2.get_text(" ", strip=True).rstrip("#¶ ").strip(), section["id"]))
    wrapper = soup.new_tag("section", attrs={"class": "print-chapter", "id": _prefix(stem, "top")})
    inner = soup.new_tag("article", attrs={"class": "bd-article"})
    for child in list(article.children):
        inner.append(child.extract())
    wrapper.append(inner)
    return title, wrapper, sections


def release() -> tuple[str, str]:
    with open(REPO / "pyproject.toml", "rb") as file:
        version = tomllib.load(file)["project"]["version"]
    done = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO,
                          capture_output=True, text=True)
    return version, done.stdout.strip() or "unknown"


def plain(title: str) -> str:
    """A heading's text without TeX markup, for the PDF's bookmarks and the contents."""
    title = re.sub(r"\\[()\[\]]", "", title)
    title = re.sub(r"\\(?:mathbf|mathrm|operatorname|text)\s*", "", title)
    return re.sub(r"\s+", " ", title.replace("{", "").replace("}", "")).strip()


def html_document(landing: BeautifulSoup, content: str, css: str = "") -> str:
    """A page with the site's own head (stylesheets, MathJax) and the print stylesheet."""
    head = copy.copy(landing.head)
    style = landing.new_tag("style")
    style.string = PRINT_CSS + css
    head.append(style)
    return (f'<!DOCTYPE html><html lang="{landing.html.get("lang", "en")}">{head}'
            '<body><div class="bd-container"><div class="bd-container__inner bd-page-width">'
            '<main class="bd-main"><div class="bd-content"><div class="bd-article-container">'
            f"{content}</div></div></main></div></div></body></html>")


def front_matter(config: dict, repository: str, words: dict[str, str], chapters: list,
                 pages: list[str], numbers: dict[str, int]) -> str:
    """Title page and contents; each entry links to TOC_LINK + its anchor (made internal later)."""
    version, commit = release()
    toc = [f'<section class="print-toc print-chapter"><h2>{words["contents"]}</h2><ol>']
    for (title, _, sections), name in zip(chapters, pages):
        anchor = _prefix(Path(name).stem, "top")
        toc.append(f'<li class="toc-chapter"><span class="toc-line"><a href="{TOC_LINK}{anchor}">'
                   f'{html.escape(plain(title))}</a><span class="leader"></span>'
                   f'<span class="pno">{numbers[anchor]}</span></span>')
        entries = [(t, i) for t, i in sections if i in numbers]
        if entries:
            toc.append("<ol>")
            for section_title, section_id in entries:
                toc.append(f'<li class="toc-section"><span class="toc-line">'
                           f'<a href="{TOC_LINK}{section_id}">{html.escape(plain(section_title))}'
                           f'</a><span class="leader"></span><span class="pno">'
                           f"{numbers[section_id]}</span></span></li>")
            toc.append("</ol>")
        toc.append("</li>")
    toc.append("</ol></section>")
    today = datetime.date.today().isoformat()
    printed = words["version"].format(version=version, commit=commit, today=today)
    return (f'<section class="print-front"><p class="print-title">{config.get("title", "")}</p>'
            f"<p>{printed}</p>"
            f'<p><a href="{repository}">{repository}</a></p>'
            f'<p>{words["printed"]}</p></section>'
            + "".join(toc))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


WAIT_SCRIPT = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  await Promise.all(Array.from(document.images).map((img) => img.complete ? null :
      new Promise((done) => { img.onload = img.onerror = done; })));
  return {
    mathErrors: document.querySelectorAll("mjx-merror").length,
    math: document.querySelectorAll("mjx-container").length,
    widgets: document.querySelectorAll(".smx-viz svg").length,
  };
}
"""


async def print_pdf(page, output: Path, numbered: bool, url: str | None = None) -> dict:
    """Print the page (loading ``url`` first, if given) once it is loaded and typeset."""
    if url is not None:
        await page.goto(url, wait_until="commit")
    await page.wait_for_load_state("load")
    report = await page.evaluate(WAIT_SCRIPT)
    await page.pdf(path=str(output), format="A4", print_background=True,
                   display_header_footer=numbered, header_template="<span></span>",
                   footer_template=FOOTER,
                   margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"})
    return report


def destination_pages(pdf: Path) -> dict[str, int]:
    """Chromium names a destination after each linked element's id: id -> 1-based page."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    return {name.lstrip("/"): reader.get_destination_page_number(dest) + 1
            for name, dest in reader.named_destinations.items()}


CJK_FONT = "Noto Sans CJK SC"  # the Chinese edition's glyphs (Debian's fonts-noto-cjk)
# Code points drawn like a CJK ideograph: the Kangxi radicals and the CJK radicals supplement
# (U+2E80-U+2FDF) and the compatibility ideographs (U+F900-U+FAFF).
_LOOKALIKE = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")
_CMAP_ENTRY = re.compile(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])?")


def _cmap_map(cmap: str) -> dict[str, str]:
    """A ToUnicode CMap's bfchar and bfrange entries: source code (hex) -> text."""
    found: dict[str, str] = {}

    def text(hex_: str) -> str:
        return bytes.fromhex(hex_).decode("utf-16-be", errors="replace")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
        for source, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            found[source.upper()] = text(target)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.DOTALL):
        for first, last, target in _CMAP_ENTRY.findall(block):
            width = len(first)
            codes = range(int(first, 16), int(last, 16) + 1)
            if target.startswith("["):
                targets = [text(t) for t in re.findall(r"<([0-9A-Fa-f]+)>", target)]
            else:
                start = text(target.strip("<>"))
                targets = [start[:-1] + chr(ord(start[-1]) + i) for i in range(len(codes))]
            for code, mapped in zip(codes, targets):
                found[f"{code:0{width}X}"] = mapped
    return found


@functools.cache
def _ideographs() -> dict[str, str]:
    """Look-alike -> the ideograph Noto Sans CJK SC draws with the same glyph (一 glyph, two code
    points: ⽐ U+2F50 and 比; ⻚ U+2EDA and 页), read from the font's character map."""
    from fontTools.ttLib import TTCollection  # comes with matplotlib

    found = subprocess.run(["fc-match", "-f", "%{file}", CJK_FONT], capture_output=True, text=True)
    path = found.stdout.strip()
    if found.returncode or not path.endswith(".ttc"):
        return {}
    for font in TTCollection(path, lazy=True).fonts:
        if font["name"].getDebugName(1) == CJK_FONT:
            cmap = font.getBestCmap()
            break
    else:
        return {}
    ideograph = {}
    for code, glyph in sorted(cmap.items()):
        if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            ideograph.setdefault(glyph, chr(code))
    return {chr(code): ideograph[glyph] for code, glyph in cmap.items()
            if _LOOKALIKE.match(chr(code)) and glyph in ideograph}


def _ideograph(match: re.Match) -> str:
    return _ideographs().get(match[0]) or unicodedata.normalize("NFKC", match[0])


def unify_ideographs(writer) -> int:
    """Make the text of CJK glyphs the ideographs, not their look-alikes; returns fonts fixed.

    Chromium writes each font's ToUnicode map from the font's own character map, taking for a
    glyph the first code point that draws it. Noto Sans CJK draws 比 and the Kangxi radical ⽐
    (U+2F50) with one glyph, so the PDF's text would read 雅可⽐ (and 网⻚ for 网页), and a
    reader searching it for 雅可比 would find nothing. The book's text has no radicals: each is
    mapped to the ideograph the font draws with the same glyph (else its NFKC form), and every
    other entry is kept.
    """
    fixed, seen = 0, set()
    for page in writer.pages:
        fonts = (page.get("/Resources") or {}).get("/Font")
        for font in (fonts.get_object() if fonts else {}).values():
            font = font.get_object()
            stream = font.get("/ToUnicode")
            if stream is None or id(stream.get_object()) in seen:
                continue
            stream = stream.get_object()
            seen.add(id(stream))
            cmap = stream.get_data().decode("latin-1")
            mapping = _cmap_map(cmap)
            if not any(_LOOKALIKE.search(t) for t in mapping.values()):
                continue
            entries = [f"<{code}> <{_LOOKALIKE.sub(_ideograph, t).encode('utf-16-be').hex()}>"
                       for code, t in sorted(mapping.items())]
            chunks = [entries[i:i + 100] for i in range(0, len(entries), 100)]  # 100 at most
            blocks = "".join(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n"
                             for chunk in chunks)
            head = cmap[: min(cmap.index(m) for m in ("beginbfchar", "beginbfrange") if m in cmap)]
            head = head[: head.rstrip().rfind("\n") + 1]  # drop the count before the first block
            tail = cmap[cmap.index("endcmap"):]
            stream.set_data((head + blocks + tail).encode("latin-1"))  # re-compressed (Flate)
            fixed += 1
    return fixed


def assemble(front: Path, body: Path, output: Path, chapters: list, pages: list[str],
             numbers: dict[str, int], metadata: dict[str, str]) -> int:
    """Front matter (pages i, ii, ...) + body (1, 2, ...), contents linked, bookmarks added."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject, NullObject

    writer = PdfWriter()
    writer.append(PdfReader(front), import_outline=False)
    skip = len(writer.pages)
    writer.append(PdfReader(body), import_outline=False)

    def target(anchor: str) -> int:
        return skip + numbers[anchor] - 1

    for page in writer.pages[:skip]:
        for annotation in page.get("/Annots", []):
            annotation = annotation.get_object()
            uri = annotation.get("/A", {}).get("/URI", "")
            if uri.startswith(TOC_LINK):
                destination = writer.pages[target(uri.removeprefix(TOC_LINK))].indirect_reference
                del annotation[NameObject("/A")]
                annotation[NameObject("/Dest")] = ArrayObject(
                    [destination, NameObject("/XYZ"), NullObject(), NullObject(), NullObject()])
    for (title, _, sections), name in zip(chapters, pages):
        parent = writer.add_outline_item(
            title=plain(title), page_number=target(_prefix(Path(name).stem, "top")))
        for section_title, section_id in sections:
            if section_id in numbers:
                writer.add_outline_item(
                    title=plain(section_title), page_number=target(section_id), parent=parent)
    writer.set_page_label(0, skip - 1, "/r")
    writer.set_page_label(skip, len(writer.pages) - 1, "/D", start=1)
    unify_ideographs(writer)
    writer.add_metadata(metadata)
    writer.page_mode = "/UseOutlines"
    with open(output, "wb") as file:
        writer.write(file)
    return len(writer.pages)


class EditionPrint:
    """One edition's print: ``__init__`` reads its pages and writes its print page, ``run``
    prints it in a browser page and writes the PDF, ``clean_up`` removes what it wrote."""

    def __init__(self, html_dir: Path, site_url: str, edition: str, output: Path) -> None:
        self.start = time.monotonic()
        self.edition, self.output = edition, output
        spec = EDITIONS[edition]
        self.words, self.css = spec["words"], spec["css"]
        folder = html_dir / spec["folder"]
        self.pages = navigation_order(folder / "index.html")
        self.landing = BeautifulSoup((folder / self.pages[0]).read_text(encoding="utf-8"),
                                     "html.parser")
        self.config = yaml.safe_load((REPO / spec["config"]).read_text(encoding="utf-8"))
        root = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
        self.repository = root["repository"]["url"].rstrip("/")  # named once, in the root's
        base = (root.get("html") or {}).get("baseurl") or ""
        where = (self.words["web_page"].replace("{url}", f"{base.rstrip('/')}/{{page}}") if base
                 else self.words["site_page"])
        self.chapters = [page_article(folder / name, set(self.pages), self.words, where)
                         for name in self.pages]
        self.wanted = [_prefix(Path(name).stem, "top") for name in self.pages]
        self.wanted += [anchor for _, _, sections in self.chapters for _, anchor in sections]
        # Chromium writes a named destination (its page) for each element a link points to:
        # these unseen links make one for every chapter and section the contents will list.
        targets = "".join(f'<a href="#{anchor}"></a>' for anchor in self.wanted)
        body_html = html_document(
            self.landing, f'<nav class="print-targets">{targets}</nav>'
            + "".join(str(wrapper) for _, wrapper, _ in self.chapters), self.css)
        self.url = f"{site_url}/{spec['folder']}/{PRINT_PAGE}"
        self.document = folder / PRINT_PAGE
        output.parent.mkdir(parents=True, exist_ok=True)
        self.body, self.front = output.with_suffix(".body.pdf"), output.with_suffix(".front.pdf")
        self.document.write_text(body_html, encoding="utf-8")

    async def run(self, page) -> dict:
        report = await print_pdf(page, self.body, numbered=True, url=self.url)
        found = destination_pages(self.body)
        numbers = {anchor: found[anchor] for anchor in self.wanted if anchor in found}
        missing = [a for a in self.wanted[: len(self.pages)] if a not in numbers]
        if missing:
            raise SystemExit(f"{self.edition}: no page found for the chapters {missing}")
        self.document.write_text(html_document(self.landing, front_matter(
            self.config, self.repository, self.words, self.chapters, self.pages, numbers),
            self.css), encoding="utf-8")
        await print_pdf(page, self.front, numbered=False, url=self.url)
        version, commit = release()
        count = assemble(self.front, self.body, self.output, self.chapters, self.pages, numbers, {
            "/Title": self.config.get("title", ""), "/Author": self.config.get("author", ""),
            "/Subject": f"version {version}, commit {commit}"})
        if report["mathErrors"]:
            raise SystemExit(f"{self.edition}: MathJax reported {report['mathErrors']} errors")
        return {**report, "pages": self.pages, "pdf_pages": count, "output": self.output,
                "seconds": time.monotonic() - self.start}

    def clean_up(self) -> None:
        for leftover in (self.document, self.body, self.front):
            leftover.unlink(missing_ok=True)


async def _print_all(prints: list[EditionPrint]) -> list[dict]:
    from playwright.async_api import async_playwright

    async def allow_local(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for _ in prints:
            page = await browser.new_page(viewport={"width": 1000, "height": 1400})
            page.set_default_timeout(900_000)
            await page.route("**/*", allow_local)
            pages.append(page)
        reports = await asyncio.gather(*(job.run(page) for job, page in zip(prints, pages)))
        await browser.close()
    return reports


def build(html_dir: Path, editions: list[str]) -> dict[str, dict]:
    """Print each edition to its PDF in the site (``EDITIONS[...]["pdf"]``), with one browser.

    The editions print side by side, each in a browser page of its own: a page's typesetting
    and printing (most of the time) run in its own renderer process, so two editions use both
    cores of a two-core machine."""
    handler = functools.partial(_Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site_url = f"http://127.0.0.1:{server.server_address[1]}"
    prints: list[EditionPrint] = []
    try:
        for edition in editions:
            prints.append(EditionPrint(html_dir, site_url, edition,
                                       html_dir / EDITIONS[edition]["pdf"]))
        reports = asyncio.run(_print_all(prints))
    finally:
        for job in prints:
            job.clean_up()
        server.shutdown()
    return {job.edition: report for job, report in zip(prints, reports)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--edition", choices=sorted(EDITIONS), action="append",
                        help="print this edition only (repeatable); default: every edition "
                             "the built site holds")
    args = parser.parse_args(argv)
    editions = args.edition or [edition for edition, spec in EDITIONS.items()
                                if (args.html_dir / spec["folder"] / "index.html").is_file()]
    if not editions:
        raise SystemExit(f"{args.html_dir}: no built edition (run jupyter-book build first)")
    start = time.monotonic()
    for edition, report in build(args.html_dir, editions).items():
        size = report["output"].stat().st_size / 2**20
        print(f"{edition}: {report['output']}: {report['pdf_pages']} PDF pages ({size:.1f} MiB) "
              f"from {len(report['pages'])} pages of the site, {report['math']} formulas, "
              f"{report['widgets']} interactive figures, done {report['seconds']:.0f} s after "
              "it started")
    print(f"{len(editions)} PDFs in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
