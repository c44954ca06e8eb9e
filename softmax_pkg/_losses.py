"""cross_entropy, its gradient, and one_hot.

Both target kinds (class indices, class probabilities) and every option (class weights,
ignore_index, label smoothing) reduce to one form. Each sample n gets non-negative coefficients
q[n, c] with total Q[n], and

    loss[n] = sum_c q[n, c] * (-log_softmax(z[n])_c)
            = sum_c q[n, c] * (max(z[n]) - z[n, c]) + Q[n] * log1p(rest[n])
    grad[n] = Q[n] * softmax(z[n]) - q[n]

Both terms of the loss are >= 0, so small losses keep their relative accuracy.
"""

from __future__ import annotations


import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import engine
from ._softmax import softmax
from ._validate import as_array, as_real_array, check_fraction, check_int, normalize_axis

__all__ = ["cross_entropy", "cross_entropy_grad", "one_hot"]

_REDUCTIONS = ("none", "sum", "mean")


class _Problem:
    """Validated arguments, with the class axis moved last and the batch flattened."""

    def __init__(self, logits, target, axis, weight, ignore_index, label_smoothing, reduction):
        z = as_real_array(logits, "logits")
        ax = normalize_axis(axis, z.ndim, array_name="logits")
        n_classes = z.shape[ax]
        if n_classes == 0:
            raise ValueError(f"logits has an empty class axis (axis={axis}, shape {z.shape})")
        if not isinstance(reduction, str):
            raise TypeError(
                f"reduction must be one of the strings 'none', 'sum' or 'mean'; got {reduction!r}"
            )
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be 'none', 'sum' or 'mean'; got {reduction!r}")
        self.eps = check_fraction(label_smoothing, "label_smoothing")
        self._label_weight = self._totals = None  # computed once, on first use
        self.reduction = reduction
        self.axis, self.n_classes, self.dtype = ax, n_classes, z.dtype
        self.batch_shape = z.shape[:ax] + z.shape[ax + 1 :]
        self.z = np.moveaxis(z, ax, -1).reshape(-1, n_classes)
        # Without weights every class weighs 1: multiplying by 1.0 is exact, so one code path.
        self.weight = self._check_weight(weight)
        # Label smoothing's share of q for every class: eps / C * w_c.
        self.smooth_q = self.eps / n_classes * self.weight
        self._check_target(target, z.shape, ignore_index)
        # Integer labels, none ignored, no weights, no smoothing: q is one-hot, Q = 1.
        self.plain = self.probs is None and self.all_valid and weight is None and not self.eps

    def _check_weight(self, weight):
        if weight is None:
            return np.ones(self.n_classes)
        w = as_real_array(weight, "weight")
        if w.shape != (self.n_classes,):
            raise ValueError(
                f"weight must be a 1-d array with one entry per class ({self.n_classes}); "
                f"got shape {w.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weight entries must be finite and >= 0")
        return w.astype(np.float64)

    def _check_target(self, target, logits_shape, ignore_index):
        t = as_array(target, "target")
        kind = t.dtype.kind
        if kind in "iu":
            if t.shape != self.batch_shape:
                raise ValueError(
                    "an integer target holds class indices and must have the shape of logits "
                    f"without the class axis, {self.batch_shape}; got {t.shape}"
                )
            if ignore_index is not None:
                ignore_index = check_int(ignore_index, "ignore_index")
            given = t.reshape(-1)
            name = "target class indices"
            valid, labels = _check_labels(given, self.n_classes, name, ignore_index)
            self.labels, self.valid, self.probs = labels, valid, None
            self.all_valid = ignore_index is None or bool(valid.all())
        elif kind == "f":
            if t.shape != tuple(logits_shape):
                hint = (
                    " (class indices need an integer dtype)" if t.shape == self.batch_shape else ""
                )
                raise ValueError(
                    "a floating-point target holds class probabilities and must have the shape "
                    f"of logits, {tuple(logits_shape)}; got {t.shape}{hint}"
                )
            p = np.moveaxis(t, self.axis, -1).reshape(-1, self.n_classes)
            if not np.all(np.isfinite(p)) or np.any(p < 0):
                raise ValueError("probability targets must be finite and >= 0")
            tol = float(np.sqrt(np.finfo(np.result_type(t.dtype, self.dtype)).eps))
            sums = p.sum(axis=1, dtype=np.float64)
            off = np.abs(sums - 1.0) > tol * max(1.0, np.sqrt(self.n_classes))
            if off.any():
                raise ValueError(
                    "probability targets must sum to 1 along the class axis "
                    f"(tolerance {tol:.1e}); a row sums to {sums[off][0]!r}"
                )
            if ignore_index is not None:
                raise ValueError(
                    "ignore_index applies only to integer class-index targets; "
                    "got probability targets (give ignored samples weight by other means)"
                )
            self.labels, self.valid, self.probs = None, np.ones(len(p), bool), p
            self.all_valid = True
        else:
            raise TypeError(
                "target must hold integer class indices or floating-point class probabilities; "
                f"got dtype {t.dtype}"
            )

    # -- the q coefficients ----------------------------------------------------------------------
    def q_rows(self, rows):
        """Dense q for ``rows`` (a slice or indices) of probability targets: w * smoothed t."""
        return (1.0 - self.eps) * self.probs[rows].astype(np.float64) * self.weight + self.smooth_q

    def label_weight(self):
        """w[y_n] for index targets (0 where ignored), and the labels with ignored ones at 0."""
        if self._label_weight is None:
            if self.all_valid:
                self._label_weight = self.weight[self.labels], self.labels
            else:
                labels = np.where(self.valid, self.labels, 0)
                self._label_weight = np.where(self.valid, self.weight[labels], 0.0), labels
        return self._label_weight

    def totals(self):
        """Q[n], the sum of q over classes, and the 'mean' denominator."""
        if self._totals is None:
            smooth_total = self.smooth_q.sum()
            if self.probs is not None:
                q = (1.0 - self.eps) * (self.probs.astype(np.float64) @ self.weight) + smooth_total
                self._totals = q, float(len(self.probs))
            else:
                wy, _ = self.label_weight()
                q = (1.0 - self.eps) * wy + np.where(self.valid, smooth_total, 0.0)
                self._totals = q, float(wy.sum())
        return self._totals

    def reduce(self, per_sample):
        if self.reduction == "none":
            return per_sample.reshape(self.batch_shape).astype(self.dtype, copy=False)
        total = float(per_sample.sum())
        if self.reduction == "mean":
            denom = self.totals()[1]
            total = total / denom if denom > 0 else 0.0
        return self.dtype.type(total)


