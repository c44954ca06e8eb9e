"""Logits and a temperature in, probabilities out: a bar chart of S(a / tau)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._softmax import softmax
from ..i18n import label
from ._figure import Control, InteractiveFigure, fill, quantize
from ._style import SUBSCRIPTS, check_grid, check_logits, check_on_grid, logit_grid

TEMPERATURES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def tempered_probabilities(logits: ArrayLike, temperature: float) -> np.ndarray:
    """The figure's data: ``softmax(logits, temperature=temperature)``, for one row or many."""
    return softmax(logits, temperature=temperature)


class TemperatureFigure(InteractiveFigure):
    """Bars of :math:`S(\\mathbf{a}/\\tau)`, one slider per logit and one for :math:`\\tau`."""

    kind = "bars"
    figsize = (6.0, 3.2)

    @property
    def description(self) -> str:
        """What the figure shows, for screen readers (alt text), in the book's edition."""
        return label(
            "Bar chart of the softmax probabilities of the logits at the chosen temperature, "
            "with a dotted line at the uniform probability 1/N."
        )

    def __init__(
        self,
        logits: Sequence[float] = (1.0, 2.0, 3.0),
        temperature: float = 1.0,
        *,
        values: ArrayLike | None = None,
        temperatures: Sequence[float] = TEMPERATURES,
    ) -> None:
        grid = logit_grid(values)
        temperatures = check_grid(temperatures, "temperatures", positive=True)
        logits = check_logits(logits, grid)
        check_on_grid(temperature, temperatures, "temperature", "temperatures")
        self.n = len(logits)
        self.controls = (
            *(
                Control(f"a{j}", f"a{SUBSCRIPTS[j + 1]}", grid, value, ".1f")
                for j, value in enumerate(logits)
            ),
            Control("temperature", "τ", temperatures, temperature, "g"),
        )
        self.title = label("S(a/τ) at τ = {temperature}")
        super().__init__()

    def _logits(self, values: dict[str, float]) -> np.ndarray:
        return np.array([values[f"a{j}"] for j in range(self.n)])

    def _draw(self, values: dict[str, float]) -> None:
        ax = self.figure.add_subplot()
        p = tempered_probabilities(self._logits(values), values["temperature"])
        positions = np.arange(1, self.n + 1)
        self.bars = ax.bar(positions, p, width=0.6, color="C0")
        self.labels = [
            ax.text(x, h + 0.02, f"{h:.3f}", ha="center", va="bottom") for x, h in zip(positions, p)
        ]
        uniform = ax.axhline(1 / self.n, color="grey", linestyle=":", linewidth=1, label="1/N")
        ax.set_xticks(positions, [f"$S_{{{j}}}$" for j in positions])
        ax.set_ylim(0, 1.12)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylabel(label("probability"))
        ax.legend(loc="upper left", frameon=False)
        self.ax_title = ax.set_title(fill(self.title, self.controls, values))
        self.ax = ax
        # The 1/N line lies on top of the bars, so it is redrawn after them.
        self.dynamic(*self.bars, *self.labels, self.ax_title, uniform)

    def _redraw(self, values: dict[str, float]) -> None:
        p = tempered_probabilities(self._logits(values), values["temperature"])
        for bar, label, height in zip(self.bars, self.labels, p):
            bar.set_height(height)
            label.set_y(height + 0.02)
            label.set_text(f"{height:.3f}")
        self.ax_title.set_text(fill(self.title, self.controls, values))

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        logit_controls, (tau,) = self.controls[:-1], self.controls[-1:]
        mesh = np.meshgrid(*(c.values for c in logit_controls), indexing="ij")
        rows = np.stack(mesh, axis=-1)  # every combination of logits, shape (G, ..., G, N)
        p = np.stack([tempered_probabilities(rows, t) for t in tau.values], axis=-2)
        return {"p": quantize(p, 1000)}  # shape (G, ..., G, T, N): the order of the controls

    def _static_meta(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ylabel": label("probability"),
            "xticks": [f"S{SUBSCRIPTS[j]}" for j in range(1, self.n + 1)],
            "yticks": [0, 0.25, 0.5, 0.75, 1.0],
            "ylim": [0, 1.12],
            "uniform": 1 / self.n,
            "color": "#1f77b4",
        }


def temperature_widget(
    logits: Sequence[float] = (1.0, 2.0, 3.0), temperature: float = 1.0, **options: Any
) -> TemperatureFigure:
    """Bars of ``softmax(a, temperature=tau)`` with a slider per logit and one for the temperature.

    Parameters
    ----------
    logits : sequence of float, default (1, 2, 3)
        The initial logits; each must lie on the slider grid (``values``).
    temperature : float, default 1
        The initial temperature, one of ``temperatures``.
    **options
        ``values``: the grid of every logit slider (default -3 to 3 in steps of 0.5);
        ``temperatures``: the positions of the temperature slider.

    Returns
    -------
    TemperatureFigure
        Displayed in Jupyter as live sliders and figure; on the static site as HTML that holds
        the probabilities at every slider position. Keep the grid small: the static page holds
        ``len(values) ** len(logits) * len(temperatures)`` bar charts.
    """
    return TemperatureFigure(logits, temperature, **options)
