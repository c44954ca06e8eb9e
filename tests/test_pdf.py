"""The PDF of the book, printed from the built site by the README's command (book/_ext/book_pdf.py).

Opened with pypdf, as a reader's viewer would: enough pages, every font embedded, the text of
the book inside it, the contents' page numbers leading to their chapters, a bookmark per page of
the site, and each interactive figure replaced by a still with a pointer to its web page.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from conftest import HTML_DIR, REPO, BookBuild, BookPdf, import_or_need

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STILL_NOTE = "Interactive figure, printed at its first setting"


@pytest.fixture(scope="module")
def reader(book_pdf: BookPdf):
    assert book_pdf.returncode == 0, f"{book_pdf.command} failed:\n{book_pdf.log[-4000:]}"
    assert book_pdf.path.is_file()
    pypdf = import_or_need("pypdf")
    return pypdf.PdfReader(book_pdf.path)


@pytest.fixture(scope="module")
def text(reader) -> list[str]:
    """Each page's text; NFKC undoes the typographic ligatures ("ﬁ" is "fi")."""
    return [unicodedata.normalize("NFKC", page.extract_text() or "") for page in reader.pages]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.book_pdf: list[str] = []
        self.widgets = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "download-book-pdf-button" in (attrs.get("class") or ""):
            self.book_pdf.append(attrs.get("href", ""))
        if tag == "div" and "smx-viz" in (attrs.get("class") or "").split():
            self.widgets += 1


def site_pages(book_build: BookBuild) -> list:
    return sorted((book_build.html_dir / "book").glob("*.html"))


def test_every_page_links_the_pdf_from_its_download_menu(book_build: BookBuild, reader):
    for page in site_pages(book_build):
        links = _Links()
        links.feed(page.read_text(encoding="utf-8"))
        assert len(links.book_pdf) == 1, f"{page.name}: no 'Book (PDF)' entry"
        target = (page.parent / unquote(links.book_pdf[0])).resolve()
        assert target == (HTML_DIR / "softmax-book.pdf").resolve(), f"{page.name} links {target}"


def test_every_chinese_page_links_the_english_pdf(book_build: BookBuild):
    """The Chinese edition (zh/) has no PDF of its own yet: its download menu offers the English one."""
    zh_sources = REPO / "book" / "zh"
    pages = [
        book_build.html_dir / "zh" / f"{source.stem}.html"
        for source in sorted(zh_sources.iterdir())
        if source.suffix in (".md", ".ipynb") and not source.name.startswith("_")
    ]
    assert pages, "no Chinese pages"
    for page in pages:
        links = _Links()
        links.feed(page.read_text(encoding="utf-8"))
        assert len(links.book_pdf) == 1, f"zh/{page.name}: no PDF entry"
        target = (page.parent / unquote(links.book_pdf[0])).resolve()
        assert target == (HTML_DIR / "softmax-book.pdf").resolve(), f"zh/{page.name} links {target}"


def test_pdf_has_a_page_range_a_book_of_this_size_needs(reader, book_build: BookBuild):
    pages = len(site_pages(book_build))
    # Each page of the site starts on a new PDF page; the chapters run to many pages each.
    assert 3 * pages <= len(reader.pages) <= 1500


def _fonts(resources, seen: set, found: list) -> None:
    fonts = resources.get("/Font") if resources else None
    for font in (fonts.get_object() if fonts else {}).values():
        font = font.get_object()
        if id(font) in seen:
            continue
        seen.add(id(font))
        found.append(font)
        # A Type 3 font draws its glyphs with its own resources, which may hold fonts too.
        if font.get("/Subtype") == "/Type3" and "/Resources" in font:
            _fonts(font["/Resources"].get_object(), seen, found)


def _embedded(font) -> bool:
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return "/CharProcs" in font  # its glyphs are drawn inside the PDF
    if subtype == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor else {}
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_every_font_is_embedded(reader):
    seen, fonts = set(), []
    for page in reader.pages:
        resources = page.get("/Resources")
        _fonts(resources.get_object() if resources else None, seen, fonts)
    assert fonts, "the PDF uses no font at all"
    missing = sorted({str(font.get("/BaseFont")) for font in fonts if not _embedded(font)})
    assert not missing, f"fonts not embedded: {missing}"


def test_pdf_holds_the_books_text_and_its_version(text, reader):
    whole = "\n".join(text)
    assert "Jacobian" in whole
    assert "cross-entropy" in whole.lower()
    from test_release import head_commit, project_version

    assert f"Version {project_version()}, printed from commit {head_commit()}" in text[0]
    assert reader.metadata.title == "The Softmax Book"


def _outline(reader) -> list:
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def test_bookmarks_name_every_page_of_the_site_in_order(reader, book_build: BookBuild):
    chapters = [title for depth, title, _ in _outline(reader) if depth == 0]
    assert len(chapters) == len(site_pages(book_build))
    assert chapters[0] == "The Softmax Book" and "Errata and changes" in chapters
    starts = [index for depth, _, index in _outline(reader) if depth == 0]
    assert starts == sorted(starts), "bookmarks out of order"


def test_contents_page_numbers_lead_to_their_chapters(reader, text):
    """The number printed beside a chapter in the contents is the number printed on its page."""
    labels = list(reader.page_labels)
    contents = "\n".join(page for page, label in zip(text, labels) if not label.isdigit())
    checked = 0
    for depth, title, index in _outline(reader):
        if depth:
            continue
        entry = re.search(rf"{re.escape(title)}\s*\.*\s*(\d+)\s*$", contents, re.MULTILINE)
        assert entry, f"the contents do not list {title!r} with a page number"
        number = entry.group(1)
        assert labels[index] == number, f"{title!r}: contents say {number}, it is on {labels[index]}"
        # The page number the reader sees in the footer is that number, and the title is there.
        assert title.split()[0] in text[index]
        assert re.search(rf"(^|\n)\s*{number}\s*$", text[index]), f"page {number}: no footer"
        checked += 1
    assert checked > 10


def test_interactive_figures_become_stills_with_a_pointer_to_the_web(text, book_build: BookBuild):
    widgets = 0
    for page in site_pages(book_build):
        links = _Links()
        links.feed(page.read_text(encoding="utf-8"))
        widgets += links.widgets
    notes = "\n".join(text).replace("\n", " ").count(STILL_NOTE)
    assert widgets > 0 and notes == widgets
