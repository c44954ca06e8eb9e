"""One logit in, the cross-entropy and its gradient out: L and dL/da = S - y as a_k moves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import i18n  # i18n.label: `label` is the true class here
from .._losses import cross_entropy, cross_entropy_grad
from ._figure import Control, InteractiveFigure, quantize
from .._validate import as_real_array
from ._style import CYCLE, SUBSCRIPTS, check_grid, check_index, check_on_grid

MOVING = tuple(np.round(np.linspace(-4.0, 4.0, 81), 10))


def loss_and_gradient(
    logits: ArrayLike, label: int, k: int, a_k: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The loss and its gradient when logit ``k`` takes each value of ``a_k``, the others fixed.

    Parameters
    ----------
    logits : array_like, shape (N,)
        The fixed logits (entry ``k`` is replaced).
    label : int
        The true class, an index in ``range(N)``.
    k : int
        The index of the logit that moves.
    a_k : array_like, shape (M,)
        The values it takes.

    Returns
    -------
    loss : numpy.ndarray, shape (M,)
        ``cross_entropy`` of each row of logits.
    grad : numpy.ndarray, shape (M, N)
        ``cross_entropy_grad``, that is :math:`S(\\mathbf{a}) - \\mathbf{y}`, of each row.
    """
    logits = _check_fixed_logits(logits)
    label = check_index(label, logits.size, "label")
    k = check_index(k, logits.size, "k")
    a_k = as_real_array(a_k, "a_k").astype(np.float64).reshape(-1)
    rows = np.tile(logits, (a_k.size, 1))
    rows[:, k] = a_k
    target = np.full(a_k.size, label)
    return (
        cross_entropy(rows, target, reduction="none"),
        cross_entropy_grad(rows, target, reduction="none"),
    )


