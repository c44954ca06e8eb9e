"""One interactive figure, two worlds: a live ipywidget in Jupyter, a static HTML page elsewhere.

An :class:`InteractiveFigure` keeps one matplotlib ``Figure`` for its whole life. Moving a control
updates the figure's artists in place (``set_height``, ``set_data``, ``set_array``), renders the
figure to PNG and hands the bytes to an ``ipywidgets.Image``. That works with the inline backend
and needs no JupyterLab extension beyond ipywidgets itself.

For a page without a kernel (the book's website, nbviewer), the same object renders itself as a
self-contained HTML snippet: the figure's data, computed by the same Python functions at every
position each control can take, embedded as JSON, and a small JavaScript renderer
(``static/viz.js``) that draws it as SVG and re-draws it when a range input moves. Nothing is
loaded from the network.

``_repr_mimebundle_`` offers both: JupyterLab picks the widget view, and the book's Sphinx build
is configured (``nb_mime_priority_overrides`` in ``_config.yml``) to pick the HTML.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import io
import itertools
import json
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, ClassVar

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from .. import i18n

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# What the reader of the static page is told, above the figure. The link is filled in by
# viz.js from the page's own "Launch on Binder" button, when the page has one. These words, the
# note viz.js adds to them and every word the figures draw go through softmax_pkg.i18n.label when
# the figure is made, so the Chinese edition's figures speak Chinese.
STATIC_BANNER = (
    "<strong>Static version</strong>: the values were precomputed in Python when the book was "
    "built, at every position of the sliders; it works offline."
)


@dataclasses.dataclass(frozen=True)
class Control:
    """A slider over a fixed list of values: the same positions live and on the static page.

    Parameters
    ----------
    name : str
        The keyword under which the value reaches the figure's computation.
    label : str
        What the reader sees next to the slider (plain text; Unicode such as "τ" or "a₁").
    values : sequence of float
        Every position of the slider, in order. The static page holds the figure for each.
    value : float
        The initial position; one of ``values``.
    fmt : str, default ".2f"
        The format spec of the value shown next to the slider.
    texts : sequence of str, optional
        What to show for each value instead (for a control that picks, say, a class).
    """

    name: str
    label: str
    values: tuple[float, ...]
    value: float
    fmt: str = ".2f"
    texts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Rounded so that a grid made by np.arange holds 0.3, not 0.30000000000000004.
        values = tuple(round(float(v), 12) for v in self.values)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "value", round(float(self.value), 12))
        if self.value not in values:
            raise ValueError(f"{self.name}: the initial value {self.value!r} is not in values")
        if self.texts is not None:
            object.__setattr__(self, "texts", tuple(self.texts))
            if len(self.texts) != len(values):
                raise ValueError(f"{self.name}: one text per value is needed")

    @property
    def index(self) -> int:
        """The position of the initial value in ``values``."""
        return self.values.index(self.value)

    def text(self, value: float) -> str:
        """The value as the slider shows it."""
        if self.texts is not None:
            return self.texts[self.values.index(value)]
        return format(value, self.fmt)


def fill(template: str, controls: Sequence[Control], values: Mapping[str, float]) -> str:
    """A title with each ``{name}`` replaced by that control's text; viz.js does the same."""
    return template.format(**{c.name: c.text(values[c.name]) for c in controls})


def text_width(text: str) -> int:
    """The width of ``text`` in ``ch`` (the width of "0"): a Chinese character takes two.

    >>> text_width("mask"), text_width("掩码")
    (4, 4)
    """
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def quantize(values: Any, scale: float) -> dict[str, Any]:
    """An array as compact JSON: its shape, a scale, and ``round(values * scale)`` as integers.

    The JavaScript side divides by the scale. A scale of 1000 keeps three decimals, which is what
    the figures print and far below what a pixel can show.
    """
    arr = np.asarray(values, dtype=np.float64)
    return {
        "shape": list(arr.shape),
        "scale": scale,
        "data": np.rint(arr * scale).astype(np.int64).ravel().tolist(),
    }


def run_length(labels: Any) -> dict[str, Any]:
    """An integer array (a class map) as runs: ``[value, count, value, count, ...]`` over the
    flattened array. A map of a few convex regions shrinks to a few runs per row."""
    arr = np.asarray(labels)
    flat = arr.ravel()
    if flat.size == 0:
        runs: list[int] = []
    else:
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
        counts = np.diff(np.r_[starts, flat.size])
        runs = np.column_stack([flat[starts], counts]).ravel().astype(int).tolist()
    return {"shape": list(arr.shape), "runs": runs}


