"""What the interactive figures share: the logit grid, subscripts, colours."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validate import as_real_array, check_int, check_real

# Unicode subscripts for the labels of the static page and the sliders ("a₁", "S₂"); the
# matplotlib figure uses mathtext instead.
SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"

# matplotlib's default colour cycle ("C0", "C1", ...), so the SVG matches the PNG.
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def logit_grid(values: ArrayLike | None = None) -> tuple[float, ...]:
    """The positions of a logit slider: -3 to 3 in steps of 0.5 unless given."""
    if values is None:
        values = np.linspace(-3.0, 3.0, 13)
    return check_grid(values, "values")


def hex_colors(cmap_name: str, n: int) -> list[str]:
    """``n`` evenly spaced colours of a matplotlib colour map, as "#rrggbb"."""
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[cmap_name]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 1.0, n)]


# -- argument checks of the figure functions (the package's conventions: TypeError for the wrong
# kind of thing, ValueError for a wrong value, the argument named) ------------------------------


def check_grid(values: ArrayLike, name: str, *, positive: bool = False) -> tuple[float, ...]:
    """Slider positions: a non-empty 1-d sequence of distinct finite real numbers."""
    arr = as_real_array(values, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-d sequence of numbers; got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)):
        what = "finite numbers > 0" if positive else "finite numbers"
        raise ValueError(f"{name} must hold {what}; got {values!r}")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"{name} must not repeat a value; got {values!r}")
    return tuple(float(v) for v in arr)


def check_on_grid(value: object, grid: tuple[float, ...], name: str, grid_name: str) -> float:
    """An initial slider value: a real number that is one of the grid's positions."""
    number = check_real(value, name, low=-np.inf)
    if round(number, 12) not in {round(v, 12) for v in grid}:
        shown = [float(v) for v in grid] if len(grid) <= 12 else f"{min(grid):g} to {max(grid):g}"
        given = value if type(value) in (int, float) else number  # not np.float64(...)
        raise ValueError(
            f"{name}={given!r} is not one of the {len(grid)} positions of {grid_name} ({shown})"
        )
    return number


def check_logits(logits: object, grid: tuple[float, ...], grid_name: str = "values") -> np.ndarray:
    """The initial logits of a figure: 2 to 9 numbers, each on the slider grid."""
    arr = as_real_array(logits, "logits")
    if arr.ndim != 1 or not 2 <= arr.size <= len(SUBSCRIPTS) - 1:
        raise ValueError(
            f"logits must be a 1-d sequence of 2 to {len(SUBSCRIPTS) - 1} numbers; got {logits!r}"
        )
    for j, value in enumerate(arr):
        check_on_grid(float(value), grid, f"logits[{j}]", grid_name)
    return arr.astype(np.float64)


def check_index(value: object, n: int, name: str) -> int:
    """A class or logit index in range(n)."""
    index = check_int(value, name)
    if not 0 <= index < n:
        raise ValueError(f"{name} must be an index in range({n}); got {value!r}")
    return index
