"""Interactive figures of the Softmax Book: live in Jupyter, operable on the static website.

Needs the optional extra ``viz`` (``pip install "softmax-pkg[viz]"``: matplotlib, ipywidgets
and Pillow); the rest of ``softmax_pkg`` never imports this subpackage. The static HTML of a
figure needs only matplotlib; the live sliders need ipywidgets too.

Each ``*_widget`` function returns an :class:`InteractiveFigure`. Displayed in Jupyter it is a
live ipywidget: sliders above a matplotlib figure whose artists are updated in place. Displayed
anywhere else (the book's website, nbviewer) it is a self-contained HTML snippet that holds the
figure's data at every position of the sliders, computed by the same Python code, and a small
JavaScript renderer: the sliders work without a kernel and without a network.

:func:`show` displays a chapter's static matplotlib figure with its alt text, in a light and a
dark version for the book's two themes.

>>> from softmax_pkg.viz import temperature_widget
>>> figure = temperature_widget(logits=[1.0, 2.0, 3.0], temperature=1.0)
>>> figure.sliders["temperature"].value = 0.5      # what a reader's drag does
>>> [f"{bar.get_height():.4f}" for bar in figure.bars]
['0.0159', '0.1173', '0.8668']
"""

try:
    import matplotlib  # noqa: F401  (every figure draws with it)
except ImportError as exc:
    raise ImportError(
        f'softmax_pkg.viz needs matplotlib ({exc}): pip install "softmax-pkg[viz]"'
    ) from exc

from ._attention import AttentionFigure, attention_widget
from ._classifier import ClassifierFigure, classifier_widget, three_blobs, train_snapshots
from ._figure import Control, InteractiveFigure
from ._jacobian import JacobianFigure, jacobian_widget
from ._loss import LossGradientFigure, loss_and_gradient, loss_gradient_widget
from ._show import show
from ._temperature import TemperatureFigure, temperature_widget

__all__ = [
    "show",
    "temperature_widget",
    "jacobian_widget",
    "loss_gradient_widget",
    "classifier_widget",
    "attention_widget",
    "loss_and_gradient",
    "train_snapshots",
    "three_blobs",
    "InteractiveFigure",
    "Control",
    "TemperatureFigure",
    "JacobianFigure",
    "LossGradientFigure",
    "ClassifierFigure",
    "AttentionFigure",
]
