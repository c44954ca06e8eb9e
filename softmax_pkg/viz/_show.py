"""Show a chapter's matplotlib figure with its alt text, for the light and the dark theme.

A chapter cell ends with ``show(label("what the figure shows"))`` where it would call
``plt.show()``. The figure is rendered twice: as drawn (the light version) and recoloured for a
dark page (:func:`dark_variant`). The output offers

- ``text/html``: both PNGs as ``<img alt="...">``; the dark one carries ``display: none`` in its
  own ``style`` attribute, so a notebook (JupyterLab, nbviewer, a printed page) shows the light
  one alone, and a small style rule shows the dark one instead where the page's root element has
  ``data-theme="dark"`` (the book's theme, pydata-sphinx-theme). The classes ``only-light`` and
  ``only-dark`` are the theme's own: it hides the other version and leaves both unfiltered;
- ``image/png`` (the light version) for a front end without HTML, and ``text/plain`` (the alt
  text) for one without images.

The dark version keeps every data colour the reader compares (bars, curves, colour maps and the
pictures drawn with them) and recolours what frames them: the background becomes transparent,
black and grey text, axes, ticks and neutral lines take the theme's light text colour (a grey
keeps its place between text and background), and a chromatic colour too dark to read on the
dark page is lightened until it reaches a contrast of 3:1 (WCAG's minimum for graphics). In axes
that hold a picture (an image, a colour-mapped mesh or contour fill) only the frame is recoloured:
text and marks drawn on the picture were chosen against its colours.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

# The book's dark theme: its page background (--pst-color-background, which sphinx-book-theme
# sets to #121212 over pydata-sphinx-theme's #14181e) and its text colour (--pst-color-text-base).
DARK_BACKGROUND = "#121212"
DARK_TEXT = "#ced6dd"
# WCAG 2.1's minimum contrast for graphical objects (success criterion 1.4.11).
GRAPHICS_CONTRAST = 3.0
# A colour whose channels differ by less than this is a grey, a frame colour, not a data colour.
NEUTRAL_SPREAD = 0.08

# Shows the dark PNG instead of the light one on a page in the dark theme, and takes away the
# light box (background and padding) that pydata-sphinx-theme puts behind a notebook's images and
# HTML outputs in that theme: the dark version is made for the page's own background. Scoped to
# html[data-theme="dark"], it matches nothing in JupyterLab or in print.
DARK_STYLE = (
    '<style>html[data-theme="dark"] img.smx-figure-dark{display:inline!important;'
    "background:none!important;padding:0!important}"
    'html[data-theme="dark"] img.smx-figure-light{display:none!important}'
    'html[data-theme="dark"] .text_html:has(img.smx-figure){background:none!important;'
    "padding:0!important}</style>"
)


def relative_luminance(color: Any) -> float:
    """WCAG 2.1 relative luminance of a matplotlib colour (0 black, 1 white)."""
    rgb = np.asarray(to_rgba(color)[:3])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast_ratio(first: Any, second: Any) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 (equal) to 21 (black on white)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def dark_color(color: Any) -> tuple[float, float, float, float]:
    """The colour ``color`` becomes in the dark version of a figure (alpha kept).

    A grey of lightness g (0 black, 1 white) moves to the same place between the dark theme's
    text colour (g = 0) and its background (g = 1): black text turns light, a white fill (a
    legend's box) turns dark, a light grid line stays faint. A chromatic colour keeps its hue and
    is mixed with white until it stands out from the dark background by
    :data:`GRAPHICS_CONTRAST`.

    >>> [round(x, 3) for x in dark_color("black")] == [round(x, 3) for x in to_rgba(DARK_TEXT)]
    True
    >>> contrast_ratio(dark_color("#8c564b"), DARK_BACKGROUND) >= GRAPHICS_CONTRAST
    True
    """
    rgba = np.asarray(to_rgba(color), dtype=float)
    rgb, alpha = rgba[:3], rgba[3]
    if alpha == 0:
        return tuple(rgba)
    if np.ptp(rgb) < NEUTRAL_SPREAD:
        lightness = float(rgb.mean())
        text = np.asarray(to_rgba(DARK_TEXT)[:3])
        background = np.asarray(to_rgba(DARK_BACKGROUND)[:3])
        return (*(text + (background - text) * lightness), alpha)
    for mix in np.linspace(0.0, 1.0, 21):
        lighter = rgb + (1.0 - rgb) * mix
        if contrast_ratio(lighter, DARK_BACKGROUND) >= GRAPHICS_CONTRAST:
            break
    return (*lighter, alpha)


def _dark_colors(colors: Any) -> np.ndarray:
    array = np.asarray(colors, dtype=float).reshape(-1, 4)
    return np.array([dark_color(c) for c in array]).reshape(-1, 4)


def _is_picture(ax: Axes) -> bool:
    """True if the axes shows a picture: an image or a colour-mapped mesh or contour fill."""
    return bool(ax.images) or any(c.get_array() is not None for c in ax.collections)


def _recolor(artist: Artist) -> None:
    if isinstance(artist, Text):
        artist.set_color(dark_color(artist.get_color()))
        box = artist.get_bbox_patch()
        if box is not None:
            _recolor(box)
    elif isinstance(artist, Line2D):
        # The marker colours first: an "auto" one reads as the line's colour, not yet changed.
        parts = ("color", "markerfacecolor", "markeredgecolor", "markerfacecoloralt")
        colors = {part: getattr(artist, f"get_{part}")() for part in parts}
        artist.set(**{part: dark_color(value) for part, value in colors.items()
                      if not (isinstance(value, str) and value in ("none", "auto"))})
    elif isinstance(artist, Patch):
        artist.set_facecolor(dark_color(artist.get_facecolor()))
        artist.set_edgecolor(dark_color(artist.get_edgecolor()))
    elif isinstance(artist, Collection):
        if artist.get_array() is None:  # a colour-mapped collection keeps its colour map
            faces = artist.get_facecolor()
            if len(faces):
                artist.set_facecolor(_dark_colors(faces))
        edges = artist.get_edgecolor()
        if len(edges) and not isinstance(edges, str):
            artist.set_edgecolor(_dark_colors(edges))


def dark_variant(fig: Figure) -> None:
    """Recolour ``fig`` in place for a dark page (see the module's docstring for the rules)."""
    # What is drawn on a picture keeps its colours; the axes' frame does not.
    kept: set[int] = set()
    for ax in fig.axes:
        if _is_picture(ax):
            for artist in (*ax.lines, *ax.patches, *ax.collections, *ax.texts, *ax.images):
                kept.update(id(a) for a in artist.findobj())
    # The figure's and the axes' backgrounds: the page shows through.
    backgrounds = [fig.patch, *(ax.patch for ax in fig.axes)]
    for patch in backgrounds:
        patch.set_facecolor("none")
    kept.update(id(patch) for patch in backgrounds)
    for artist in fig.findobj():
        if id(artist) not in kept and not isinstance(artist, AxesImage):
            _recolor(artist)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # As the inline backend renders a figure: trimmed to what is drawn.
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class FigureOutput:
    """A figure rendered for display: the light PNG, the dark PNG, and the alt text."""

    def __init__(self, light: bytes, dark: bytes, alt: str, width: int) -> None:
        self.light, self.dark, self.alt, self.width = light, dark, alt, width

    def __repr__(self) -> str:
        return f"<figure: {self.alt}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        alt = html.escape(self.alt, quote=True)

        def img(data: bytes, classes: str, style: str = "") -> str:
            src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            return (f'<img class="smx-figure {classes}" alt="{alt}" width="{self.width}"'
                    f'{style} src="{src}">')

        page = (
            img(self.light, "smx-figure-light only-light")
            + img(self.dark, "smx-figure-dark only-dark", ' style="display:none"')
            + DARK_STYLE
        )
        return {"text/html": page, "image/png": self.light, "text/plain": self.alt}


def render(alt: str, fig: Figure | None = None) -> FigureOutput:
    """The figure's light and dark PNG with its alt text, not yet displayed (see :func:`show`)."""
    import matplotlib.pyplot as plt

    if not isinstance(alt, str):
        raise TypeError(f"alt must be a str, got {type(alt).__name__}")
    if not alt.strip():
        raise ValueError("alt must say what the figure shows; got an empty string")
    fig = plt.gcf() if fig is None else fig
    light = _png(fig)
    dark_variant(fig)
    dark = _png(fig)
    return FigureOutput(light, dark, alt, _png_width(light))


def show(alt: str, fig: Figure | None = None) -> None:
    """Display a figure with its alt text, readable in the site's light and dark theme.

    Use it where a chapter would call ``plt.show()``. The figure is rendered as drawn and in a
    dark version, displayed once, and then closed, as ``plt.show()`` closes it in a notebook.

    Parameters
    ----------
    alt : str
        What the figure shows, for a reader who cannot see it: its kind, its axes, and what it
        is drawn to make visible. In a chapter, ``label("...")``, so that the Chinese edition
        says it in Chinese.
    fig : matplotlib.figure.Figure, optional
        The figure; by default pyplot's current one.

    Raises
    ------
    TypeError
        If ``alt`` is not a string.
    ValueError
        If ``alt`` is empty.

    Notes
    -----
    The output's ``text/html`` holds both versions as ``<img>`` with the alt text. The dark one
    is hidden by its own ``style`` attribute, so JupyterLab, nbviewer and print show the light
    one alone; a style rule scoped to ``html[data-theme="dark"]`` (the book theme's dark mode)
    shows the dark one instead. ``image/png`` (the light version) and ``text/plain`` (the alt
    text) serve front ends without HTML or without images.

    The dark version keeps the data colours and recolours what frames them: the background
    becomes transparent; black and grey text, axes, ticks and neutral lines move to the same
    place between the dark theme's text colour and its background; a chromatic colour too dark
    for the dark page is lightened to a contrast of 3:1. In axes that hold a picture (an image,
    a colour-mapped mesh or contour fill) only the frame changes: what is drawn on the picture
    was chosen against its colours.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_pkg.viz import show
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 1], color="black")
    >>> show("A straight line from (0, 0) to (1, 1).", fig)  # outside Jupyter: the alt text
    <figure: A straight line from (0, 0) to (1, 1).>
    >>> plt.fignum_exists(fig.number)
    False
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = plt.gcf() if fig is None else fig
    shown = render(alt, fig)
    plt.close(fig)
    display(shown)


def _png_width(png: bytes) -> int:
    """The width in pixels written in a PNG's header (IHDR)."""
    return int.from_bytes(png[16:20], "big")
