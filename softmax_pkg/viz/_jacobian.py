"""Logits in, the Jacobian of softmax out: an annotated heat map of DS(a)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._jacobian import softmax_jacobian
from ..i18n import label
from ._figure import Control, InteractiveFigure, fill, quantize
from ._style import SUBSCRIPTS, check_logits, hex_colors, logit_grid

# |D_j S_i| <= 1/4 for every a: S_i (1 - S_i) <= 1/4 and S_i S_j <= 1/4. A fixed, symmetric
# scale makes colours comparable between positions of the sliders, and zero is white.
LIMIT = 0.25
CMAP = "RdBu_r"
# Numbers on cells darker than this (in |value|) are printed in white.
DARK = 0.6 * LIMIT


def jacobian_values(logits: ArrayLike) -> np.ndarray:
    """The figure's data: ``softmax_jacobian(logits)``, ``J[..., i, j] = D_j S_i``."""
    return softmax_jacobian(logits)


class JacobianFigure(InteractiveFigure):
    """The heat map of :math:`D_j S_i(\\mathbf{a})`, one slider per logit."""

    kind = "heatmap"
    figsize = (5.6, 4.2)

    @property
    def description(self) -> str:
        """What the figure shows, for screen readers (alt text), in the book's edition."""
        return label(
            "Heat map of the softmax Jacobian at the chosen logits, each cell labelled with "
            "its value: positive on the diagonal, negative off it, every row summing to zero."
        )

    def __init__(
        self, logits: Sequence[float] = (1.0, 2.0, 3.0), *, values: ArrayLike | None = None
    ) -> None:
        grid = logit_grid(values)
        logits = check_logits(logits, grid)
        self.n = len(logits)
        self.controls = tuple(
            Control(f"a{j}", f"a{SUBSCRIPTS[j + 1]}", grid, value, ".1f")
            for j, value in enumerate(logits)
        )
        point = "(" + ", ".join(f"{{a{j}}}" for j in range(self.n)) + ")"
        self.title = label("Jacobian DS at a = {point}").format(point=point)
        super().__init__()

    def _logits(self, values: dict[str, float]) -> np.ndarray:
        return np.array([values[f"a{j}"] for j in range(self.n)])

    def _title(self, values: dict[str, float]) -> str:
        return fill(self.title, self.controls, values)

    def _draw(self, values: dict[str, float]) -> None:
        ax = self.figure.add_subplot()
        J = jacobian_values(self._logits(values))
        self.heat = ax.imshow(J, cmap=CMAP, vmin=-LIMIT, vmax=LIMIT)
        self.labels = {
            (i, j): ax.text(j, i, "", ha="center", va="center")
            for i in range(self.n)
            for j in range(self.n)
        }
        self._annotate(J)
        ticks = range(self.n)
        ax.set_xticks(ticks, [f"$a_{{{j + 1}}}$" for j in ticks])
        ax.set_yticks(ticks, [f"$S_{{{i + 1}}}$" for i in ticks])
        ax.set_xlabel(label("input $j$ (column)"))
        ax.set_ylabel(label("output $i$ (row)"))
        self.figure.colorbar(self.heat, ax=ax, label=r"$D_j S_i = \partial S_i / \partial a_j$")
        self.ax_title = ax.set_title(self._title(values))
        self.dynamic(self.heat, *self.labels.values(), self.ax_title)

    def _annotate(self, J: np.ndarray) -> None:
        for (i, j), label in self.labels.items():
            label.set_text(f"{J[i, j]:.3f}")
            label.set_color("white" if abs(J[i, j]) > DARK else "black")

    def _redraw(self, values: dict[str, float]) -> None:
        J = jacobian_values(self._logits(values))
        self.heat.set_array(J)
        self._annotate(J)
        self.ax_title.set_text(self._title(values))

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        mesh = np.meshgrid(*(c.values for c in self.controls), indexing="ij")
        J = jacobian_values(np.stack(mesh, axis=-1))  # shape (G, ..., G, N, N)
        return {"J": quantize(J, 1000)}

    def _static_meta(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "xticks": [f"a{SUBSCRIPTS[j]}" for j in range(1, self.n + 1)],
            "yticks": [f"S{SUBSCRIPTS[i]}" for i in range(1, self.n + 1)],
            "xlabel": label("input j (column)"),
            "ylabel": label("output i (row)"),
            "cbar_label": "DⱼSᵢ = ∂Sᵢ/∂aⱼ",
            "limit": LIMIT,
            "dark": DARK,
            "cmap": hex_colors(CMAP, 129),
        }


def jacobian_widget(
    logits: Sequence[float] = (1.0, 2.0, 3.0), *, values: ArrayLike | None = None
) -> JacobianFigure:
    """The Jacobian of softmax as an annotated heat map, with a slider per logit.

    Parameters
    ----------
    logits : sequence of float, default (1, 2, 3)
        The initial logits (N = 2 to 4 keeps the page small); each must lie on ``values``.
    values : array_like, optional
        The grid of every logit slider (default -3 to 3 in steps of 0.5).

    Returns
    -------
    JacobianFigure
        Live in Jupyter, static HTML elsewhere. The colour scale is fixed at
        :math:`\\pm 1/4`, the largest magnitude an entry can have.
    """
    return JacobianFigure(logits, values=values)