def _check_fixed_logits(logits: ArrayLike) -> np.ndarray:
    arr = as_real_array(logits, "logits").astype(np.float64)
    if arr.ndim != 1 or not 2 <= arr.size <= len(SUBSCRIPTS) - 1:
        raise ValueError(
            f"logits must be a 1-d sequence of 2 to {len(SUBSCRIPTS) - 1} numbers; got {logits!r}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"logits must be finite; got {logits!r}")
    return arr


class LossGradientFigure(InteractiveFigure):
    """The loss and every component of its gradient as one logit moves, the others fixed."""

    kind = "lossgrad"
    figsize = (8.0, 3.2)

    @property
    def description(self) -> str:
        """What the figure shows, for screen readers (alt text), in the book's edition."""
        return i18n.label(
            "Three panels: the cross-entropy loss as one logit moves with the others fixed, "
            "each component of its gradient along the same path, and the gradient, softmax "
            "minus the one-hot target, as bars at the chosen value."
        )

    def __init__(
        self,
        logits: Sequence[float] = (1.0, 2.0, 3.0),
        label: int = 0,
        k: int = 0,
        *,
        values: ArrayLike | None = None,
    ) -> None:
        self.logits = _check_fixed_logits(logits)
        self.n = len(self.logits)
        self.label = check_index(label, self.n, "label")
        k = check_index(k, self.n, "k")
        if values is None:
            grid = MOVING
        else:
            grid = tuple(round(v, 10) for v in check_grid(values, "values"))
        check_on_grid(self.logits[k], grid, f"logits[{k}]", "values")
        self.names = [f"a{SUBSCRIPTS[j + 1]}" for j in range(self.n)]
        self.controls = (
            Control("k", i18n.label("moving logit"), range(self.n), k, texts=self.names),
            Control("a_k", i18n.label("its value"), grid, float(self.logits[k]), ".1f"),
        )
        super().__init__()

    @property
    def moving(self) -> np.ndarray:
        """The positions of the moving logit."""
        return np.asarray(self.controls[1].values)

    def _curves(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return loss_and_gradient(self.logits, self.label, k, self.moving)

    def _texts(self, values: dict[str, float]) -> tuple[int, int, str, str]:
        k = int(values["k"])
        i = self.controls[1].values.index(values["a_k"])
        at = f"{self.names[k]} = {values['a_k']:.1f}"
        return k, i, at, i18n.label("{name} (the other logits fixed)").format(name=self.names[k])

    def _draw(self, values: dict[str, float]) -> None:
        left, middle, right = self.figure.subplots(1, 3)
        k, i, at, xlabel = self._texts(values)
        self._k = k
        loss, grad = self._curves(k)
        top = max(float(self._curves(j)[0].max()) for j in range(self.n)) * 1.05
        (self.loss_line,) = left.plot(self.moving, loss, color="black")
        (self.loss_dot,) = left.plot([self.moving[i]], [loss[i]], "o", color="black")
        left.set_ylim(0, top)
        self.loss_title = left.set_title(
            i18n.label("L = {loss} at {at}").format(loss=f"{loss[i]:.3f}", at=at)
        )
        left.set_ylabel(i18n.label("cross-entropy L (true class {c})").format(c=self.label + 1))
        self.grad_lines, self.grad_dots = [], []
        for j in range(self.n):
            color = CYCLE[j]
            label = f"$\\partial L / \\partial a_{{{j + 1}}}$"
            self.grad_lines += middle.plot(self.moving, grad[:, j], color=color, label=label)
            self.grad_dots += middle.plot([self.moving[i]], [grad[i, j]], "o", color=color)
        zeros = [middle.axhline(0, color="grey", linewidth=0.8)]
        middle.set_ylim(-1.05, 1.05)
        middle.set_title(i18n.label("the gradient, by component"))
        middle.set_ylabel("∂L/∂aⱼ")
        positions = np.arange(1, self.n + 1)
        self.bars = right.bar(positions, grad[i], color=CYCLE[: self.n], width=0.6)
        self.bar_labels = [right.text(x, 0, "", ha="center") for x in positions]
        zeros.append(right.axhline(0, color="grey", linewidth=0.8))
        right.set_ylim(-1.2, 1.2)
        right.set_xticks(positions, [f"$\\partial L/\\partial a_{{{j}}}$" for j in positions])
        self.grad_title = right.set_title(i18n.label("S − y at {at}").format(at=at))
        self.xlabels = [left.set_xlabel(xlabel), middle.set_xlabel(xlabel)]
        self._label_bars(grad[i])
        self.axes = (left, middle, right)
        self.dynamic(
            self.loss_line,
            self.loss_dot,
            *self.grad_lines,
            *self.grad_dots,
            *self.bars,
            *self.bar_labels,
            *zeros,
            self.loss_title,
            self.grad_title,
            *self.xlabels,
        )

    def _label_bars(self, g: np.ndarray) -> None:
        for bar, text, value in zip(self.bars, self.bar_labels, g):
            bar.set_height(value)
            text.set_text(f"{value:.3f}")
            text.set_y(value + (0.04 if value >= 0 else -0.04))
            text.set_verticalalignment("bottom" if value >= 0 else "top")

    def _redraw(self, values: dict[str, float]) -> None:
        k, i, at, xlabel = self._texts(values)
        loss, grad = self._curves(k)
        if k != self._k:  # a different logit moves: new curves
            self._k = k
            self.loss_line.set_ydata(loss)
            for j, line in enumerate(self.grad_lines):
                line.set_ydata(grad[:, j])
            for text in self.xlabels:
                text.set_text(xlabel)
        x = [self.moving[i]]
        self.loss_dot.set_data(x, [loss[i]])
        for j, dot in enumerate(self.grad_dots):
            dot.set_data(x, [grad[i, j]])
        self._label_bars(grad[i])
        self.loss_title.set_text(
            i18n.label("L = {loss} at {at}").format(loss=f"{loss[i]:.3f}", at=at)
        )
        self.grad_title.set_text(i18n.label("S − y at {at}").format(at=at))

    def _static_arrays(self) -> dict[str, dict[str, Any]]:
        curves = [self._curves(k) for k in range(self.n)]
        return {
            "loss": quantize(np.stack([loss for loss, _ in curves]), 1000),  # (N, M)
            "grad": quantize(np.stack([grad for _, grad in curves]), 1000),  # (N, M, N)
        }

    def _static_meta(self) -> dict[str, Any]:
        left = self.axes[0]
        return {
            "names": self.names,
            "label": self.label,
            "colors": list(CYCLE[: self.n]),
            "loss_ylim": list(left.get_ylim()),
            "loss_yticks": [float(t) for t in left.get_yticks() if 0 <= t <= left.get_ylim()[1]],
            "xticks": [float(t) for t in self.axes[1].get_xticks() if abs(t) <= self.moving[-1]],
            "ylabel": i18n.label("cross-entropy L (true class {c})").format(c=self.label + 1),
            # The texts viz.js fills in at each position ({at} is "a₁ = 0.5").
            "middle_title": i18n.label("the gradient, by component"),
            "loss_title": i18n.label("L = {loss} at {at}"),
            "grad_title": i18n.label("S − y at {at}"),
            "xlabel": i18n.label("{name} (the other logits fixed)"),
        }


def loss_gradient_widget(
    logits: Sequence[float] = (1.0, 2.0, 3.0), label: int = 0, k: int = 0, **options: Any
) -> LossGradientFigure:
    """Cross-entropy and its gradient :math:`S - y` as one logit moves, the others fixed.

    Parameters
    ----------
    logits : sequence of float, default (1, 2, 3)
        The fixed logits; entry ``k`` starts the moving slider.
    label : int, default 0
        The index of the true class.
    k : int, default 0
        The index of the logit that moves first; a slider picks another.
    **options
        ``values``: the positions of the moving logit (default -4 to 4 in steps of 0.1).

    Returns
    -------
    LossGradientFigure
        Live in Jupyter, static HTML elsewhere. Left: the loss; middle: each component of the
        gradient; right: the gradient at the current position, as bars.
    """
    return LossGradientFigure(logits, label, k, **options)
