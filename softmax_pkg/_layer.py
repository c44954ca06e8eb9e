"""The softmax layer S = softmax(W x + b) and its Jacobian with respect to the weights."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._jacobian import softmax_jacobian
from ._softmax import softmax
from ._validate import as_real_array

__all__ = ["softmax_layer", "softmax_layer_jacobian"]


def _check_layer(x, W, b, single):
    x = as_real_array(x, "x")
    W = as_real_array(W, "W")
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-d (N, D) matrix of weights; got shape {W.shape}")
    n_classes, d = W.shape
    if n_classes == 0:
        raise ValueError(
            f"W must have at least one row (one per class, N >= 1); got shape {W.shape}"
        )
    if single and x.shape != (d,):
        raise ValueError(f"x must be one input vector of length D = W.shape[1] = {d}; got shape {x.shape}")
    if not single and (x.ndim == 0 or x.shape[-1] != d):
        raise ValueError(f"x must have D = W.shape[1] = {d} features on its last axis; got shape {x.shape}")
    if b is not None:
        b = as_real_array(b, "b")
        if b.shape != (n_classes,):
            raise ValueError(
                f"b must have shape (N,) = ({n_classes},), one bias per class; got {b.shape}"
            )
    return x, W, b


def softmax_layer(x: ArrayLike, W: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    r"""A fully connected layer followed by softmax: :math:`S(Wx + b)`.

    Parameters
    ----------
    x : array_like
        Inputs with D features on the last axis, shape ``(..., D)``; leading axes are a batch.
    W : array_like
        Weights, shape ``(N, D)``: row k maps the input to the logit of class k.
    b : array_like, optional
        Biases, shape ``(N,)``.

    Returns
    -------
    numpy.ndarray
        Probabilities, shape ``(..., N)``.

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the shapes do not fit together, or ``W`` has no rows.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax_layer
    >>> W = np.array([[2.0, 3.0, 4.0], [3.0, 5.0, -1.0]])
    >>> softmax_layer(np.array([0.1, -0.2, 0.3]), W).round(4)
    array([0.8581, 0.1419])
    >>> softmax_layer(np.ones((5, 3)), W, b=np.array([0.0, 1.0])).shape
    (5, 2)
    """
    x, W, b = _check_layer(x, W, b, single=False)
    logits = x @ W.T
    if b is not None:
        logits = logits + b
    return softmax(logits, axis=-1)


def softmax_layer_jacobian(x: ArrayLike, W: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    r"""Jacobian of the softmax layer's output with respect to W, flattened row-major.

    A teaching tool: it builds the full :math:`N \times ND` matrix as the product of the
    softmax Jacobian and the Jacobian of the logits :math:`a(W) = Wx + b`, exactly as the chain
    rule is written on paper, so clarity beats speed. To train, never form it: the gradient of a
    loss is the vector-Jacobian product :math:`(S - y)\,x^\top`, see :func:`cross_entropy_grad`.

    Parameters
    ----------
    x : array_like
        One input vector, shape ``(D,)``.
    W : array_like
        Weights, shape ``(N, D)``.
    b : array_like, optional
        Biases, shape ``(N,)``; they move the logits but add no columns.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, N * D)``: entry ``[i, k * D + d]`` is :math:`\partial S_i / \partial W_{kd}`
        (row-major order of W).

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the shapes do not fit together (``x`` must be a single vector), or ``W`` has no
        rows.

    Notes
    -----
    With :math:`S = S(a)` and :math:`a = Wx + b`, the logits have
    :math:`\partial a_l / \partial W_{kd} = \delta_{lk} x_d` (the rows of
    :math:`I_N \otimes x^\top`), and the chain rule gives

    .. math::

        \frac{\partial S_i}{\partial W_{kd}}
        = \sum_l \frac{\partial S_i}{\partial a_l}\,\frac{\partial a_l}{\partial W_{kd}}
        = S_i(\delta_{ik} - S_k)\,x_d .

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax_layer_jacobian
    >>> W = np.array([[2.0, 3.0, 4.0], [3.0, 5.0, -1.0]])
    >>> J = softmax_layer_jacobian(np.array([0.1, -0.2, 0.3]), W)
    >>> J.shape
    (2, 6)
    >>> J.round(4)
    array([[ 0.0122, -0.0243,  0.0365, -0.0122,  0.0243, -0.0365],
           [-0.0122,  0.0243, -0.0365,  0.0122, -0.0243,  0.0365]])
    """
    x, W, b = _check_layer(x, W, b, single=True)
    n_classes = W.shape[0]
    logits = W @ x if b is None else W @ x + b
    d_softmax = softmax_jacobian(logits)  # (N, N): row = output, column = logit
    d_logits = np.kron(np.eye(n_classes), x[None, :])  # (N, N*D): d a_l / d W_kd = delta_lk x_d
    return d_softmax @ d_logits
