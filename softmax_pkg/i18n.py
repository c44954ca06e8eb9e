"""The book's edition, and the words its figures show in it.

The English and the Chinese edition of the book run the same code cells. A figure's words go
through :func:`label`, so the cell that draws the figure is written once::

    ax.set_xlabel(label("input $j$ (column)"))

In the English edition :func:`label` returns its argument. In the Chinese edition it returns the
Chinese text that the label tables in ``book/zh/_translations/`` give for it (``figure_labels.json``
and one ``<page>.labels.json`` per page, read as one table), and makes matplotlib
draw its words with Noto Sans CJK SC (Debian's ``fonts-noto-cjk``), falling back to the font it
used before (DejaVu Sans); the mathematics in a label keeps matplotlib's usual math fonts.

The edition is read from where the notebook runs, as the book's build and Binder run it: in
``book/zh/`` it is Chinese, anywhere else English. In the Chinese edition, importing this module
sets the fonts (before any figure exists: matplotlib fixes a text's font when it creates it). A label the table lacks, or a machine without
a CJK font, gives the English text: never a figure of empty boxes.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

__all__ = ["edition", "label", "label_table", "use_edition_fonts"]

CJK_FONT = "Noto Sans CJK SC"
LABELS = Path("_translations") / "figure_labels.json"


def edition() -> str:
    """``"zh"`` in the Chinese edition's folder (``book/zh/``), else ``"en"``.

    >>> edition()
    'en'
    """
    here = Path.cwd()
    if here.name == "zh" and here.parent.name == "book" and (here / LABELS).is_file():
        return "zh"
    return "en"


def label_table(folder: str | Path) -> dict[str, str]:
    """The label table of the edition in ``folder``: English figure words to Chinese.

    Parameters
    ----------
    folder : str or pathlib.Path
        The edition's folder (``book/zh``), whose ``_translations/figure_labels.json`` and
        ``_translations/<page>.labels.json`` files are read as one table.

    Returns
    -------
    dict of str to str
        A new dict on every call.

    Raises
    ------
    FileNotFoundError
        If ``folder`` has no ``_translations`` folder.
    ValueError
        If a file is not UTF-8 JSON, or not a mapping of strings to strings, or two files translate
        one English text differently; the message names the file.
    """
    folder = Path(folder)
    if not (folder / LABELS.parent).is_dir():
        raise FileNotFoundError(f"folder {folder} has no {LABELS.parent} folder of label tables")
    table: dict[str, str] = {}
    paths = sorted({folder / LABELS, *(folder / LABELS.parent).glob("*.labels.json")})
    for path in (p for p in paths if p.is_file()):
        try:
            part = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path} is not valid UTF-8 JSON: {exc}") from None
        if not isinstance(part, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in part.items()
        ):
            raise ValueError(f"{path} must map English strings to Chinese strings")
        clash = sorted(k for k in part if k in table and table[k] != part[k])
        if clash:
            raise ValueError(f"{path} translates {clash} differently from another label table")
        table.update(part)
    return table


_cached_table = functools.cache(label_table)  # label() reads the tables once per folder


@functools.cache
def _use_cjk_font() -> bool:
    """Draw words with Noto Sans CJK SC first; False (and nothing changed) if it is missing."""
    from matplotlib import font_manager, rcParams

    try:
        font_manager.findfont(CJK_FONT, fallback_to_default=False)
    except ValueError:
        return False
    # The CJK font first: matplotlib lays out the words of a label that contains $...$ with the
    # first family alone (its mathematics keeps the usual DejaVu fonts). Noto Sans CJK has Latin
    # letters and digits too; the second family is the fallback for anything it lacks.
    latin = rcParams["font.family"][0]
    if latin in ("sans-serif", "serif", "monospace", "cursive", "fantasy"):
        latin = rcParams[f"font.{latin}"][0]
    rcParams["font.family"] = [CJK_FONT, latin]
    return True


def use_edition_fonts() -> bool:
    """Set matplotlib to draw the current edition's script; True if it can.

    Called when this module is imported, so that a figure created before its first
    :func:`label` (``fig, ax = plt.subplots()``) already has the font: matplotlib fixes a text's
    font when it creates the text. Does nothing in the English edition.
    """
    return edition() != "zh" or _use_cjk_font()


def label(text: str) -> str:
    """The words ``text`` (English) as the current edition shows them on a figure.

    Parameters
    ----------
    text : str
        The English label, title or legend entry; it is also the key of the lookup.

    Returns
    -------
    str
        ``text`` in the English edition; its Chinese translation in the Chinese edition (with
        matplotlib set to draw it), or ``text`` if there is none or no CJK font is installed.

    Raises
    ------
    TypeError
        If ``text`` is not a string.

    Examples
    --------
    >>> label("value")
    'value'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if edition() != "zh":
        return text
    translated = _cached_table(Path.cwd()).get(text)
    if translated is None or not _use_cjk_font():
        return text
    return translated


use_edition_fonts()
