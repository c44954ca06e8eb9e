"""The PDF of each edition, printed from the built site by the README's command
(book/_ext/book_pdf.py).

Opened with pypdf, as a reader's viewer would: enough pages, every font embedded (the Chinese
glyphs too), the text of the book inside it (searchable: 雅可比, not look-alike radicals), every
figure, the contents' page numbers leading to their chapters, a bookmark per page of the site,
and each interactive figure replaced by a still with a pointer to its web page. Each test runs
for the English PDF and for the Chinese one, over whatever pages each edition's _toc.yml lists.
"""

from __future__ import annotations

import hashlib

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import BookBuild, BookPdf, import_or_need, toc_sources

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What each edition's PDF must say, in its own words (book/_ext/book_pdf.py EDITIONS).
EDITION = {
    "en": {
        "folder": "book",
        "title": "The Softmax Book",
        "still": "Interactive figure, printed at its first setting",
        "version": "Version {version}, printed from commit {commit}",
        "words": ("Jacobian", "cross-entropy", "Theorem", "Proof.", "Exercise", "Solution to"),
        "absent": (),
    },
    "zh": {
        "folder": "zh",
        "title": "Softmax 之书",
        "still": "交互图，这里印出的是它的初始设置",
        "version": "版本 {version}，印自 commit {commit}",
        # The glossary's words (sphinx-proof's and sphinx-exercise's own words included) ...
        "words": ("雅可比", "交叉熵", "定理", "证明：", "习题", "解答"),
        # ... and not the extensions' own: "Proof. ", "Exercise 3", "Solution to", "练习 3".
        "absent": (r"\bProof\.", r"\b(Theorem|Exercise|Definition) \d", r"\bSolution to\b",
                   r"练习\s*\d"),
    },
}
# Kangxi radicals, CJK radicals supplement, compatibility ideographs: look-alikes of ideographs
# that a PDF's text may carry instead of them (then a search for 雅可比 finds nothing).
LOOKALIKE = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")


