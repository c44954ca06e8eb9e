"""The softmax layer P = softmax(W x + b) and its Jacobian with respect to the weights."""

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
        raise ValueError(f"W must be a 2-d (T, N) matrix of weights; got shape {W.shape}")
    t, n = W.shape
    if t == 0:
        raise ValueError(
            f"W must have at least one row (one per output class, T >= 1); got shape {W.shape}"
        )
    if single and x.shape != (n,):
        raise ValueError(f"x must be one input vector of length N = W.shape[1] = {n}; got shape {x.shape}")
    if not single and (x.ndim == 0 or x.shape[-1] != n):
        raise ValueError(f"x must have N = W.shape[1] = {n} features on its last axis; got shape {x.shape}")
    if b is not None:
        b = as_real_array(b, "b")
        if b.shape != (t,):
            raise ValueError(f"b must have shape (T,) = ({t},), one bias per output; got {b.shape}")
    return x, W, b


def softmax_layer(x: ArrayLike, W: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    r"""A fully connected layer followed by softmax: :math:`P = S(Wx + b)`.

    Parameters
    ----------
    x : array_like
        Inputs with N features on the last axis, shape ``(..., N)``; leading axes are a batch.
    W : array_like
        Weights, shape ``(T, N)``: row t maps the input to the logit of class t.
    b : array_like, optional
        Biases, shape ``(T,)``.

    Returns
    -------
    numpy.ndarray
        Probabilities, shape ``(..., T)``.

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

    A teaching tool: it builds the full :math:`T \times TN` matrix as the product of the
    softmax Jacobian and the Jacobian of :math:`g(W) = Wx`, exactly as the chain rule is written
    on paper, so clarity beats speed. To train, never form it: the gradient of a loss is the
    vector-Jacobian product :math:`(S - y)\,x^\top`, see :func:`cross_entropy_grad`.

    Parameters
    ----------
    x : array_like
        One input vector, shape ``(N,)``.
    W : array_like
        Weights, shape ``(T, N)``.
    b : array_like, optional
        Biases, shape ``(T,)``; they move the logits but add no columns.

    Returns
    -------
    numpy.ndarray
        Shape ``(T, T * N)``: entry ``[t, i * N + j]`` is :math:`\partial P_t / \partial W_{ij}`.

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the shapes do not fit together (``x`` must be a single vector), or ``W`` has no
        rows.

    Notes
    -----
    With :math:`S = S(Wx + b)`, the Jacobian of :math:`g` has
    :math:`\partial g_t / \partial W_{ij} = \delta_{ti} x_j` (the rows of
    :math:`I_T \otimes x^\top`), and the chain rule gives

    .. math::

        \frac{\partial P_t}{\partial W_{ij}}
        = \sum_k \frac{\partial S_t}{\partial g_k}\,\frac{\partial g_k}{\partial W_{ij}}
        = S_t(\delta_{ti} - S_i)\,x_j .

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
    t, n = W.shape
    logits = W @ x if b is None else W @ x + b
    d_softmax = softmax_jacobian(logits)  # (T, T): row = output, column = logit
    d_logits = np.kron(np.eye(t), x[None, :])  # (T, T*N): d g_k / d W_ij = delta_ki x_j
    return d_softmax @ d_logits