def _rows_dot_gap(z, zmax, vec_or_rows):
    """sum_c v[c] * (zmax - z[c]) per row, v = vec_or_rows(a slice of rows); all terms are >= 0."""
    m, c = z.shape
    out = np.empty(m)
    step = max(1, engine.BLOCK // c)
    for i0 in range(0, m, step):
        i1 = min(i0 + step, m)
        gap = zmax[i0:i1, None] - z[i0:i1]
        v = vec_or_rows(slice(i0, i1))
        with np.errstate(invalid="ignore"):
            terms = gap * v
        terms[np.broadcast_to(v == 0, terms.shape)] = 0.0  # 0 log 0 = 0, also where z = -inf
        out[i0:i1] = terms.sum(axis=1)
    return out


def _per_sample_loss(prob: _Problem) -> np.ndarray:
    z = prob.z
    zmax, rest = engine.lse_parts(z)
    finite = np.isfinite(zmax)
    if prob.plain and finite.all():  # the common case, without the general bookkeeping
        loss = zmax - z[np.arange(len(z)), prob.labels]
        loss += rest
        return loss
    q_tot, _ = prob.totals()
    zmax_safe = np.where(finite, zmax, 0.0)
    if prob.probs is None:
        wy, labels = prob.label_weight()
        gap_y = zmax_safe - z[np.arange(len(labels)), labels]
        with np.errstate(invalid="ignore"):
            loss = (1.0 - prob.eps) * np.where(wy > 0, wy * gap_y, 0.0)
        if prob.eps:
            smooth = _rows_dot_gap(z, zmax_safe, lambda rows: prob.smooth_q[None, :])
            loss += np.where(prob.valid, smooth, 0.0)
    else:
        loss = _rows_dot_gap(z, zmax_safe, prob.q_rows)
    loss += q_tot * np.where(finite, rest, 0.0)
    if not finite.all():
        loss[~finite] = _nonfinite_loss(prob, np.flatnonzero(~finite))
    return loss


def _nonfinite_loss(prob: _Problem, rows: np.ndarray) -> np.ndarray:
    """Rows with a non-finite logit maximum: -sum_c q_c log_softmax_c with 0 log 0 = 0."""
    logp = engine.nonfinite_rows("log_softmax", prob.z[rows].astype(np.float64), None)
    q = _dense_q(prob, rows)
    with np.errstate(invalid="ignore"):
        terms = -q * logp
    terms[q == 0] = 0.0
    return terms.sum(axis=1)


def _dense_q(prob: _Problem, rows: np.ndarray) -> np.ndarray:
    if prob.probs is not None:
        return prob.q_rows(rows)
    wy, labels = prob.label_weight()
    q = np.where(prob.valid[rows, None], prob.smooth_q[None, :], 0.0)
    q[np.arange(len(rows)), labels[rows]] += (1.0 - prob.eps) * wy[rows]
    return q


_CE_DOC_PARAMS = """\
    Parameters
    ----------
    logits : array_like
        Unnormalised scores, any shape with a class axis; never probabilities.
    target : array_like
        Either integer class indices, with the shape of ``logits`` without the class axis, or
        floating-point class probabilities, with the shape of ``logits`` (each slice along the
        class axis non-negative and summing to 1). The dtype decides which.
    axis : int, default -1
        The class axis of ``logits`` (PyTorch's is 1; pass ``axis=1`` for its layout).
    weight : array_like, optional
        A non-negative weight per class, multiplying each class's terms.
    ignore_index : int, optional
        A class index whose samples contribute nothing. Index targets only: with probability
        targets it is an error (PyTorch raises too, except for its default -100).
    label_smoothing : float, default 0.0
        In [0, 1]: the target becomes ``(1 - label_smoothing) * target + label_smoothing / C``.
    reduction : {"mean", "sum", "none"}, default "mean"
        "none" keeps one loss per sample; "sum" adds them; "mean" divides the sum by the total
        weight of the non-ignored samples (index targets; their count without ``weight``) or by
        the number of samples (probability targets), exactly as PyTorch does."""


def _doc(func):
    func.__doc__ = func.__doc__.replace("{PARAMS}", _CE_DOC_PARAMS)
    return func


@_doc
def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Cross-entropy between a target distribution and ``softmax(logits)``, from the logits.

{PARAMS}

    Returns
    -------
    numpy.ndarray
        A 0-d array for "mean" and "sum"; the batch shape for "none". The dtype of ``logits``
        (float64 for integer logits).

    Raises
    ------
    TypeError
        If ``logits`` or ``weight`` is not real and numeric, ``target`` is neither integer
        nor floating point, ``reduction`` is not a string, or an array argument is a masked
        array with masked entries or a torch tensor that requires grad (pass ``.detach()``).
    ValueError
        If a shape does not fit, a class index is out of range, probability targets are
        negative or do not sum to 1, ``label_smoothing`` is outside [0, 1], ``weight`` has the
        wrong length or a negative entry, or ``reduction`` is unknown.

    Notes
    -----
    For one sample with logits :math:`z \in \mathbb{R}^C`, target distribution :math:`t`
    (one-hot for a class index :math:`y`) and class weights :math:`w`,

    .. math::

        \ell = -\sum_{c=1}^{C} w_c\, t_c \log S_c(z)
             = \sum_c w_c\, t_c \big(\operatorname{LSE}(z) - z_c\big).

    It is computed from the logits with log-sum-exp, never as ``log(softmax(z))``, which
    overflows, loses all digits of small losses, and returns ``-inf`` for tiny probabilities.
    **Differences from PyTorch.** For finite logits and valid arguments every value (and every
    gradient of :func:`cross_entropy_grad`) matches ``torch.nn.functional.cross_entropy`` with
    the class axis moved to position 1. These differences are deliberate:

    * A ``+inf`` logit gives the limit, as :func:`log_softmax` does: at the target class, loss
      0 and gradient 0; at another class, loss ``+inf`` and the limit of the gradient,
      :math:`Q S - q` with :math:`S` one-hot at the ``+inf`` (shared equally between several
      ``+inf``). PyTorch returns NaN for both loss and gradient.
    * A zero target probability at a ``-inf`` logit contributes 0 (:math:`0 \log 0 = 0`);
      PyTorch's loss is NaN there (its gradient agrees with ours).
    * A "mean" with nothing to average (every target ignored, zero total weight, or an empty
      batch) is 0.0 with a zero gradient; PyTorch returns NaN.
    * Arguments PyTorch accepts are errors here: probability targets that are negative or do
      not sum to 1, negative class weights, and ``ignore_index`` with probability targets
      (even PyTorch's default -100, which it silently ignores there).
    * Class indices may have any integer dtype (PyTorch needs int64), including uint64 values
      above the int64 range, which are reported as given, never wrapped around; the class axis
      may be anywhere (``axis``).

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import cross_entropy
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> round(float(cross_entropy(logits, np.array([0, 2]))), 4)
    0.1755
    >>> cross_entropy(logits, np.array([0, 2]), reduction="none").round(4)
    array([0.2413, 0.1096])

    Probability targets, and a confident correct prediction that ``log(softmax)`` rounds to 0:

    >>> round(float(cross_entropy(logits, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))), 4)
    0.5505
    >>> float(cross_entropy(np.array([40.0, 0.0]), np.array(0)))
    4.248354255291589e-18
    """
    prob = _Problem(logits, target, axis, weight, ignore_index, label_smoothing, reduction)
    with np.errstate(over="ignore"):  # max(z) - z_y beyond 1.8e308: the loss is inf, rightly
        return prob.reduce(_per_sample_loss(prob))


@_doc
def cross_entropy_grad(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

{PARAMS}

    Returns
    -------
    numpy.ndarray
        :math:`\partial \text{loss} / \partial \text{logits}`, shaped like ``logits``. For
        ``reduction="none"`` it is the gradient of the sum of the per-sample losses.

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy`.

    Notes
    -----
    For one sample the loss is :math:`\ell = \sum_c q_c (\operatorname{LSE}(z) - z_c)` with
    :math:`q_c = w_c t_c` and :math:`Q = \sum_c q_c`, so

    .. math::

        \frac{\partial \ell}{\partial z} = Q\, S(z) - q ,

    which for a one-hot target without weights is the familiar :math:`S(z) - y`. "mean" divides
    by the same denominator as the loss; ignored samples get a zero gradient. Where it differs
    from PyTorch's gradient (``+inf`` logits, nothing to average), see :func:`cross_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import cross_entropy_grad, softmax, one_hot
    >>> z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> y = np.array([0, 2])
    >>> g = cross_entropy_grad(z, y, reduction="sum")
    >>> bool(np.allclose(g, softmax(z) - one_hot(y, 3)))
    True
    >>> bool(np.all(np.abs(g.sum(axis=-1)) < 1e-15))  # each row of S - y sums to 0
    True
    """
    prob = _Problem(logits, target, axis, weight, ignore_index, label_smoothing, reduction)
    z = prob.z
    p = softmax(z.astype(np.float64, copy=False), axis=1)
    q_tot, denom = prob.totals()
    grad = p * q_tot[:, None]
    if prob.probs is None:
        wy, labels = prob.label_weight()
        if prob.eps:
            grad -= np.where(prob.valid[:, None], prob.smooth_q[None, :], 0.0)
        grad[np.arange(len(labels)), labels] -= (1.0 - prob.eps) * wy
    else:
        step = max(1, engine.BLOCK // prob.n_classes)
        for i0 in range(0, len(grad), step):
            i1 = min(i0 + step, len(grad))
            grad[i0:i1] -= prob.q_rows(slice(i0, i1))
    if prob.reduction == "mean":
        grad *= 1.0 / denom if denom > 0 else 0.0
    out = np.moveaxis(grad.reshape(prob.batch_shape + (prob.n_classes,)), -1, prob.axis)
    return out.astype(prob.dtype, copy=False)


def one_hot(labels: ArrayLike, num_classes: int, *, dtype: DTypeLike = np.float64) -> np.ndarray:
    """One-hot encode integer class labels.

    Parameters
    ----------
    labels : array_like of int
        Class indices in ``[0, num_classes)``, any shape and any integer dtype.
    num_classes : int
        The number of classes, C >= 1.
    dtype : dtype, default float64
        The dtype of the result.

    Returns
    -------
    numpy.ndarray
        Shape ``labels.shape + (num_classes,)``, with 1 at each label's index and 0 elsewhere.

    Raises
    ------
    TypeError
        If ``labels`` is not integer (or is a masked array with masked entries),
        ``num_classes`` is not an integer, or ``dtype`` is not a boolean or numeric dtype.
    ValueError
        If ``num_classes`` < 1 or a label is outside ``[0, num_classes)``.

    Examples
    --------
    >>> from softmax_pkg import one_hot
    >>> one_hot([0, 2, 1], 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    num_classes = check_int(num_classes, "num_classes", 1)
    lab = as_array(labels, "labels")
    if lab.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices; got dtype {lab.dtype}")
    out_dtype = _check_dtype(dtype)
    _, index = _check_labels(lab.reshape(-1), num_classes, "labels", None)
    out = np.zeros((index.size, num_classes), dtype=out_dtype)
    out[np.arange(index.size), index] = 1
    return out.reshape(lab.shape + (num_classes,))


def _check_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        out = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"dtype must be a NumPy numeric dtype; got {dtype!r} ({exc})") from None
    if out.kind not in "biufc":
        raise TypeError(
            f"dtype must be a boolean, integer, floating-point or complex dtype; got {out}"
        )
    return out


def _check_labels(given, n_classes, name, ignore_index):
    """Class indices of any integer dtype, checked in that dtype (never cast first: uint64
    values above the int64 range would wrap around, possibly onto ``ignore_index``).

    Returns the mask of the labels that count and the labels as intp, 0 where ignored.
    """
    info = np.iinfo(given.dtype)
    valid = np.ones(given.shape, bool)
    if ignore_index is not None and info.min <= ignore_index <= info.max:
        valid = given != given.dtype.type(ignore_index)  # compared in the labels' own dtype
    too_big = given >= given.dtype.type(n_classes) if n_classes <= info.max else False
    bad = valid & ((given < 0) | too_big)
    if bad.any():
        raise ValueError(
            f"{name} must be in [0, {n_classes})"
            + ("" if ignore_index is None else f" or equal ignore_index={ignore_index}")
            + f"; got {given[bad][0]!s}"
        )
    return valid, np.where(valid, given, 0).astype(np.intp)