@pytest.fixture(scope="module", params=sorted(EDITION))
def edition(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def reader(book_pdf: BookPdf, edition: str):
    assert book_pdf.returncode == 0, f"{book_pdf.command} failed:\n{book_pdf.log[-4000:]}"
    path = book_pdf.paths[edition]
    assert path.is_file(), f"{book_pdf.command} printed no {path}:\n{book_pdf.log[-2000:]}"
    pypdf = import_or_need("pypdf")
    return pypdf.PdfReader(path)


@pytest.fixture(scope="module")
def text(reader) -> list[str]:
    """Each page's text; only the typographic ligatures ("ﬁ" is "fi") are undone, so a Chinese
    character is read as the code point the PDF gives it."""
    def unligature(page: str) -> str:
        return re.sub("[\ufb00-\ufb06]", lambda m: unicodedata.normalize("NFKC", m[0]), page)

    return [unligature(page.extract_text() or "") for page in reader.pages]


def squeeze(text: str) -> str:
    """Without white space: text extraction puts spaces between Chinese and Latin runs."""
    return re.sub(r"\s+", "", text)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.book_pdf: list[str] = []
        self.widgets = 0
        self.images: set[str] = set()
        self.depth = 0  # inside <article class="bd-article">

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "a" and "download-book-pdf-button" in (attrs.get("class") or ""):
            self.book_pdf.append(attrs.get("href", ""))
        if tag == "div" and "smx-viz" in classes:
            self.widgets += 1
        if tag == "article" and "bd-article" in classes:
            self.depth = 1
        elif tag == "article" and self.depth:
            self.depth += 1
        # A raster figure (an SVG would print as drawing, not as an image): an image file, or a
        # chapter figure shown by softmax_pkg.viz.show, whose light version (the one printed) is
        # inline PNG data.
        src = attrs.get("src", "")
        if tag == "img" and self.depth and (
            re.search(r"\.(png|jpe?g|gif|webp)$", src, re.I) or "smx-figure-light" in classes
        ):
            self.images.add(hashlib.sha256(src.encode()).hexdigest() if src.startswith("data:") else src)

    def handle_endtag(self, tag):
        if tag == "article" and self.depth:
            self.depth -= 1


def site_pages(book_build: BookBuild, edition: str = "en") -> list[Path]:
    """The built page of each entry of the edition's table of contents."""
    folder = book_build.html_dir / EDITION[edition]["folder"]
    return [folder / f"{source.stem}.html" for source in toc_sources(edition)]


def _read(page: Path) -> _Links:
    links = _Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_every_page_links_its_editions_pdf_from_its_download_menu(
        book_build: BookBuild, book_pdf: BookPdf, edition: str):
    pages = site_pages(book_build, edition)
    assert pages
    for page in pages:
        links = _read(page)
        assert len(links.book_pdf) == 1, f"{page.name}: no PDF entry in the download menu"
        target = (page.parent / unquote(links.book_pdf[0])).resolve()
        assert target == book_pdf.paths[edition].resolve(), f"{page.name} links {target}"


def test_pdf_has_a_page_range_a_book_of_this_size_needs(reader, book_build: BookBuild, edition):
    pages = len(site_pages(book_build, edition))
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


def _draws_chinese(font) -> bool:
    """Whether the font's ToUnicode map gives any glyph a CJK ideograph."""
    cmap = font.get("/ToUnicode")
    if cmap is None:
        return False
    data = cmap.get_object().get_data().decode("latin-1")
    codes = re.findall(r"<([0-9A-Fa-f]{4})>", data)
    return any(0x4E00 <= int(code, 16) <= 0x9FFF for code in codes)


def test_every_font_is_embedded(reader, edition):
    seen, fonts = set(), []
    for page in reader.pages:
        resources = page.get("/Resources")
        _fonts(resources.get_object() if resources else None, seen, fonts)
    assert fonts, "the PDF uses no font at all"
    missing = sorted({str(font.get("/BaseFont")) for font in fonts if not _embedded(font)})
    assert not missing, f"fonts not embedded: {missing}"
    if edition == "zh":  # the Chinese glyphs come from fonts inside the PDF
        assert any(_draws_chinese(font) for font in fonts), "no embedded font draws Chinese"


def test_pdf_holds_the_books_text_and_its_version(text, reader, edition):
    words = EDITION[edition]
    whole = "\n".join(text)
    for word in words["words"]:
        assert word in whole, f"{word!r} is not in the PDF's text"
    for pattern in words["absent"]:
        found = re.search(pattern, whole)
        assert not found, f"{found and found[0]!r} is in the Chinese PDF's text"
    assert not LOOKALIKE.search(whole), f"look-alike code points: {set(LOOKALIKE.findall(whole))}"
    from test_release import head_commit, project_version

    printed = words["version"].format(version=project_version(), commit=head_commit())
    assert squeeze(printed) in squeeze(text[0])
    assert reader.metadata.title == words["title"]


def test_every_figure_of_the_pages_is_in_the_pdf(reader, book_build: BookBuild, edition):
    """Each image of the edition's articles (the figures) is an image of the PDF."""
    wanted = set()
    for page in site_pages(book_build, edition):
        wanted |= {f"{page.parent.name}/{src}" for src in _read(page).images}
    seen, images = set(), 0

    def count(resources) -> int:
        found = 0
        objects = resources.get("/XObject") if resources else None
        for item in (objects.get_object().values() if objects else []):
            item = item.get_object()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if item.get("/Subtype") == "/Image":
                found += 1
            elif item.get("/Subtype") == "/Form" and "/Resources" in item:
                found += count(item["/Resources"].get_object())
        return found

    for page in reader.pages:
        images += count(page["/Resources"].get_object())
    assert wanted, "the pages have no figures"
    assert images >= len(wanted), f"{images} images in the PDF for {len(wanted)} figures"


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


def test_bookmarks_name_every_page_of_the_site_in_order(reader, book_build: BookBuild, edition):
    chapters = [title for depth, title, _ in _outline(reader) if depth == 0]
    assert len(chapters) == len(site_pages(book_build, edition))
    assert chapters[0] == EDITION[edition]["title"]
    if edition == "en":
        assert "Errata and changes" in chapters
    starts = [index for depth, _, index in _outline(reader) if depth == 0]
    assert starts == sorted(starts), "bookmarks out of order"


def test_contents_page_numbers_lead_to_their_chapters(reader, text, book_build: BookBuild, edition):
    """The number printed beside a chapter in the contents is the number printed on its page."""
    labels = list(reader.page_labels)
    contents = "\n".join(page for page, label in zip(text, labels) if not label.isdigit())
    checked = 0
    for depth, title, index in _outline(reader):
        if depth:
            continue
        pattern = r"\s*".join(re.escape(word) for word in title.split())
        entry = re.search(rf"{pattern}\s*\.*\s*(\d+)\s*$", contents, re.MULTILINE)
        assert entry, f"the contents do not list {title!r} with a page number"
        number = entry.group(1)
        assert labels[index] == number, f"{title!r}: contents say {number}, it is on {labels[index]}"
        # The page number the reader sees in the footer is that number, and the title is there.
        assert title.split()[0] in text[index]
        assert re.search(rf"(^|\n)\s*{number}\s*$", text[index]), f"page {number}: no footer"
        checked += 1
    assert checked == len(site_pages(book_build, edition))


def test_interactive_figures_become_stills_with_a_pointer_to_the_web(text, book_build: BookBuild,
                                                                     edition):
    widgets = sum(_read(page).widgets for page in site_pages(book_build, edition))
    notes = squeeze("\n".join(text)).count(squeeze(EDITION[edition]["still"]))
    assert widgets > 0 and notes == widgets
