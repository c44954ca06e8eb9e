"""Print the built book to one PDF, with Chromium, from the pages the build already wrote.

    python book/_ext/book_pdf.py                  # _build/html/book/ -> _build/html/softmax-book.pdf

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

The Chinese edition follows the same route: ``--edition-dir zh/book --output zh/...pdf``.
"""

from __future__ import annotations

import argparse
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
.smx-viz-print-note { font-size: .85em; font-style: italic; margin: .3em 0 1em; }
.cell_output img, .smx-viz svg { max-width: 100% !important; height: auto; }
figure, .cell_input, .cell_output, .smx-viz, .proof, .theorem, .admonition { break-inside: avoid-page; }
h1, h2, h3 { break-after: avoid-page; }
"""
FOOTER = ('<div style="width:100%;font-size:8px;color:#555;text-align:center;">'
          '<span class="pageNumber"></span></div>')


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


def page_article(path: Path, pages: set[str], web_note: str) -> tuple[str, Any, list]:
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
        note.append(web_note.format(page=f"{path.parent.name}/{path.name}"))
        if binder is not None:
            note.append(" Or run it live: ")
            live = soup.new_tag("a", href=binder["href"])
            live.string = "this chapter on Binder"
            note.append(live)
            note.append(".")
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


def html_document(landing: BeautifulSoup, content: str) -> str:
    """A page with the site's own head (stylesheets, MathJax) and the print stylesheet."""
    head = copy.copy(landing.head)
    style = landing.new_tag("style")
    style.string = PRINT_CSS
    head.append(style)
    return (f'<!DOCTYPE html><html lang="{landing.html.get("lang", "en")}">{head}'
            '<body><div class="bd-container"><div class="bd-container__inner bd-page-width">'
            '<main class="bd-main"><div class="bd-content"><div class="bd-article-container">'
            f"{content}</div></div></main></div></div></body></html>")


def front_matter(config: dict, chapters: list, pages: list[str], numbers: dict[str, int]) -> str:
    """Title page and contents; each entry links to TOC_LINK + its anchor (made internal later)."""
    version, commit = release()
    repository = config["repository"]["url"].rstrip("/")
    toc = ['<section class="print-toc print-chapter"><h2>Contents</h2><ol>']
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
    return (f'<section class="print-front"><p class="print-title">{config.get("title", "")}</p>'
            f"<p>Version {version}, printed from commit {commit} on {today}.</p>"
            f'<p><a href="{repository}">{repository}</a></p>'
            "<p>Printed from the book's web pages. The code of every chapter ran when the book "
            "was built; interactive figures are shown at their first setting.</p></section>"
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


def print_pdf(page, url: str, output: Path, numbered: bool) -> dict:
    page.goto(url, wait_until="load")
    report = page.evaluate(WAIT_SCRIPT)
    page.pdf(path=str(output), format="A4", print_background=True,
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
    writer.add_metadata(metadata)
    writer.page_mode = "/UseOutlines"
    with open(output, "wb") as file:
        writer.write(file)
    return len(writer.pages)


def build(html_dir: Path, edition_dir: str, output: Path) -> dict:
    from playwright.sync_api import sync_playwright

    start = time.monotonic()
    edition = html_dir / edition_dir
    pages = navigation_order(edition / "index.html")
    landing = BeautifulSoup((edition / pages[0]).read_text(encoding="utf-8"), "html.parser")
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    base = (config.get("html") or {}).get("baseurl") or ""
    where = f"{base.rstrip('/')}/{{page}}" if base else "{page} of the book's website"
    note = f"Interactive figure, printed at its first setting: its sliders move on the web page {where}."
    chapters = [page_article(edition / name, set(pages), note) for name in pages]
    wanted = [_prefix(Path(name).stem, "top") for name in pages]
    wanted += [anchor for _, _, sections in chapters for _, anchor in sections]
    # Chromium writes a named destination (its page) for each element a link points to: these
    # unseen links make one for every chapter and section the contents will list.
    targets = "".join(f'<a href="#{anchor}"></a>' for anchor in wanted)
    body_html = html_document(landing, f'<nav class="print-targets">{targets}</nav>'
                              + "".join(str(wrapper) for _, wrapper, _ in chapters))

    handler = functools.partial(_Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{edition_dir}/{PRINT_PAGE}"
    document = edition / PRINT_PAGE
    body, front = output.with_suffix(".body.pdf"), output.with_suffix(".front.pdf")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.set_default_timeout(900_000)
            page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname
                       == "127.0.0.1" else r.abort())
            document.write_text(body_html, encoding="utf-8")
            report = print_pdf(page, url, body, numbered=True)
            found = destination_pages(body)
            numbers = {anchor: found[anchor] for anchor in wanted if anchor in found}
            missing = [a for a in wanted[: len(pages)] if a not in numbers]
            if missing:
                raise SystemExit(f"no page found for the chapters {missing}")
            document.write_text(html_document(landing, front_matter(config, chapters, pages,
                                                                     numbers)), encoding="utf-8")
            print_pdf(page, url, front, numbered=False)
            browser.close()
        version, commit = release()
        count = assemble(front, body, output, chapters, pages, numbers, {
            "/Title": config.get("title", ""), "/Author": config.get("author", ""),
            "/Subject": f"version {version}, commit {commit}"})
    finally:
        for leftover in (document, body, front):
            leftover.unlink(missing_ok=True)
        server.shutdown()
    if report["mathErrors"]:
        raise SystemExit(f"MathJax reported {report['mathErrors']} errors in the print page")
    return {**report, "pages": pages, "pdf_pages": count, "seconds": time.monotonic() - start}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--edition-dir", default="book",
                        help="the folder of the edition's pages inside the site (book, zh/book)")
    parser.add_argument("--output", type=Path, default=None,
                        help="default: softmax-book.pdf at the root of the site")
    args = parser.parse_args(argv)
    output = args.output or args.html_dir / "softmax-book.pdf"
    report = build(args.html_dir, args.edition_dir, output)
    print(f"{output}: {report['pdf_pages']} PDF pages from {len(report['pages'])} pages of the "
          f"site, {report['math']} formulas, "
          f"{report['widgets']} interactive figures, in {report['seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
