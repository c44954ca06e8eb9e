"""What the interactive figures share: the logit grid, subscripts, colours."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Unicode subscripts for the labels of the static page and the sliders ("a₁", "S₂"); the
# matplotlib figure uses mathtext instead.
SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"

# matplotlib's default colour cycle ("C0", "C1", ...), so the SVG matches the PNG.
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def logit_grid(values: ArrayLike | None = None) -> tuple[float, ...]:
    """The positions of a logit slider: -3 to 3 in steps of 0.5 unless given."""
    if values is None:
        values = np.linspace(-3.0, 3.0, 13)
    return tuple(float(v) for v in np.asarray(values, dtype=float).ravel())


def hex_colors(cmap_name: str, n: int) -> list[str]:
    """``n`` evenly spaced colours of a matplotlib colour map, as "#rrggbb"."""
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[cmap_name]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 1.0, n)]
