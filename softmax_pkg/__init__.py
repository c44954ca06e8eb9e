"""softmax_pkg: accurate, fast, fully specified softmax numerics in NumPy.

The companion package of *The Softmax Book*: every chapter checks its derivations against it.
NumPy is its only runtime dependency.
"""

from . import attention, formulas, routes, timing
from ._classifier import ConvergenceWarning, SoftmaxRegression
from ._gradcheck import numerical_gradient
from ._jacobian import softmax_jacobian, softmax_jvp, softmax_vjp
from ._layer import softmax_layer, softmax_layer_jacobian
from ._losses import cross_entropy, cross_entropy_grad, one_hot
from ._softmax import log_softmax, logsumexp, set_num_threads, softmax

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_jacobian",
    "softmax_jvp",
    "softmax_vjp",
    "cross_entropy",
    "cross_entropy_grad",
    "one_hot",
    "softmax_layer",
    "softmax_layer_jacobian",
    "numerical_gradient",
    "set_num_threads",
    "SoftmaxRegression",
    "ConvergenceWarning",
]
try:  # pyproject.toml's version, from the installed distribution's metadata: one number
    from importlib.metadata import version as _distribution_version

    __version__ = _distribution_version("softmax-pkg")
    del _distribution_version
except ImportError:  # PackageNotFoundError: a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
