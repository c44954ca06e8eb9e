"""SoftmaxRegression: multinomial logistic regression trained with the package's own gradients.

The estimator follows scikit-learn's conventions (hyper-parameters in ``__init__``, ``fit``
returns ``self``, fitted attributes end in ``_``) without importing scikit-learn, so NumPy stays
the package's only runtime dependency. Every loss value and every gradient comes from
:func:`cross_entropy` and :func:`cross_entropy_grad`: the formulas the book derives are the ones
that train the model.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._losses import cross_entropy, cross_entropy_grad
from ._softmax import log_softmax, softmax
from ._validate import as_array, as_real_array, check_int, check_positive_finite, check_real

__all__ = ["SoftmaxRegression", "ConvergenceWarning", "NotFittedError"]

_SOLVERS = ("gd", "sgd")


class ConvergenceWarning(UserWarning):
    """Issued by :meth:`SoftmaxRegression.fit` when ``max_iter`` epochs end before ``tol``."""


class NotFittedError(ValueError, AttributeError):
    """Raised by a model used before ``fit`` when scikit-learn is not installed.

    It has the bases of ``sklearn.exceptions.NotFittedError``, so ``except ValueError`` and
    ``except AttributeError`` catch it as they catch scikit-learn's class.
    """


def _not_fitted_error() -> type[Exception]:
    """scikit-learn's NotFittedError where scikit-learn is installed (its estimator checks and
    its users catch that class), otherwise this module's compatible stand-in. The import happens
    only on this error path, so fitting and predicting never import scikit-learn."""
    try:
        from sklearn.exceptions import NotFittedError as sklearn_not_fitted
    except ImportError:
        return NotFittedError
    return sklearn_not_fitted


# -- argument checks used only here ---------------------------------------------------------------


def _check_features(X: ArrayLike, name: str = "X") -> np.ndarray:
    """A finite 2-d float64 array (a copy where a conversion is needed; never modified)."""
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix, which is not supported; pass X.toarray()")
    arr = as_real_array(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-d array of shape (n_samples, n_features); got shape {arr.shape}"
            + (
                ". Reshape your data: x.reshape(-1, 1) if it is one feature, "
                "x.reshape(1, -1) if it is one sample"
                if arr.ndim == 1
                else ""
            )
        )
    for axis, what in enumerate(("sample", "feature")):
        if arr.shape[axis] == 0:
            raise ValueError(
                f"{name} has 0 {what}(s) (shape={arr.shape}) while a minimum of 1 is required."
            )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; every feature value must be finite")
    return arr.astype(np.float64, copy=False)


def _check_labels(y: ArrayLike, n_samples: int) -> np.ndarray:
    """A 1-d array of class labels, one per sample; floats must be whole numbers."""
    if y is None:
        raise ValueError("SoftmaxRegression requires y to be passed, but the target y is None")
    arr = as_array(y, "y")
    if arr.ndim != 1:
        raise ValueError(f"y must be a 1-d array of class labels; got shape {arr.shape}")
    if len(arr) != n_samples:
        raise ValueError(
            f"X and y have different lengths: X has {n_samples} samples, y has {len(arr)} labels"
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"y must hold class labels; got complex dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise ValueError(
            "Unknown label type: y is continuous (floating-point values that are not whole "
            "numbers, or NaN); a classifier needs class labels"
        )
    return arr


def _encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct labels (as np.unique sorts them) and each sample's class index."""
    try:
        classes, index = np.unique(y, return_inverse=True)
    except TypeError as exc:  # an object array whose labels cannot be ordered
        raise TypeError(f"the labels in y must be mutually comparable (sortable); {exc}") from None
    return classes, index.reshape(-1)


# -- the products with X ------------------------------------------------------------------------

# Multiply-adds per block of rows. OpenBLAS runs a matrix product on several threads once it has
# more than about 2.6e5 multiply-adds. The products of one training step are small, and for them
# the threads cost more than they save: on a shared 2-core machine a training run took 5 to 70
# times longer than with one thread, waiting for cores. Row blocks of about 6.5e4 multiply-adds
# stay on one thread (and in cache); at least 64 rows per block keep the Python overhead small
# when the rows are long, where products are big enough to gain from threads anyway.
_MACS_PER_BLOCK = 1 << 16


