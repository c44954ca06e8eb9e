"""Queries and keys in, attention weights out: a heat map of softmax(Q K^T s) with its mask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..attention import attention_weights, causal_mask
from ..i18n import label
from ._figure import Control, InteractiveFigure, fill, quantize, run_length
from ._style import SUBSCRIPTS, hex_colors

DIMENSIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MASKS = ("none", "padding", "causal")
SCALES = ("1", "1/√d")  # the texts of the scale control: without and with 1/sqrt(d)
CMAP = "Blues"
MASKED = "#c8c8c8"  # the colour of a masked cell: not a weight, so not on the colour scale
# Numbers on cells darker than this are printed in white.
DARK = 0.6


def attention_mask(kind: str, tokens: int, padding: int) -> np.ndarray | None:
    """The mask of the figure: None, the last ``padding`` keys masked, or causal."""
    if kind == "none":
        return None
    if kind == "padding":
        return np.broadcast_to(np.arange(tokens) < tokens - padding, (tokens, tokens))
    if kind == "causal":
        return causal_mask(tokens)
    raise ValueError(f"mask must be one of {MASKS}; got {kind!r}")


def attention_map(
    Q: ArrayLike, K: ArrayLike, d: int, scaled: bool, mask: ArrayLike | None
) -> tuple[np.ndarray, float, float]:
    """The figure's data at one position of the controls.

    Parameters
    ----------
    Q, K : array_like, shape (T, D)
        Queries and keys; the first ``d`` features are used.
    d : int
        The key dimension.
    scaled : bool
        Scale the scores by :math:`1/\\sqrt{d}` (True) or not at all (False).
    mask : array_like of bool, shape (T, T), optional
        True where query i may attend to key j.

    Returns
    -------
    A : numpy.ndarray, shape (T, T)
        ``attention_weights(Q[:, :d], K[:, :d], mask=mask, scale=...)``.
    largest : float
        The largest weight.
    jacobian_norm : float
        The mean over the queries of the Frobenius norm of the softmax Jacobian
        :math:`J = \\operatorname{diag}(S) - S S^\\top` of each row :math:`S` of ``A``.
    """
    Q, K = np.asarray(Q, dtype=np.float64), np.asarray(K, dtype=np.float64)
    scale = 1.0 / np.sqrt(d) if scaled else 1.0
    A = attention_weights(Q[:, :d], K[:, :d], mask=mask, scale=scale)
    J = A[:, :, None] * np.eye(A.shape[1]) - A[:, :, None] * A[:, None, :]
    return A, float(A.max()), float(np.linalg.norm(J, axis=(1, 2)).mean())


class AttentionFigure(InteractiveFigure):
    """Attention weights of T random queries and keys: key dimension, scale and mask."""

    kind = "attention"
    figsize = (6.2, 4.8)

    @property
    def description(self) -> str:
        """What the figure shows, for screen readers (alt text), in the book's edition."""
        return label(
            "Heat map of the attention weights, query rows against key columns, for the "
            "chosen key dimension, scaling and mask; masked cells are grey."
        )

    def __init__(
        self,
        d: int = 64,
        scaled: bool = True,
        mask: str = "none",
        *,
        tokens: int = 6,
        padding: int = 2,
        dimensions: Sequence[int] = DIMENSIONS,
        seed: int = 0,
    ) -> None:
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}; got {mask!r}")
        if not 1 <= padding < tokens:
            raise ValueError(f"padding must be in [1, tokens - 1]; got {padding!r}")
        self.tokens, self.padding = int(tokens), int(padding)
        dims = tuple(int(v) for v in dimensions)
        rng = np.random.default_rng(seed)
        # One draw of the widest queries and keys; dimension d uses their first d features, so
        # moving d adds features to the same tokens instead of drawing new ones.
        self.Q = rng.standard_normal((self.tokens, max(dims)))
        self.K = rng.standard_normal((self.tokens, max(dims)))
        self.controls = (
            Control("d", label("key dimension d"), dims, d, "g"),
            Control("scaled", label("scale s"), (0.0, 1.0), float(scaled), texts=SCALES),
            Control(
                "mask",
                label("mask"),
                range(len(MASKS)),
                MASKS.index(mask),
                texts=(label("none"), label("padding"), label("causal")),  # as MASKS
            ),
        )
        self.title = label("softmax(QKᵀ·s), d = {d}, s = {scaled}, mask: {mask}")
        super().__init__()

    def data(self, values: dict[str, float]) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The mask (True = attend), the weights, the largest weight and the mean Jacobian norm
        at the given control values."""
        kind = MASKS[int(values["mask"])]
        mask = attention_mask(kind, self.tokens, self.padding)
        A, largest, norm = attention_map(
            self.Q, self.K, int(values["d"]), bool(values["scaled"]), mask
        )
        full = np.ones_like(A, dtype=bool) if mask is None else np.asarray(mask)
        return full, A, largest, norm

    def _stats(self, largest: float, norm: float) -> str:
        return label("largest weight {largest}, mean ‖J‖ of a row {norm}").format(
            largest=f"{largest:.3f}", norm=f"{norm:.3f}"
        )

    def _draw(self, values: dict[str, float]) -> None:
        import matplotlib

        ax = self.figure.add_subplot()
        mask, A, largest, norm = self.data(values)
        cmap = matplotlib.colormaps[CMAP].with_extremes(bad=MASKED)
        self.heat = ax.imshow(np.ma.masked_array(A, ~mask), cmap=cmap, vmin=0.0, vmax=1.0)
        T = self.tokens
        self.labels = {
            (i, j): ax.text(j, i, "", ha="center", va="center", fontsize=9)
            for i in range(T)
            for j in range(T)
        }
        self._annotate(mask, A)
        ax.set_xticks(range(T), [f"$k_{{{j + 1}}}$" for j in range(T)])
        ax.set_yticks(range(T), [f"$q_{{{i + 1}}}$" for i in range(T)])
        ax.set_xlabel(
            label("key j (column); the padding mask hides keys {first}-{last}").format(
                first=T - self.padding + 1, last=T
            )
        )
        ax.set_ylabel(label("query i (row)"))
        self.figure.colorbar(
            self.heat, ax=ax, label=label("attention weight $A_{ij}$"), shrink=0.9
        )
        self.ax_title = ax.set_title(fill(self.title, self.controls, values), fontsize=11)
        self.stats = self.figure.supxlabel(self._stats(largest, norm), fontsize=10)
        self.ax = ax
        self.dynamic(self.heat, *self.labels.values(), self.ax_title, self.stats)

    def _annotate(self, mask: np.ndarray, A: np.ndarray) -> None:
        for (i, j), label in self.labels.items():
            label.set_text(f"{A[i, j]:.2f}" if mask[i, j] else "")
            label.set_color("white" if A[i, j] > DARK else "black")

    def _redraw(self, values: dict[str, float]) -> None:
        mask, A, largest, norm = self.data(values)
        self.heat.set_array(np.ma.masked_array(A, ~mask))
        self._annotate(mask, A)
        self.ax_title.set_text(fill(self.title, self.controls, values))
        self.stats.set_text(self._stats(largest, norm))

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        weights, stats = [], []
        for _, values in self.grid():
            _, A, largest, norm = self.data(values)
            weights.append(A)
            stats.append((largest, norm))
        shape = tuple(len(c.values) for c in self.controls)
        full = np.ones((self.tokens, self.tokens), bool)
        masks = [
            full if kind == "none" else attention_mask(kind, self.tokens, self.padding)
            for kind in MASKS
        ]
        return {
            "A": quantize(np.reshape(weights, shape + (self.tokens, self.tokens)), 1000),
            "stats": quantize(np.reshape(stats, shape + (2,)), 1000),
            "mask": run_length(np.array(masks, dtype=np.int64)),  # (masks, T, T), 1 = attend
        }

    def _static_meta(self) -> dict[str, Any]:
        T = self.tokens
        return {
            "title": self.title,
            "xticks": [f"k{SUBSCRIPTS[j]}" for j in range(1, T + 1)],
            "yticks": [f"q{SUBSCRIPTS[i]}" for i in range(1, T + 1)],
            "xlabel": self.ax.get_xlabel(),
            "ylabel": label("query i (row)"),
            "cbar_label": label("attention weight Aᵢⱼ"),
            # The statistics line viz.js fills in at each position.
            "stats": label("largest weight {largest}, mean ‖J‖ of a row {norm}"),
            "dark": DARK,
            "masked": MASKED,
            "cmap": hex_colors(CMAP, 129),
        }


def attention_widget(
    d: int = 64, scaled: bool = True, mask: str = "none", **options: Any
) -> AttentionFigure:
    """Attention weights :math:`\\mathrm{softmax}(Q K^\\top s)` as a heat map, with controls for
    the key dimension, the scale and the mask.

    Parameters
    ----------
    d : int, default 64
        The initial key dimension, one of ``dimensions``.
    scaled : bool, default True
        Start with the scale :math:`s = 1/\\sqrt{d}` (True) or :math:`s = 1` (False).
    mask : {"none", "padding", "causal"}, default "none"
        The initial mask: padding masks the last ``padding`` keys for every query; causal lets
        query i attend to keys 1..i. Masked cells are grey.
    **options
        ``tokens`` (default 6): queries and keys; ``padding`` (default 2): padded keys;
        ``dimensions``: the positions of the d slider (default 1 to 256 in powers of 2);
        ``seed`` (default 0): of the standard normal queries and keys.

    Returns
    -------
    AttentionFigure
        Live in Jupyter, static HTML elsewhere. Below the map: the largest weight and the mean
        Frobenius norm of the rows' softmax Jacobians, which vanish as the weights saturate.
    """
    return AttentionFigure(d, scaled, mask, **options)
