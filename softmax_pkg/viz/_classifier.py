"""Hyper-parameters in, decision regions and loss curve out: SoftmaxRegression on 2-d data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._classifier import SoftmaxRegression
from ..i18n import label
from ._figure import Control, InteractiveFigure, quantize, run_length
from .._validate import (
    as_array,
    as_real_array,
    check_int,
    check_positive_finite,
    check_real,
)
from ._style import CYCLE, check_grid, check_on_grid

LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0)
L2_STRENGTHS = (0.0, 0.001, 0.01, 0.1, 1.0)
EPOCHS = (1, 2, 3, 5, 10, 20, 50, 100)
# The confidence max_c p_c of a point falls in one of these bins; the map shades each class by
# its bin, so a weak model (few epochs, strong l2) shows pale regions.
CONFIDENCE_EDGES = (0.5, 0.7, 0.9)
SHADES = (0.15, 0.3, 0.5, 0.75)  # the opacity of the class colour on white, per bin
RESOLUTION = 60


def three_blobs(n_per_class: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small 2-d data set: three Gaussian clusters of ``n_per_class`` points each.

    The centres lie on a circle of radius 1.6 and the clusters have standard deviation 0.75,
    so the classes overlap a little and no line separates them perfectly.

    Returns
    -------
    X : numpy.ndarray, shape (3 * n_per_class, 2)
        The points, drawn with ``np.random.default_rng(seed)``.
    y : numpy.ndarray, shape (3 * n_per_class,)
        Their classes 0, 1, 2, in blocks.
    """
    n_per_class = check_int(n_per_class, "n_per_class", 1)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    angles = np.deg2rad([90.0, 210.0, 330.0])
    centres = 1.6 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.repeat(np.arange(3), n_per_class)
    X = centres[y] + rng.normal(scale=0.75, size=(y.size, 2))
    return X, y


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run, seen at several epoch counts.

    Attributes
    ----------
    maps : numpy.ndarray, shape (E, H, W)
        At each requested epoch count, the code of each grid point: class index times
        ``len(SHADES)`` plus the confidence bin.
    accuracy : numpy.ndarray, shape (E,)
        The training accuracy at each requested epoch count.
    loss_curve : numpy.ndarray, shape (max(epochs),)
        ``loss_curve_`` of the model: the training objective after every epoch.
    """

    maps: np.ndarray
    accuracy: np.ndarray
    loss_curve: np.ndarray


def train_snapshots(
    X: ArrayLike,
    y: ArrayLike,
    *,
    learning_rate: float,
    l2: float,
    epochs: Sequence[int],
    grid: ArrayLike,
) -> Run:
    r"""Train ``SoftmaxRegression(solver="gd")`` once and look at it after each epoch count.

    Parameters
    ----------
    X : array_like, shape (n, 2)
        The training features.
    y : array_like, shape (n,)
        The class labels.
    learning_rate, l2 : float
        The hyper-parameters of ``SoftmaxRegression``.
    epochs : sequence of int
        The epoch counts at which to look at the model.
    grid : array_like, shape (H, W, 2)
        The points of the plane at which the class map is computed.

    Returns
    -------
    Run
        ``maps`` (shape (E, H, W)), ``accuracy`` (E,) and ``loss_curve`` (max(epochs),).

    Notes
    -----
    The model is fitted with ``max_iter=max(epochs)`` and ``tol=0``; a callback records the
    class map and the training accuracy when the epoch count is one of ``epochs``. Full-batch
    gradient descent is deterministic, so the model after ``e`` epochs of that run is the model
    that ``max_iter=e`` would fit (the tests check it). A map holds, for each point, the index
    of the predicted class times ``len(SHADES)`` plus the bin of its confidence
    :math:`\max_c p_c` (edges 0.5, 0.7, 0.9).
    """
    X, y = _check_data(X, y)
    check_positive_finite(learning_rate, "learning_rate")
    check_real(l2, "l2", low=0.0)
    order = _check_epochs(epochs, "epochs")
    wanted = sorted(order)
    grid = as_real_array(grid, "grid").astype(np.float64)
    if grid.ndim != 3 or grid.shape[2] != 2 or not np.all(np.isfinite(grid)):
        raise ValueError(f"grid must be a finite array of shape (H, W, 2); got shape {grid.shape}")
    points = grid.reshape(-1, 2)
    maps, accuracy = {}, {}

    def look(model: SoftmaxRegression, epoch: int) -> None:
        if epoch in wanted:
            p = model.predict_proba(points)
            level = np.searchsorted(CONFIDENCE_EDGES, p.max(axis=1))
            maps[epoch] = (p.argmax(axis=1) * len(SHADES) + level).reshape(grid.shape[:2])
            accuracy[epoch] = model.score(X, y)

    model = SoftmaxRegression(
        l2=l2, learning_rate=learning_rate, max_iter=wanted[-1], tol=0.0, callback=look
    ).fit(X, y)
    return Run(
        maps=np.stack([maps[e] for e in order]),
        accuracy=np.array([accuracy[e] for e in order]),
        loss_curve=np.asarray(model.loss_curve_),
    )


def _check_data(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two finite features per sample and one label per sample."""
    X = as_real_array(X, "X").astype(np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have two features per sample, shape (n, 2); got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf; every feature value must be finite")
    y = as_array(y, "y")
    if y.shape != X.shape[:1]:
        raise ValueError(f"y must hold one label per sample, shape ({len(X)},); got {y.shape}")
    return X, y


def _check_epochs(epochs: object, name: str) -> list[int]:
    """A non-empty sequence of distinct epoch counts >= 1."""
    if isinstance(epochs, (str, bytes)) or not hasattr(epochs, "__len__") or len(epochs) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of integers; got {epochs!r}")
    counts = [check_int(e, f"{name}[{i}]", 1) for i, e in enumerate(epochs)]
    if len(set(counts)) != len(counts):
        raise ValueError(f"{name} must not repeat a count; got {epochs!r}")
    return counts


def palette(n_classes: int) -> np.ndarray:
    """RGB of each map code: the class colour at each shade, on white; shape (C * shades, 3)."""
    from matplotlib.colors import to_rgb

    rows = []
    for c in range(n_classes):
        rgb = np.array(to_rgb(CYCLE[c]))
        rows += [1.0 - shade * (1.0 - rgb) for shade in SHADES]
    return np.array(rows)


class ClassifierFigure(InteractiveFigure):
    """Decision regions and loss curve of SoftmaxRegression, as its hyper-parameters move."""

    kind = "classifier"
    figsize = (8.0, 3.6)

    @property
    def description(self) -> str:
        """What the figure shows, for screen readers (alt text), in the book's edition."""
        return label(
            "Decision regions of a softmax classifier on {n} training points of {k} classes "
            "after the chosen number of epochs, beside its training objective against the epoch."
        ).format(n=len(self.y), k=len(self.classes))

    def __init__(
        self,
        X: ArrayLike | None = None,
        y: ArrayLike | None = None,
        *,
        learning_rate: float = 0.1,
        l2: float = 0.01,
        epochs: int = 10,
        learning_rates: Sequence[float] = LEARNING_RATES,
        l2_strengths: Sequence[float] = L2_STRENGTHS,
        epoch_counts: Sequence[int] = EPOCHS,
        resolution: int = RESOLUTION,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if feature_names is None:
            feature_names = (label("feature x₁"), label("feature x₂"))
        if X is None and y is None:
            X, y = three_blobs()
        elif X is None or y is None:
            raise ValueError("X and y go together: give both, or neither for three_blobs()")
        self.X, self.y = _check_data(X, y)
        if (
            isinstance(feature_names, str)
            or len(feature_names) != 2
            or not all(isinstance(name, str) for name in feature_names)
        ):
            raise TypeError(f"feature_names must be two strings; got {feature_names!r}")
        self.feature_names = tuple(feature_names)
        self.classes = np.unique(self.y)
        if not 2 <= len(self.classes) <= len(CYCLE):
            raise ValueError(
                f"y must hold 2 to {len(CYCLE)} classes (one colour each); got {len(self.classes)}"
            )
        resolution = check_int(resolution, "resolution", 2)
        learning_rates = check_grid(learning_rates, "learning_rates", positive=True)
        l2_strengths = check_grid(l2_strengths, "l2_strengths")
        if min(l2_strengths) < 0:
            raise ValueError(f"l2_strengths must be >= 0; got {l2_strengths!r}")
        epoch_counts = tuple(_check_epochs(epoch_counts, "epoch_counts"))
        check_on_grid(learning_rate, learning_rates, "learning_rate", "learning_rates")
        check_on_grid(l2, l2_strengths, "l2", "l2_strengths")
        check_on_grid(epochs, epoch_counts, "epochs", "epoch_counts")
        low, high = self.X.min(axis=0) - 0.5, self.X.max(axis=0) + 0.5
        step = (high - low) / resolution
        axes = [
            np.linspace(lo + s / 2, hi - s / 2, resolution) for lo, hi, s in zip(low, high, step)
        ]
        xx, yy = np.meshgrid(*axes)  # row r holds the points at height axes[1][r]
        self.points = np.stack([xx, yy], axis=-1)
        self.extent = [low[0], high[0], low[1], high[1]]
        self.controls = (
            Control("learning_rate", label("learning rate"), learning_rates, learning_rate, "g"),
            Control("l2", label("l2 strength"), l2_strengths, l2, "g"),
            Control("epochs", label("epochs"), epoch_counts, epochs, "g"),
        )
        self._runs: dict[tuple[float, float], Run] = {}
        super().__init__()

    def run(self, learning_rate: float, l2: float) -> Run:
        """The training run at these hyper-parameters (trained once, then remembered)."""
        key = (float(learning_rate), float(l2))
        if key not in self._runs:
            self._runs[key] = train_snapshots(
                self.X,
                self.y,
                learning_rate=key[0],
                l2=key[1],
                epochs=[int(e) for e in self.controls[2].values],
                grid=self.points,
            )
        return self._runs[key]

    def _frame(self, values: dict[str, float]) -> tuple[Run, int, int]:
        run = self.run(values["learning_rate"], values["l2"])
        e = self.controls[2].values.index(values["epochs"])
        return run, e, int(values["epochs"])

    def _draw(self, values: dict[str, float]) -> None:
        left, right = self.figure.subplots(1, 2, width_ratios=[1, 1.15])
        run, e, epochs = self._frame(values)
        self.palette = palette(len(self.classes))
        self.regions = left.imshow(
            self.palette[run.maps[e]],
            origin="lower",
            extent=self.extent,
            interpolation="nearest",
            aspect="auto",
        )
        index = np.searchsorted(self.classes, self.y)
        points = []
        for c, name in enumerate(self.classes):
            points += [
                left.scatter(
                    *self.X[index == c].T,
                    s=16,
                    color=CYCLE[c],
                    edgecolors="black",
                    linewidths=0.5,
                    label=label("class {j}").format(j=name),
                )
            ]
        left.set_xlabel(self.feature_names[0])
        left.set_ylabel(self.feature_names[1])
        self.map_title = left.set_title(self._map_title(epochs))
        counts = np.arange(1, len(run.loss_curve) + 1)
        last = int(self.controls[2].values[-1])
        (self.future,) = right.plot(counts, run.loss_curve, color="lightgrey", linewidth=1)
        (self.curve,) = right.plot(counts[:epochs], run.loss_curve[:epochs], color="black")
        (self.dot,) = right.plot([epochs], [run.loss_curve[epochs - 1]], "o", color="black")
        right.set_xscale("log")
        right.set_xlim(0.8, last * 1.25)
        right.set_xticks(self._epoch_ticks(), [str(t) for t in self._epoch_ticks()])
        right.minorticks_off()
        right.set_ylim(0, 1.2)
        right.set_xlabel(label("epoch"))
        right.set_ylabel(label("training objective"))
        self.loss_title = right.set_title(self._loss_title(run, e, epochs))
        self.axes = (left, right)
        # The points lie on top of the regions, so they are redrawn after them.
        self.dynamic(
            self.regions,
            *points,
            self.map_title,
            self.future,
            self.curve,
            self.dot,
            self.loss_title,
        )

    @staticmethod
    def _map_title(epochs: int) -> str:
        if epochs == 1:
            return label("Decision regions after {epochs} epoch").format(epochs=epochs)
        return label("Decision regions after {epochs} epochs").format(epochs=epochs)

    def _epoch_ticks(self) -> list[int]:
        last = int(self.controls[2].values[-1])
        return [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= last]

    @staticmethod
    def _loss_title(run: Run, e: int, epochs: int) -> str:
        return label("objective {objective}, accuracy {accuracy}").format(
            objective=f"{run.loss_curve[epochs - 1]:.3f}", accuracy=f"{run.accuracy[e]:.3f}"
        )

    def _redraw(self, values: dict[str, float]) -> None:
        run, e, epochs = self._frame(values)
        counts = np.arange(1, len(run.loss_curve) + 1)
        self.regions.set_data(self.palette[run.maps[e]])
        self.future.set_ydata(run.loss_curve)
        self.curve.set_data(counts[:epochs], run.loss_curve[:epochs])
        self.dot.set_data([epochs], [run.loss_curve[epochs - 1]])
        self.map_title.set_text(self._map_title(epochs))
        self.loss_title.set_text(self._loss_title(run, e, epochs))

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        lrs, l2s = self.controls[0].values, self.controls[1].values
        runs = [[self.run(lr, l2) for l2 in l2s] for lr in lrs]
        return {
            "map": run_length(np.array([[r.maps for r in row] for row in runs])),  # (A, B, E, H, W)
            "accuracy": quantize([[r.accuracy for r in row] for row in runs], 1000),  # (A, B, E)
            "loss": quantize([[r.loss_curve for r in row] for row in runs], 10000),  # (A, B, T)
        }

    def _static_meta(self) -> dict[str, Any]:
        left, right = self.axes
        from matplotlib.colors import to_hex

        index = np.searchsorted(self.classes, self.y)
        return {
            "X": quantize(self.X, 1000),
            "y": index.tolist(),
            "colors": list(CYCLE[: len(self.classes)]),
            "palette": [to_hex(rgb) for rgb in self.palette],
            "extent": [float(v) for v in self.extent],
            "xlabel": self.feature_names[0],
            "ylabel": self.feature_names[1],
            "xticks": [
                float(t) for t in left.get_xticks() if left.get_xlim()[0] <= t <= left.get_xlim()[1]
            ],
            "yticks": [
                float(t) for t in left.get_yticks() if left.get_ylim()[0] <= t <= left.get_ylim()[1]
            ],
            "loss_xlim": list(right.get_xlim()),
            "epoch_ticks": self._epoch_ticks(),
            "loss_ylim": list(right.get_ylim()),
            "loss_yticks": [float(t) for t in right.get_yticks() if 0 <= t <= right.get_ylim()[1]],
            "loss_xlabel": label("epoch"),
            "loss_ylabel": label("training objective"),
            # The titles viz.js fills in at each position.
            "map_title": [
                label("Decision regions after {epochs} epoch"),
                label("Decision regions after {epochs} epochs"),
            ],
            "loss_title": label("objective {objective}, accuracy {accuracy}"),
        }


def classifier_widget(
    X: ArrayLike | None = None, y: ArrayLike | None = None, **options: Any
) -> ClassifierFigure:
    """Decision regions and loss curve of ``SoftmaxRegression`` as its hyper-parameters move.

    Parameters
    ----------
    X : array_like, shape (n, 2), optional
        Two features per sample (default: :func:`three_blobs`, 90 points of 3 classes).
    y : array_like, shape (n,), optional
        The class labels (at most 6 classes).
    **options
        Initial values ``learning_rate`` (0.1), ``l2`` (0.01) and ``epochs`` (10), the slider
        positions ``learning_rates``, ``l2_strengths`` and ``epoch_counts``, the
        ``resolution`` of the map (60 x 60 points) and the axis labels ``feature_names``
        (default "feature x₁" and "feature x₂", in the edition's language).

    Returns
    -------
    ClassifierFigure
        Live in Jupyter, static HTML elsewhere. Every combination of learning rate and l2 is
        one training run of ``max(epoch_counts)`` epochs of full-batch gradient descent
        (``solver="gd"``), so the figure holds ``len(learning_rates) * len(l2_strengths)`` runs.
    """
    return ClassifierFigure(X, y, **options)