def _row_blocks(n_rows: int, row_cost: int) -> list[slice]:
    step = max(64, _MACS_PER_BLOCK // max(row_cost, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def _linear(X, W, b):
    """The logits X W^T + b, computed in row blocks."""
    Z = np.empty((X.shape[0], W.shape[0]))
    for rows in _row_blocks(X.shape[0], W.size):
        np.matmul(X[rows], W.T, out=Z[rows])
    Z += b
    return Z


def _transposed_product(G, X):
    """G^T X, summed over row blocks."""
    out = np.zeros((G.shape[1], X.shape[1]))
    for rows in _row_blocks(X.shape[0], out.size):
        out += G[rows].T @ X[rows]
    return out


# -- the objective ------------------------------------------------------------------------------


def _objective(W, b, X, index, l2, Z=None):
    """Mean cross-entropy of softmax(X W^T + b) plus (l2/2)||W||_F^2; Z = X W^T + b if known."""
    Z = _linear(X, W, b) if Z is None else Z
    return float(cross_entropy(Z, index)) + 0.5 * l2 * float(np.vdot(W, W))


def _gradient(W, b, X, index, l2, Z=None):
    """Gradients of :func:`_objective`: (S - Y)^T X / n + l2 W for W, and (S - Y)^T 1 / n for b.

    ``cross_entropy_grad`` with reduction="mean" returns (S - Y) / n, the gradient with respect
    to the logits; the chain rule through Z = X W^T + b does the rest.
    """
    G = cross_entropy_grad(_linear(X, W, b) if Z is None else Z, index)
    return _transposed_product(G, X) + l2 * W, G.sum(axis=0)


def _norm(*arrays):
    """The Euclidean norm of several arrays together, without overflow for huge entries."""
    scale = max(float(np.max(np.abs(a), initial=0.0)) for a in arrays)
    if scale == 0.0:
        return 0.0
    return scale * float(np.sqrt(sum(np.vdot(a / scale, a / scale) for a in arrays)))


def _curvature(X, l2, rounds=30):
    r"""The step-size constant of the Notes, L = lambda_max(X~^T X~)/(2n) + l2: an estimate and a
    bound that is always safe.

    The estimate comes from power iteration with matrix-vector products, O(n d) per round and
    O(n + d) memory; it approaches lambda_max from below. The safe bound uses the Frobenius
    norm, ||X~||_F^2 >= lambda_max, which can be larger by up to min(n, d + 1) times. Both work
    on X~ / max|X~| so that features near either end of the float64 range do not overflow.

    Raises ValueError if X is so badly scaled that L is not a representable float64 number.
    """
    n = X.shape[0]
    scale = max(float(np.max(np.abs(X))), 1.0)  # the largest entry of X~ = [X, 1]
    # A fixed start vector: "gd" stays deterministic, and the user's random state is not used.
    v = np.random.default_rng(0).standard_normal(X.shape[1] + 1)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(rounds):
        u = (X @ v[:-1]) / scale + v[-1] / scale
        w = np.append((u @ X) / scale, u.sum() / scale)
        lam_new = float(np.linalg.norm(w))  # ||A v|| for the unit vector v, A = X~^T X~ / s^2
        if lam_new == 0.0:
            break
        v = w / lam_new
        converged = abs(lam_new - lam) <= 1e-4 * lam_new
        lam = lam_new
        if converged:
            break
    rows = max(1, 8192 // X.shape[1])  # temporaries of at most 64 KiB
    frobenius = n / scale / scale
    for start in range(0, n, rows):
        block = X[start : start + rows] / scale
        frobenius += float(np.vdot(block, block))
    with np.errstate(over="ignore"):
        estimate = scale * (scale * lam / (2.0 * n)) + l2
        bound = scale * (scale * max(frobenius, lam) / (2.0 * n)) + l2
    if not (np.isfinite(estimate) and 1.0 / estimate >= np.finfo(np.float64).tiny):
        raise ValueError(
            f"X is too badly scaled to fit: its largest |value| is {scale:.3g}, and the "
            "curvature of the objective, which grows like the square of the features, overflows "
            "float64. Rescale the features (for example, standardise each column)."
        )
    return estimate, bound if np.isfinite(bound) else np.finfo(np.float64).max


class SoftmaxRegression:
    r"""Multinomial logistic (softmax) regression, trained by gradient descent or SGD.

    The model gives class :math:`c` the probability :math:`S_c(W x + b)`, the softmax of the
    logits :math:`z = Wx + b`. Its interface follows scikit-learn's estimator conventions
    (``fit``, ``predict_proba``, ``predict``, ``score``, ``get_params``, ``set_params``), so
    ``sklearn.base.clone``, pickling and scikit-learn's model-selection tools work with it;
    the package itself needs only NumPy.

    Parameters
    ----------
    l2 : float, default 1e-3
        The strength :math:`\lambda \ge 0` of the L2 penalty on the weights (not the intercept).
        ``l2=0`` fits without a penalty; it then diverges slowly on separable data.
    solver : {"gd", "sgd"}, default "gd"
        "gd": accelerated full-batch gradient descent (below), deterministic and fast for data
        that fits in memory. "sgd": mini-batch stochastic gradient descent with momentum.
    learning_rate : float or "auto", default "auto"
        The step size :math:`\eta`. "auto" is :math:`1/L` for "gd" and :math:`(1 - \beta)/L`
        for "sgd", with :math:`L` the bound of the Notes; a float overrides it (with "gd", a
        step above :math:`2/L` may diverge).
    momentum : float, default 0.9
        The momentum :math:`\beta \in [0, 1)` of "sgd" (ignored by "gd", whose momentum
        follows Nesterov's schedule).
    batch_size : int, default 32
        The mini-batch size of "sgd" (capped at the number of samples; ignored by "gd").
    tol : float, default 1e-4
        Stop when the Euclidean norm of the full gradient of the objective (weights and
        intercepts together) is at most ``tol``; checked after every epoch. ``tol=0`` runs
        exactly ``max_iter`` epochs.
    max_iter : int, default 1000
        The largest number of epochs (for "gd", an epoch is one iteration).
    random_state : int, numpy.random.Generator or None, default None
        Seeds the shuffle of "sgd" (``np.random.default_rng(random_state)``); an integer makes
        every fit identical. "gd" uses no randomness.
    callback : callable, optional
        Called as ``callback(model, epoch)`` after every epoch, with the model's ``coef_``,
        ``intercept_``, ``n_iter_`` and ``loss_curve_`` holding the state so far, so it can
        record a test score per epoch. A true return value stops the training.

    Attributes
    ----------
    classes_ : numpy.ndarray, shape (C,)
        The class labels, sorted as :func:`numpy.unique` sorts them.
    coef_ : numpy.ndarray, shape (C, d)
        The weights :math:`W`; row :math:`c` belongs to class ``classes_[c]``.
    intercept_ : numpy.ndarray, shape (C,)
        The intercepts :math:`b`. The objective does not change when the same constant is added
        to every intercept; training starts from zero and keeps their sum at zero.
    n_features_in_ : int
        The number of features :math:`d` seen in ``fit``.
    n_iter_ : int
        The number of epochs run.
    loss_curve_ : list of float
        The objective on the training data after each epoch.

    Notes
    -----
    **Objective.** With :math:`n` samples :math:`x_i \in \mathbb{R}^d` of classes
    :math:`y_i`, :math:`C` classes, one-hot rows :math:`Y` and :math:`S` the softmax
    probabilities of the samples, ``fit`` minimises

    .. math::

        f(W, b) = \frac{1}{n} \sum_{i=1}^{n} \big(\operatorname{LSE}(W x_i + b)
                  - (W x_i + b)_{y_i}\big) + \frac{\lambda}{2} \lVert W \rVert_F^2 ,

    with the gradients

    .. math::

        \nabla_W f = \tfrac{1}{n} (S - Y)^\top X + \lambda W, \qquad
        \nabla_b f = \tfrac{1}{n} (S - Y)^\top \mathbf{1} .

    The first term is :func:`cross_entropy` (mean reduction) of the logits; the gradient with
    respect to the logits is :func:`cross_entropy_grad`. The objective is convex, and strictly
    convex in :math:`W` for :math:`\lambda > 0`, so every solver heads for the same optimum.

    **The same model in scikit-learn.** For :math:`C \ge 3` classes,
    ``sklearn.linear_model.LogisticRegression(C=C_sk)`` minimises
    :math:`C_{sk} \sum_i \ell_i + \tfrac12 \lVert W \rVert_F^2` (intercept not penalised, any
    solver but "liblinear"); dividing by :math:`n\,C_{sk}` shows it is this objective with
    :math:`C_{sk} = 1/(n\lambda)`. With two classes scikit-learn fits one weight vector
    :math:`w = w_1 - w_0` instead of two; at the optimum :math:`w_0 = -w_1`, so
    :math:`\lVert W \rVert_F^2 = \lVert w \rVert^2 / 2` and :math:`C_{sk} = 2/(n\lambda)`.

    **Step size of "gd".** The Hessian of the cross-entropy with respect to the logits of one
    sample is :math:`\operatorname{diag}(p) - p p^\top \preceq \tfrac12 I` (Böhning's bound), so
    with :math:`\tilde X = [X, \mathbf{1}]` the gradient of :math:`f` is Lipschitz with constant
    at most

    .. math::

        L = \frac{\lambda_{\max}(\tilde X^\top \tilde X)}{2n} + \lambda ,

    and the step :math:`1/L` can never overshoot: by the descent lemma, a gradient step of
    length :math:`1/L` lowers :math:`f` by at least :math:`\lVert \nabla f \rVert^2 / (2L)`.
    Forming :math:`\tilde X^\top \tilde X` would cost :math:`O(n d^2)` time and
    :math:`O(d^2)` memory, far more than the data for wide :math:`X`; instead ``fit`` estimates
    :math:`\lambda_{\max}` by power iteration, a few products with :math:`X` and
    :math:`X^\top` (:math:`O(nd)` each, :math:`O(n + d)` memory), which approaches it from
    below. Where the estimate is too small the descent lemma's decrease can fail, so it is
    checked, and :math:`L` doubles until it holds, at most up to the safe bound
    :math:`\lVert \tilde X \rVert_F^2 / (2n) + \lambda`.
    "gd" is FISTA, Nesterov's accelerated gradient for smooth convex problems, made monotone by
    two restarts: the momentum is dropped when the step went against the gradient
    (O'Donoghue and Candès' gradient restart), and a step that would raise the objective is
    replaced by a plain gradient step from the current point, checked as above. So
    ``loss_curve_`` never increases with the "auto" step (except by the rounding of the
    objective, a few units in its last place, once the gradient is too small for the
    objective to resolve the decrease), and the iterations need no tuning.
    Time and memory grow like the data: :math:`O(ndC)` per iteration, nothing of size
    :math:`d^2`.

    **"sgd".** Each epoch visits the samples in a fresh random order, in mini-batches
    :math:`B`, with the heavy-ball update :math:`v \leftarrow \beta v + g_B`,
    :math:`\theta \leftarrow \theta - \eta v` (PyTorch's convention), where :math:`g_B` is the
    gradient of the objective on the batch. A constant step reaches a neighbourhood of the
    optimum whose size shrinks with :math:`\eta`, so it rarely meets a small ``tol``.

    **Errors.** ``fit`` checks the hyper-parameters and raises ``TypeError`` or ``ValueError``
    naming the one that is wrong. Calling ``predict`` and the like before ``fit`` raises
    ``sklearn.exceptions.NotFittedError`` (without scikit-learn installed, a class of the same
    name deriving, like it, from ``ValueError`` and ``AttributeError``). Features so large that
    the curvature bound overflows float64 (around :math:`10^{154}`) are refused with a
    ``ValueError`` asking to rescale them. Features must be finite and 2-d, with as many
    features as in ``fit``. Inputs are never modified.

    References
    ----------
    .. [1] D. Böhning, "Multinomial logistic regression algorithm", Annals of the Institute of
       Statistical Mathematics 44, 197-200 (1992). https://doi.org/10.1007/BF00048682
    .. [2] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
       linear inverse problems", SIAM J. Imaging Sciences 2, 183-202 (2009).
       https://doi.org/10.1137/080716542
    .. [3] B. O'Donoghue and E. Candès, "Adaptive restart for accelerated gradient schemes",
       Foundations of Computational Mathematics 15, 715-732 (2015).
       https://doi.org/10.1007/s10208-013-9150-3

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import SoftmaxRegression
    >>> X = np.array([[0.0, 0.0], [0.2, 0.1], [3.0, 0.0],
    ...               [3.1, 0.3], [0.0, 3.0], [0.2, 3.2]])
    >>> y = np.array(["cat", "cat", "dog", "dog", "owl", "owl"])
    >>> model = SoftmaxRegression(l2=0.01).fit(X, y)
    >>> model
    SoftmaxRegression(l2=0.01)
    >>> model.classes_
    array(['cat', 'dog', 'owl'], dtype='<U3')
    >>> model.predict(np.array([[2.9, 0.2], [0.1, 2.5]]))
    array(['dog', 'owl'], dtype='<U3')
    >>> model.predict_proba(X).sum(axis=1)  # each row sums to 1
    array([1., 1., 1., 1., 1., 1.])
    >>> model.score(X, y), model.coef_.shape, model.intercept_.shape
    (1.0, (3, 2), (3,))

    With 6 samples and ``l2=0.01``, scikit-learn's ``C = 1 / (6 * 0.01)`` reaches the same
    optimum (here each model's parameters are scored by the same objective):

    >>> from sklearn.linear_model import LogisticRegression
    >>> sk = LogisticRegression(C=1 / (6 * 0.01)).fit(X, y)
    >>> ours = model.objective(X, y)
    >>> theirs = model.objective(X, y, coef=sk.coef_,
    ...                          intercept=sk.intercept_)
    >>> bool(abs(ours - theirs) < 1e-5 * theirs)
    True
    """

    def __init__(
        self,
        l2: float = 1e-3,
        *,
        solver: str = "gd",
        learning_rate: float | str = "auto",
        momentum: float = 0.9,
        batch_size: int = 32,
        tol: float = 1e-4,
        max_iter: int = 1000,
        random_state: int | np.random.Generator | None = None,
        callback: Callable[[SoftmaxRegression, int], object] | None = None,
    ) -> None:
        self.l2 = l2
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.callback = callback

    # -- scikit-learn's parameter protocol --------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, object]:
        """The hyper-parameters, as a dict of name to value.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility; the model has no sub-estimators.

        Returns
        -------
        dict
            Every argument of ``__init__`` and its current value.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: object) -> SoftmaxRegression:
        """Set hyper-parameters by name; they are checked at the next ``fit``.

        Returns
        -------
        SoftmaxRegression
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a parameter of ``__init__``; nothing is set then.
        """
        valid = self._param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"Invalid parameter {unknown[0]!r} for estimator {type(self).__name__}. "
                f"Valid parameters are: {valid}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        shown = []
        for name, value in self.get_params().items():
            default = defaults[name].default
            try:
                same = value is default or bool(value == default) and type(value) is type(default)
            except (TypeError, ValueError):  # an array-like value, for instance
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        """scikit-learn's estimator tags: a classifier that needs y and dense 2-d float X.

        Only scikit-learn calls this method, so the scikit-learn import inside it never runs
        unless scikit-learn is already in use; importing softmax_pkg does not import it.
        """
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(),
        )

    # -- checks -----------------------------------------------------------------------------------

    def _checked_params(self) -> dict[str, object]:
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be 'gd' or 'sgd'; got {self.solver!r}")
        if isinstance(self.learning_rate, str):
            if self.learning_rate != "auto":
                raise ValueError(
                    f"learning_rate must be 'auto' or a number > 0; got {self.learning_rate!r}"
                )
            learning_rate = None
        else:
            learning_rate = check_positive_finite(self.learning_rate, "learning_rate")
        momentum = check_real(self.momentum, "momentum", low=0.0)
        if momentum >= 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum!r}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable or None; got {self.callback!r}")
        try:
            rng = np.random.default_rng(self.random_state)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "random_state must be None, a non-negative integer or a numpy.random.Generator; "
                f"got {self.random_state!r} ({exc})"
            ) from None
        return {
            "l2": check_real(self.l2, "l2", low=0.0),
            "learning_rate": learning_rate,
            "momentum": momentum,
            "batch_size": check_int(self.batch_size, "batch_size", 1),
            "tol": check_real(self.tol, "tol", low=0.0),
            "max_iter": check_int(self.max_iter, "max_iter", 1),
            "rng": rng,
        }

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise _not_fitted_error()(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first"
            )

    def _check_X(self, X: ArrayLike) -> np.ndarray:
        self._check_fitted()
        arr = _check_features(X)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return arr

    # -- training ---------------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> SoftmaxRegression:
        """Fit the weights and intercepts to training data, starting from zero.

        Parameters
        ----------
        X : array_like, shape (n, d)
            Finite real features.
        y : array_like, shape (n,)
            Class labels: any values that :func:`numpy.unique` can sort (integers, strings,
            whole-number floats), at least two distinct ones.

        Returns
        -------
        SoftmaxRegression
            ``self``, fitted.

        Raises
        ------
        TypeError, ValueError
            For a bad hyper-parameter (named in the message), X that is not 2-d or holds NaN or
            inf, y of another length than X, continuous or unsortable labels, or a single class.

        Warns
        -----
        ConvergenceWarning
            If ``tol > 0`` and the gradient norm is still above it after ``max_iter`` epochs.
        """
        params = self._checked_params()
        X = _check_features(X)
        y = _check_labels(y, X.shape[0])
        classes, index = _encode(y)
        if len(classes) < 2:
            raise ValueError(
                f"y contains only one class ({classes.tolist()[0]!r}); "
                f"{type(self).__name__} needs at least 2 classes"
            )
        for name in ("coef_", "intercept_", "n_iter_", "loss_curve_"):
            self.__dict__.pop(name, None)  # a failed refit must not leave the old model behind
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = 0
        self.loss_curve_ = []
        W = np.zeros((len(classes), X.shape[1]))
        b = np.zeros(len(classes))
        run = self._run_gd if self.solver == "gd" else self._run_sgd
        converged = run(W, b, X, index, params)
        if not converged and params["tol"] > 0:
            warnings.warn(
                f"{type(self).__name__} did not converge: the gradient norm is above "
                f"tol={params['tol']:g} after max_iter={params['max_iter']} epochs. Raise "
                "max_iter, or scale the features.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _end_epoch(self, W, b, value, grad, tol) -> bool:
        """Record an epoch; True when training should stop (converged, or told to by callback).

        ``value`` is the objective at (W, b); ``grad`` returns its gradient there (called only
        when ``tol`` > 0 asks for it).
        """
        self.coef_, self.intercept_ = W.copy(), b.copy()
        self.n_iter_ += 1
        if not np.isfinite(value):
            raise FloatingPointError(
                f"the objective became {value} at epoch {self.n_iter_}: the step is too large "
                f"(learning_rate={self.learning_rate!r})"
            )
        self.loss_curve_.append(value)
        stop = self.callback is not None and bool(self.callback(self, self.n_iter_))
        if tol > 0:
            gW, gb = grad()
            stop = stop or _norm(gW, gb) <= tol
        return stop

    def _run_gd(self, W, b, X, index, params) -> bool:
        """FISTA with two restarts, monotone: see the Notes of the class."""
        l2, tol = params["l2"], params["tol"]
        estimate, bound = _curvature(X, l2)
        if params["learning_rate"] is not None:
            estimate = bound = 1.0 / params["learning_rate"]
        L = estimate
        value = _objective(W, b, X, index, l2)
        gW, gb = _gradient(W, b, X, index, l2)
        yW, yb, hW, hb = W, b, gW, gb  # the extrapolated point and the gradient there
        t = 1.0
        for _ in range(params["max_iter"]):
            W_new, b_new = yW - hW / L, yb - hb / L
            Z = _linear(X, W_new, b_new)
            value_new = _objective(W_new, b_new, X, index, l2, Z)
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            if value_new > value:
                # The momentum overshot: take a plain gradient step from the current point
                # instead, which cannot raise the objective once L bounds the curvature (descent
                # lemma). L is an estimate, so check the lemma's decrease, doubling L until it
                # holds; it must hold by the time L reaches the safe bound.
                gnorm = _norm(gW, gb)
                slack = 8 * np.finfo(np.float64).eps * abs(value)  # rounding in the objective
                while True:
                    W_new, b_new = W - gW / L, b - gb / L
                    Z = _linear(X, W_new, b_new)
                    value_new = _objective(W_new, b_new, X, index, l2, Z)
                    decrease = 0.5 * (gnorm / np.sqrt(L)) * (gnorm / np.sqrt(L))
                    if value_new <= value - decrease + slack or L >= bound:
                        break
                    L = min(2.0 * L, bound)
                t = t_new = 1.0
            elif np.vdot(hW, W_new - W) + np.vdot(hb, b_new - b) > 0:
                t = t_new = 1.0  # the step went against the last gradient: drop the momentum
            beta = (t - 1.0) / t_new
            gW, gb = _gradient(W_new, b_new, X, index, l2, Z)
            yW, yb = W_new + beta * (W_new - W), b_new + beta * (b_new - b)
            W, b, value, t = W_new, b_new, value_new, t_new
            if self._end_epoch(W, b, value, lambda: (gW, gb), tol):
                return True
            hW, hb = (gW, gb) if beta == 0.0 else _gradient(yW, yb, X, index, l2)
        return False

    def _run_sgd(self, W, b, X, index, params) -> bool:
        l2, beta, rng, tol = params["l2"], params["momentum"], params["rng"], params["tol"]
        step = params["learning_rate"] or (1.0 - beta) / _curvature(X, l2)[0]
        n = X.shape[0]
        size = min(params["batch_size"], n)
        vW, vb = np.zeros_like(W), np.zeros_like(b)
        for _ in range(params["max_iter"]):
            order = rng.permutation(n)
            for start in range(0, n, size):
                batch = order[start : start + size]
                gW, gb = _gradient(W, b, X[batch], index[batch], l2)
                vW = beta * vW + gW
                vb = beta * vb + gb
                W = W - step * vW
                b = b - step * vb
            value = _objective(W, b, X, index, l2)
            if self._end_epoch(W, b, value, lambda: _gradient(W, b, X, index, l2), tol):
                return True
        return False

    # -- prediction -------------------------------------------------------------------------------

    def logits(self, X: ArrayLike) -> np.ndarray:
        """The logits :math:`X W^\\top + b`, shape (n, C), columns in ``classes_`` order.

        scikit-learn's classifiers call them ``decision_function``, but return a single column
        for two classes; this method always returns one column per class.

        Raises
        ------
        ValueError
            If the model is not fitted, or X is not finite, not 2-d, or has another number of
            features than in ``fit``.
        """
        X = self._check_X(X)
        return _linear(X, self.coef_, self.intercept_)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities :math:`S(W x + b)`, shape (n, C), columns in ``classes_`` order.

        Raises
        ------
        ValueError
            As :meth:`logits`.
        """
        return softmax(self.logits(X), axis=1)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log-probabilities, computed with :func:`log_softmax` (exact where probabilities
        underflow), shape (n, C).

        Raises
        ------
        ValueError
            As :meth:`logits`.
        """
        return log_softmax(self.logits(X), axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class label of each sample, shape (n,).

        Raises
        ------
        ValueError
            As :meth:`logits`.
        """
        logits = self.logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy: the fraction of samples whose predicted label equals ``y``.

        Raises
        ------
        ValueError
            As :meth:`logits`, or if ``y`` has another length than ``X``.
        """
        predicted = self.predict(X)
        y = _check_labels(y, len(predicted))
        return float(np.mean(predicted == y))

    # -- the objective, for checking --------------------------------------------------------------

    def _objective_args(self, X, y, coef, intercept):
        params = self._checked_params()
        X = _check_features(X)
        y = _check_labels(y, X.shape[0])
        if hasattr(self, "classes_"):
            classes = self.classes_
            index = np.searchsorted(classes, y)
            index = np.minimum(index, len(classes) - 1)
            unknown = classes[index] != y
            if np.any(unknown):
                label = y[unknown].tolist()[0]
                raise ValueError(f"y holds a label the model was not fitted on: {label!r}")
        else:
            classes, index = _encode(y)
        fitted = hasattr(self, "coef_")
        shape = (len(classes), X.shape[1])
        if coef is None:
            coef = self.coef_ if fitted else np.zeros(shape)
        if intercept is None:
            intercept = self.intercept_ if fitted else np.zeros(shape[0])
        W = as_real_array(coef, "coef").astype(np.float64, copy=False)
        b = as_real_array(intercept, "intercept").astype(np.float64, copy=False)
        if W.shape != shape or b.shape != shape[:1]:
            raise ValueError(
                f"coef and intercept must have shapes {shape} and {shape[:1]} "
                f"(classes x features); got {W.shape} and {b.shape}"
            )
        return W, b, X, index, params["l2"]

    def objective(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        coef: ArrayLike | None = None,
        intercept: ArrayLike | None = None,
    ) -> float:
        r"""The regularised objective :math:`f(W, b)` of the Notes on the data (X, y).

        Parameters
        ----------
        X : array_like, shape (n, d)
            Features.
        y : array_like, shape (n,)
            Labels; for a fitted model, each must be one of ``classes_``.
        coef, intercept : array_like, optional
            The point :math:`(W, b)`, shapes (C, d) and (C,). By default the fitted parameters,
            or, for a model that is not fitted, zero: the point where ``fit`` starts (its
            classes are then ``np.unique(y)``).

        Returns
        -------
        float
            :math:`f(W, b)`; for the fitted model and the training data it equals
            ``loss_curve_[-1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from softmax_pkg import SoftmaxRegression
        >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 2])
        >>> start = SoftmaxRegression().objective(X, y)  # at W = 0, b = 0
        >>> bool(np.isclose(start, np.log(3)))
        True
        """
        return _objective(*self._objective_args(X, y, coef, intercept))

    def objective_gradient(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        coef: ArrayLike | None = None,
        intercept: ArrayLike | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""The gradient of :meth:`objective` with respect to :math:`W` and :math:`b`.

        It is the gradient ``fit`` follows: :math:`\tfrac1n (S - Y)^\top X + \lambda W` and
        :math:`\tfrac1n (S - Y)^\top \mathbf{1}`, from :func:`cross_entropy_grad`.

        Parameters
        ----------
        X, y, coef, intercept
            As :meth:`objective`.

        Returns
        -------
        tuple of numpy.ndarray
            The gradients with respect to ``coef``, shape (C, d), and ``intercept``, shape (C,).

        Examples
        --------
        >>> import numpy as np
        >>> from softmax_pkg import SoftmaxRegression, numerical_gradient
        >>> X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, -1.0]])
        >>> y = np.array([0, 1, 1])
        >>> model = SoftmaxRegression(l2=0.1)
        >>> W, b = np.array([[0.5, -0.2], [0.1, 0.3]]), np.zeros(2)
        >>> grad_W, grad_b = model.objective_gradient(X, y, coef=W, intercept=b)
        >>> numeric = numerical_gradient(
        ...     lambda w: model.objective(X, y, coef=w, intercept=b), W)
        >>> bool(np.allclose(grad_W, numeric, atol=1e-9))
        True
        """
        return _gradient(*self._objective_args(X, y, coef, intercept))
