"""The softmax Jacobian and its products with vectors.

Convention (the one the book uses throughout): row i is output i, column j is input j,

    J[..., i, j] = dS_i / dx_j = S_i (delta_ij - S_j),   J = diag(S) - S S^T.

J is symmetric, so J^T g = J g, and both products cost O(N) per row: S * (v - <S, v>).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._softmax import softmax
from ._validate import as_real_array, check_same_shape, normalize_axis

__all__ = ["softmax_jacobian", "softmax_jvp", "softmax_vjp"]


def softmax_jacobian(x: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""The Jacobian of softmax at logits ``x``: ``J[..., i, j] = dS_i/dx_j``.

    Parameters
    ----------
    x : array_like
        Logits, any shape with at least one dimension.
    axis : int, default -1
        The class axis, of length N.

    Returns
    -------
    numpy.ndarray
        Shape ``x.shape`` without ``axis``, followed by ``(N, N)``: the two Jacobian axes are
        appended last. Row ``i`` is output ``i``, column ``j`` is input ``j``.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`.

    Notes
    -----
    .. math::

        J_{ij} = \frac{\partial S_i}{\partial x_j} = S_i(\delta_{ij} - S_j),
        \qquad J = \operatorname{diag}(S) - S S^\top .

    The diagonal :math:`S_i(1 - S_i)` takes :math:`1 - S_i` as the sum of the other
    probabilities where :math:`S_i > 1/2`, so it keeps full relative accuracy even when
    :math:`S_i` is within an ulp of 1. Forming J costs O(N^2); to multiply by J, use
    :func:`softmax_jvp` or :func:`softmax_vjp`, which cost O(N).

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax_jacobian
    >>> J = softmax_jacobian([1.0, 2.0, 3.0])
    >>> J.round(4)
    array([[ 0.0819, -0.022 , -0.0599],
           [-0.022 ,  0.1848, -0.1628],
           [-0.0599, -0.1628,  0.2227]])
    >>> bool(np.allclose(J, J.T)), bool(np.allclose(J.sum(axis=1), 0))
    (True, True)
    """
    arr = as_real_array(x, "x")
    ax = normalize_axis(axis, arr.ndim)
    s = np.moveaxis(softmax(arr, ax), ax, -1)
    jac = -s[..., :, None] * s[..., None, :]
    complement = 1.0 - s
    # Where S_i > 1/2 (at most one entry per row), 1 - S_i cancels; the sum of the others does not.
    s2, c2 = s.reshape(-1, s.shape[-1]), complement.reshape(-1, s.shape[-1])
    rows, cols = np.nonzero(s2 > 0.5)
    if rows.size:
        others = s2[rows].copy()
        others[np.arange(rows.size), cols] = 0.0
        c2[rows, cols] = others.sum(axis=-1)
    diag = np.einsum("...ii->...i", jac)
    diag[...] = s * complement
    return jac


def _jvp(x, v, axis, name):
    arr = as_real_array(x, "x")
    ax = normalize_axis(axis, arr.ndim)
    vec = as_real_array(v, name)
    check_same_shape(vec, arr.shape, name)
    s = softmax(arr, ax)
    mean = np.sum(s * vec, axis=ax, keepdims=True)
    return s * (vec - mean)


def softmax_jvp(x: ArrayLike, v: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Jacobian-vector product :math:`J v` of softmax at ``x``, in O(N) without forming J.

    Parameters
    ----------
    x : array_like
        Logits.
    v : array_like
        A tangent vector per row, the same shape as ``x``.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        :math:`J v = S \odot (v - \langle S, v\rangle)`, the same shape as ``x``.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`, or if ``v`` does not have the shape of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax_jacobian, softmax_jvp
    >>> x, v = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0])
    >>> bool(np.allclose(softmax_jvp(x, v), softmax_jacobian(x) @ v))
    True
    """
    return _jvp(x, v, axis, "v")


def softmax_vjp(x: ArrayLike, g: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Vector-Jacobian product :math:`J^\top g` of softmax at ``x``: backpropagation.

    Parameters
    ----------
    x : array_like
        Logits.
    g : array_like
        The gradient of a scalar loss with respect to the softmax output, shaped like ``x``.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        The gradient with respect to ``x``: :math:`J^\top g = S \odot (g - \langle S, g\rangle)`
        (J is symmetric, so this equals :math:`J g`). O(N) per row.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`, or if ``g`` does not have the shape of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax_jacobian, softmax_vjp
    >>> x, g = np.array([[0.5, -1.0, 2.0]]), np.array([[0.0, 1.0, 0.0]])
    >>> bool(np.allclose(softmax_vjp(x, g), g @ softmax_jacobian(x)))
    True
    """
    return _jvp(x, g, axis, "g")