def decode(entry: Mapping[str, Any]) -> np.ndarray:
    """The array that :func:`quantize` or :func:`run_length` encoded (as viz.js decodes it)."""
    shape = tuple(entry["shape"])
    if "runs" in entry:
        runs = np.asarray(entry["runs"], dtype=np.int64).reshape(-1, 2)
        return np.repeat(runs[:, 0], runs[:, 1]).reshape(shape)
    return (np.asarray(entry["data"], dtype=np.float64) / entry["scale"]).reshape(shape)


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _json_for_script(payload: Any) -> str:
    """JSON that is safe inside a <script> element (no "</script>", no "<!--")."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class InteractiveFigure:
    """Base class of the book's interactive figures: live ipywidget or static HTML, one figure.

    A subclass defines ``kind`` (the name of its renderer in viz.js), ``description`` (its alt
    text), ``controls``, and four methods: ``_draw`` (create the artists once), ``_redraw``
    (update them for new values), ``_static_arrays`` (the data for every combination of control
    positions) and ``_static_meta`` (titles, labels and colours shared by every position).

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The one figure, updated in place.
    sliders : dict of str to ipywidgets.SelectionSlider
        The live controls, by name; setting ``sliders[name].value`` updates the figure.
    image : ipywidgets.Image
        The live figure, as PNG.
    widget : ipywidgets.VBox
        The sliders above the image: what Jupyter displays. The three live parts are built on
        first use and need ipywidgets (an ImportError that names the extra otherwise); the
        figure and its static HTML need only matplotlib.
    update_seconds : list of float
        The wall-clock time of each update (computation, artists and PNG), for measurement.
    """

    kind: ClassVar[str]
    controls: tuple[Control, ...]
    figsize: ClassVar[tuple[float, float]] = (6.4, 3.4)
    dpi: ClassVar[int] = 100

    @property
    def description(self) -> str:
        """What the figure shows, for a reader who cannot see it (its alt text), in the book's
        edition: the static page's SVG says it as its aria-label, followed by the current
        position of each slider."""
        raise NotImplementedError

    def __init__(self) -> None:
        from matplotlib.figure import Figure

        #: The current value of each control, by name.
        self.values: dict[str, float] = {c.name: c.value for c in self.controls}
        # A bare Figure, not pyplot: nothing is shown behind our back by the inline backend, and
        # the figure is not kept alive by pyplot's global registry.
        self.figure = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
        self._canvas = FigureCanvasAgg(self.figure)
        self._dynamic: list[Artist] = []
        self._background: Any = None
        self._draw(dict(self.values))
        # The frames of the axes lie on top of what changes (bars reach the bottom spine, an
        # image fills its axes), so they are drawn with it, in zorder.
        self.dynamic(*(spine for ax in self.figure.axes for spine in ax.spines.values()))
        # Lay the figure out once, then freeze it: the constrained-layout solver would otherwise
        # run at every update, and it costs more than drawing. Titles and labels change only in
        # their text, so the frozen layout stays right.
        self.figure.draw_without_rendering()
        self.figure.set_layout_engine("none")
        self.update_seconds: list[float] = []
        self._static_html: str | None = None
        self._live: tuple[dict[str, Any], Any, Any] | None = None

    # -- the live figure: built on first use, so the static HTML needs no ipywidgets -------------

    @property
    def sliders(self) -> dict[str, Any]:
        """The live controls, by name (see the class's Attributes)."""
        return self._live_parts()[0]

    @property
    def image(self) -> Any:
        """The live figure, as an ipywidgets.Image."""
        return self._live_parts()[1]

    @property
    def widget(self) -> Any:
        """The sliders above the image, an ipywidgets.VBox."""
        return self._live_parts()[2]

    def _live_parts(self) -> tuple[dict[str, Any], Any, Any]:
        if self._live is not None:
            return self._live
        try:
            import ipywidgets
        except ImportError as exc:
            raise ImportError(
                f"the live figure needs ipywidgets ({exc}): pip install \"softmax-pkg[viz]\". "
                "Its static HTML, static_html(), works without it."
            ) from exc
        labels = [c.label for c in self.controls]
        sliders = {
            c.name: ipywidgets.SelectionSlider(
                options=[(c.text(v), v) for v in c.values],
                value=self.values[c.name],
                description=c.label,
                continuous_update=True,
                style={"description_width": f"{max(map(text_width, labels)) + 1}ch"},
                layout=ipywidgets.Layout(width="min(100%, 420px)"),
            )
            for c in self.controls
        }
        for name, slider in sliders.items():
            slider.observe(functools.partial(self._on_slider, name), names="value")
        width, height = (round(x * self.dpi) for x in self.figsize)
        image = ipywidgets.Image(
            value=self.png(),
            format="png",
            layout=ipywidgets.Layout(width=f"{width}px", max_width="100%", height="auto"),
        )
        self._live = (sliders, image, ipywidgets.VBox([*sliders.values(), image]))
        return self._live

    # -- the live figure ---------------------------------------------------------------------------

    def _draw(self, values: dict[str, float]) -> None:
        raise NotImplementedError

    def dynamic(self, *artists: Artist) -> None:
        """Declare artists that updates change; everything else is drawn once (see :meth:`png`)."""
        self._dynamic += artists

    def _redraw(self, values: dict[str, float]) -> None:
        raise NotImplementedError

    def _on_slider(self, name: str, change: dict[str, Any]) -> None:
        start = time.perf_counter()
        self.values[name] = float(change["new"])
        self._redraw(dict(self.values))
        self.image.value = self.png()
        self.update_seconds.append(time.perf_counter() - start)

    def sweep(self, positions: int = 5) -> np.ndarray:
        """Move each slider, as a reader would, through up to ``positions`` of its values and
        back to where it was; return the time of each update in seconds."""
        done = len(self.update_seconds)
        for slider in self.sliders.values():
            start = slider.index
            count = len(slider.options)
            for index in np.unique(np.linspace(0, count - 1, min(positions, count)).round()):
                if int(index) != slider.index:
                    slider.index = int(index)
            slider.index = start
        return np.array(self.update_seconds[done:])

    def png(self) -> bytes:
        """The figure as it is now, as PNG bytes.

        Axes, ticks and labels do not change, so they are drawn once, without the dynamic
        artists, and kept as a background (matplotlib's blitting). Each update restores the
        background and draws only the dynamic artists on it: laying out tick labels is most of
        the cost of a full draw.
        """
        from PIL import Image

        if self._background is None:
            # An axes places its title at each draw, and misplaces a hidden one: keep positions.
            places = [
                (text, text.get_position()) for text in self._dynamic if isinstance(text, Text)
            ]
            for artist in self._dynamic:
                artist.set_visible(False)
            self._canvas.draw()
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
            for artist in self._dynamic:
                artist.set_visible(True)
            for text, place in places:
                text.set_position(place)
        else:
            self._canvas.restore_region(self._background)
        for artist in sorted(self._dynamic, key=lambda artist: artist.get_zorder()):
            self.figure.draw_artist(artist)
        buffer = io.BytesIO()
        # The fastest zlib level: the PNG goes once to the browser next door and is not stored.
        Image.fromarray(np.asarray(self._canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=1
        )
        return buffer.getvalue()

    # -- the static version ------------------------------------------------------------------------

    def grid(self) -> Iterator[tuple[tuple[int, ...], dict[str, float]]]:
        """Every combination of control positions: (indices, values), last control fastest."""
        for index in itertools.product(*(range(len(c.values)) for c in self.controls)):
            yield index, {c.name: c.values[i] for c, i in zip(self.controls, index)}

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def _static_meta(self) -> dict[str, Any]:
        raise NotImplementedError

    def static_payload(self) -> dict[str, Any]:
        """Everything the static page draws, as JSON-ready data."""
        return {
            "kind": self.kind,
            "alt": self.description,
            "shown_at": i18n.label("{alt} Shown at {settings}."),
            "separator": i18n.label(", "),
            "controls": [
                {
                    "name": c.name,
                    "label": c.label,
                    "values": list(c.values),
                    "text": [c.text(v) for v in c.values],
                    "index": c.values.index(self.values[c.name]),
                }
                for c in self.controls
            ],
            "size": [round(x * self.dpi) for x in self.figsize],
            "meta": self._static_meta(),
            "arrays": self._static_arrays(),
        }

    def static_html(self) -> str:
        """The self-contained static version: banner, data, renderer; no network, no kernel."""
        if self._static_html is None:
            label = html.escape(type(self).__name__)
            # The note viz.js appends to the banner: around the Binder link, or without one.
            note = {
                "before": i18n.label(" For the live version, "),
                "link": i18n.label("open this page on Binder"),
                "after": i18n.label(" (a Jupyter kernel computes each frame as you drag)."),
                "jupyter": i18n.label(" For the live version, run this notebook in Jupyter."),
            }
            note_data = "".join(
                f' data-{key}="{html.escape(text, quote=True)}"' for key, text in note.items()
            )
            self._static_html = (
                f'<div class="smx-viz tex2jax_ignore mathjax_ignore" data-kind="{self.kind}">'
                f'<p class="smx-viz-banner"{note_data}>{i18n.label(STATIC_BANNER)}</p>'
                '<p class="smx-viz-nojs">'
                + html.escape(
                    i18n.label(
                        "This interactive figure ({name}) needs JavaScript, "
                        "or a Jupyter kernel for the live version."
                    )
                ).format(name=label)
                + "</p>"
                '<script type="application/json" class="smx-viz-data">'
                f"{_json_for_script(self.static_payload())}</script>"
                f"<style>{_asset('viz.css')}</style>"
                f"<script>{_asset('viz.js')}\n"
                'window.softmaxViz.mount(document.currentScript.closest(".smx-viz"));</script>'
                "</div>"
            )
        return self._static_html

    # -- both --------------------------------------------------------------------------------------

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        bundle = {
            "text/plain": "<{name}: {what}>".format(
                name=type(self).__name__,
                what=i18n.label("live in Jupyter with ipywidgets, static HTML elsewhere"),
            ),
            "text/html": self.static_html(),
        }
        try:
            bundle[WIDGET_VIEW] = self.widget._repr_mimebundle_()[WIDGET_VIEW]
        except ImportError:  # no ipywidgets: Jupyter shows the static HTML, which still works
            pass
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle
