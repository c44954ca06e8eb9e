"""The Chinese edition's translations: one unit per English text block, tracked by its hash.

The English pages are the source. A translated page ``book/<page>`` has a translation file
``book/zh/_translations/<page stem>.yml`` that maps each of its English *units* to Chinese:

- in a notebook, a unit is a markdown cell (code cells are never translated: the Chinese notebook
  copies them verbatim, so both editions run one source of code);
- in a Markdown page, a unit is a section: from one heading up to the next (headings inside code
  fences or directives do not count).

Each entry records the SHA-256 (first 12 hex digits) of the English unit it translates::

    page: 03_softmax_derivative.ipynb
    units:
    - en: 5d1e0c9a4b7f      # hash of the English text this translates
      cell: 0               # where it was when translated (for people; matching is by hash)
      zh: |-
        # softmax 的导数
        ...

:func:`generate` writes ``book/zh/<page>`` from the English page and the translation: code cells
and cell metadata unchanged, each markdown unit replaced by its Chinese text. A unit whose English
hash has no translation (new or edited English) is kept in English under a visible "not yet
translated" note, and :func:`stale_units` names it; ``tests/test_i18n.py`` fails on any such unit
and on a committed Chinese page that differs from what :func:`generate` writes now.

Run ``python book/_ext/softmax_translate.py`` to regenerate every Chinese page (``--check`` only
reports), and ``python book/_ext/softmax_translate.py stub <page>`` to append the page's missing
units to its translation file, with the English text as a starting point to translate.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import sys
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "book"
ZH = BOOK / "zh"
TRANSLATIONS = ZH / "_translations"

# Shown in the Chinese edition above an English unit that has no current translation.
UNTRANSLATED_NOTE = (
    ":::{admonition} 本段尚未翻译\n:class: warning\n"
    "英文原文是新写的或已修改，中文译文还没有跟上；以下暂为英文原文。\n:::"
)
_HEADING = re.compile(r"^#{1,6} ")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})")


def unit_hash(text: str) -> str:
    """The hash that identifies an English unit: line endings and outer blank lines ignored."""
    normalised = text.replace("\r\n", "\n").strip("\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class Unit:
    """One English text unit of a page: its position (cell or section index) and its text."""

    index: int
    text: str

    @property
    def hash(self) -> str:
        return unit_hash(self.text)

    @property
    def first_words(self) -> str:
        line = next((s for s in self.text.strip().splitlines() if s.strip()), "")
        return line[:60]


@dataclasses.dataclass(frozen=True)
class Stale:
    """An English unit of a translated page with no translation of its current text."""

    page: str
    index: int
    first_words: str
    hash: str

    def __str__(self) -> str:
        kind = "cell" if self.page.endswith(".ipynb") else "section"
        return f"{self.page} {kind} {self.index} ({self.hash}): {self.first_words!r}"


def markdown_sections(text: str) -> list[str]:
    """Split a MyST page at its headings (outside fences), keeping every character."""
    sections: list[list[str]] = [[]]
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(2)[0] * len(opened.group(2))
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
            fence = None
        elif fence is None and _HEADING.match(line) and any(s.strip() for s in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return ["".join(section) for section in sections]


def english_page(page: str) -> Path:
    return BOOK / page


def english_units(page: str) -> list[Unit]:
    """The translatable units of ``book/<page>``, in order."""
    path = english_page(page)
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [Unit(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    return [Unit(i, s) for i, s in enumerate(markdown_sections(path.read_text(encoding="utf-8")))]


def translation_file(page: str) -> Path:
    return TRANSLATIONS / (Path(page).stem + ".yml")


def translated_pages() -> list[str]:
    """The English pages (names relative to ``book/``) that have a translation file."""
    pages = []
    for path in sorted(TRANSLATIONS.glob("*.yml")):
        page = yaml.safe_load(path.read_text(encoding="utf-8"))["page"]
        if translation_file(page) != path:
            raise ValueError(f"{path} names page {page!r}; the file must be named after it")
        pages.append(page)
    return pages


def translations(page: str) -> dict[str, str]:
    """English hash -> Chinese text, for one page (none before its translation file exists)."""
    path = translation_file(page)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    table: dict[str, str] = {}
    for entry in data.get("units") or []:
        if entry.get("todo") or not isinstance(entry.get("zh"), str) or not entry["zh"].strip():
            continue  # a stub not yet translated (its draft is still the English text)
        if entry["en"] in table:
            raise ValueError(f"{translation_file(page)}: two translations of unit {entry['en']}")
        table[entry["en"]] = entry["zh"].strip("\n")
    return table


def stale_units(page: str) -> list[Stale]:
    """The English units of ``page`` whose current text has no translation."""
    table = translations(page)
    return [
        Stale(page, u.index, u.first_words, u.hash) for u in english_units(page) if u.hash not in table
    ]


def orphan_translations(page: str) -> list[str]:
    """Hashes that are translated but no longer occur in the English page (old text)."""
    current = {u.hash for u in english_units(page)}
    return [h for h in translations(page) if h not in current]


def _chinese_text(english: str, table: dict[str, str]) -> str:
    translated = table.get(unit_hash(english))
    if translated is not None:
        return translated
    lines = english.strip("\n").split("\n")
    if _HEADING.match(lines[0]):  # keep a page's title first
        return "\n".join([lines[0], "", UNTRANSLATED_NOTE, "", *lines[1:]])
    return UNTRANSLATED_NOTE + "\n\n" + english.strip("\n")


def generate(page: str) -> str:
    """The text of ``book/zh/<page>``: the English page with its units in Chinese."""
    table = translations(page)
    path = english_page(page)
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        chinese = copy.deepcopy(nb)
        for cell in chinese.cells:
            if cell.cell_type == "markdown":
                cell.source = _chinese_text(cell.source, table)
        return nbformat.writes(chinese) + "\n"
    sections = markdown_sections(path.read_text(encoding="utf-8"))
    return "\n\n".join(_chinese_text(s, table) for s in sections) + "\n"


def out_of_date() -> list[str]:
    """Chinese pages whose committed text differs from what :func:`generate` writes now."""
    return [p for p in translated_pages() if not (ZH / p).exists() or (ZH / p).read_text(encoding="utf-8") != generate(p)]


def write_all() -> list[str]:
    written = []
    for page in translated_pages():
        text = generate(page)
        target = ZH / page
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(page)
    return written


class _Literal(str):
    pass


def _literal(dumper: yaml.Dumper, text: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")


def stub(page: str) -> int:
    """Append the page's untranslated units to its translation file, English text as the draft."""
    path = translation_file(page)
    missing = stale_units(page)
    by_index = {u.index: u for u in english_units(page)}
    lines = [] if path.exists() else [f"page: {page}\nunits:\n"]
    dumper = type("Dumper", (yaml.SafeDumper,), {})
    dumper.add_representer(_Literal, _literal)
    where = "cell" if page.endswith(".ipynb") else "section"
    for stale in missing:
        entry = [{"en": stale.hash, where: stale.index, "todo": True,
                  "zh": _Literal(by_index[stale.index].text.strip("\n") + "\n")}]
        lines.append(yaml.dump(entry, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(lines))
    return len(missing)


def main(argv: list[str]) -> int:
    if argv[:1] == ["stub"] and len(argv) == 2:
        print(f"{stub(argv[1])} units appended to {translation_file(argv[1])}")
        return 0
    if argv[:1] == ["--check"]:
        stale = [s for p in translated_pages() for s in stale_units(p)]
        late = out_of_date()
        for s in stale:
            print("untranslated:", s)
        for p in late:
            print("out of date: book/zh/" + p)
        return 1 if stale or late else 0
    if argv:
        print(__doc__)
        return 2
    for page in write_all():
        print("wrote book/zh/" + page)
    for page in translated_pages():
        for s in stale_units(page):
            print("untranslated:", s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
