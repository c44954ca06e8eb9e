"""Scaled dot-product attention, its gradient, and the block-wise form behind FlashAttention.

The attention weights are a softmax over the key axis, so this module is a thin layer over
:func:`softmax_pkg.softmax`: the mask is the softmax's ``where`` and the backward pass is the
softmax VJP of the book's chapter 3. Shapes follow the book's notation:

- ``Q``: queries, shape ``(..., T_q, d)``;
- ``K``: keys, shape ``(..., T_k, d)``;
- ``V``: values, shape ``(..., T_k, d_v)``;
- ``mask``: boolean, broadcastable to ``(..., T_q, T_k)``, True where query i may attend to
  key j (the convention of ``where`` and of PyTorch's boolean ``attn_mask``).

Leading axes (batch, heads) broadcast as in :func:`numpy.matmul`. A query whose every key is
masked gets weights 0 and output 0 (the ``where`` row of the edge-case table of
:func:`softmax_pkg.softmax`), and a gradient of 0: no NaN enters the backward pass.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ._softmax import softmax
from ._validate import as_real_array, check_int, check_positive_finite, check_where

__all__ = [
    "attention_weights",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_vjp",
    "blockwise_attention",
    "causal_mask",
]


def _array(x, name):
    """A real, finite array of at least two dimensions (tokens, features)."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array; attention takes its mask as the boolean argument `mask` "
            f"(True = attend). Pass np.ma.getdata({name}) to use the data as it is."
        )
    arr = as_real_array(x, name)
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (tokens, features); got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it holds NaN or inf")
    return arr


def _check(Q, K, V=None):
    Q, K = _array(Q, "Q"), _array(K, "K")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(
            f"Q and K must have the same last dimension d; got {Q.shape[-1]} and {K.shape[-1]}"
        )
    if Q.shape[-1] == 0 or K.shape[-2] == 0:
        raise ValueError(
            f"Q and K need d >= 1 features and K at least one key; got Q {Q.shape}, K {K.shape}"
        )
    if V is None:
        return Q, K, None
    V = _array(V, "V")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError(
            f"V must have shape (..., T_k, d_v) with T_k = {K.shape[-2]} (the keys); "
            f"got {V.shape}"
        )
    return Q, K, V


def _scale(scale, d):
    # A Python float, so that float32 and float16 scores keep their dtype.
    return 1.0 / math.sqrt(d) if scale is None else check_positive_finite(scale, "scale")


def _mask(mask, shape):
    if isinstance(mask, np.ma.MaskedArray):
        raise TypeError("mask must be a plain boolean array, not a masked array")
    return check_where(mask, shape, name="mask", ref="the scores (..., T_q, T_k)")


def _scores(Q, K, s):
    """``Q K^T s``, or a ValueError if finite inputs give scores beyond the dtype's range."""
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (Q @ np.swapaxes(K, -1, -2)) * s
    if not np.all(np.isfinite(Z)):
        raise ValueError(
            f"the scores Q K^T * scale overflow {Z.dtype} (|score| > {np.finfo(Z.dtype).max:.3g}); "
            "scale Q and K down or pass a wider dtype"
        )
    return Z


def _scores_shape(Q, K):
    batch = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    return (*batch, Q.shape[-2], K.shape[-2])


def _weights(Q, K, mask, s):
    """The weights of checked Q and K: softmax of the scores over the keys, masked by ``where``."""
    where = _mask(mask, _scores_shape(Q, K))
    return softmax(_scores(Q, K, s), axis=-1, where=where)


def attention_weights(
    Q: ArrayLike, K: ArrayLike, *, mask: ArrayLike | None = None, scale: float | None = None
) -> np.ndarray:
    r"""The attention weights :math:`A = \mathrm{softmax}(Q K^\top s)`, row by row over the keys.

    Parameters
    ----------
    Q : array_like, shape (..., T_q, d)
        Queries.
    K : array_like, shape (..., T_k, d)
        Keys.
    mask : array_like of bool, optional
        Broadcastable to ``(..., T_q, T_k)``; True where query i may attend to key j.
    scale : float, optional
        The factor :math:`s` of the scores; :math:`1/\sqrt{d}` by default. Finite and > 0.

    Returns
    -------
    numpy.ndarray, shape (..., T_q, T_k)
        Each row sums to 1 over its unmasked keys; a row whose every key is masked is 0. The
        dtype of the scores (float32 stays float32; integers become float64).

    Raises
    ------
    TypeError
        If ``Q`` or ``K`` is not real (or is a masked array), ``mask`` is not boolean, or
        ``scale`` is not a real number.
    ValueError
        If ``Q`` or ``K`` has fewer than 2 dimensions, no feature, or a NaN or inf; ``K`` has no
        key; the last dimensions differ; ``mask`` does not broadcast to ``(..., T_q, T_k)``;
        ``scale`` is not finite and > 0; or the scores overflow the dtype.

    Notes
    -----
    With :math:`Z = Q K^\top s`, row :math:`i` of the result is
    :math:`A_{i\cdot} = S(Z_{i\cdot})`, the softmax over the keys; ``mask`` is passed to
    :func:`softmax_pkg.softmax` as ``where``, so masked keys get weight 0 exactly as a score of
    :math:`-\infty` would, except in a row with no key left, which is 0 rather than NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.attention import attention_weights, causal_mask
    >>> A = attention_weights(np.ones((3, 2)), np.ones((3, 2)), mask=causal_mask(3))
    >>> A.round(3)
    array([[1.   , 0.   , 0.   ],
           [0.5  , 0.5  , 0.   ],
           [0.333, 0.333, 0.333]])
    """
    Q, K, _ = _check(Q, K)
    return _weights(Q, K, mask, _scale(scale, Q.shape[-1]))


def scaled_dot_product_attention(
    Q: ArrayLike,
    K: ArrayLike,
    V: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    scale: float | None = None,
) -> np.ndarray:
    r"""Scaled dot-product attention, :math:`\mathrm{softmax}(Q K^\top / \sqrt{d})\, V`.

    Parameters
    ----------
    Q : array_like, shape (..., T_q, d)
        Queries.
    K : array_like, shape (..., T_k, d)
        Keys.
    V : array_like, shape (..., T_k, d_v)
        Values, one row per key.
    mask : array_like of bool, optional
        Broadcastable to ``(..., T_q, T_k)``; True where query i may attend to key j. Masked
        keys get weight 0 (as a logit of -inf would), and a query with no key left gets
        output 0.
    scale : float, optional
        The factor of the scores; :math:`1/\sqrt{d}` by default (Vaswani et al., 2017).

    Returns
    -------
    numpy.ndarray, shape (..., T_q, d_v)
        Row i is the average of the rows of ``V`` under the weights of query i.

    Raises
    ------
    TypeError, ValueError
        As for :func:`attention_weights`, and for ``V`` as for ``Q``; ``V`` must have ``T_k``
        rows.

    Notes
    -----
    With :math:`Z = Q K^\top s` and :math:`A = \mathrm{softmax}(Z)` over each row,
    the output is :math:`O = A V`. For unit-variance independent entries, a score
    :math:`q \cdot k` has variance :math:`d`; the factor :math:`s = 1/\sqrt{d}` brings it back
    to 1, so the softmax does not saturate as :math:`d` grows.

    References
    ----------
    A. Vaswani et al., "Attention is all you need", NeurIPS 2017. https://arxiv.org/abs/1706.03762

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.attention import scaled_dot_product_attention
    >>> Q = K = np.eye(2)
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> scaled_dot_product_attention(Q, K, V, scale=1.0).round(4)  # each query favours its key
    array([[0.7311, 0.2689],
           [0.2689, 0.7311]])
    """
    Q, K, V = _check(Q, K, V)
    return _weights(Q, K, mask, _scale(scale, Q.shape[-1])) @ V


def scaled_dot_product_attention_vjp(
    Q: ArrayLike,
    K: ArrayLike,
    V: ArrayLike,
    G: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The gradients of :math:`\langle G, O \rangle` for :math:`O` = attention(Q, K, V).

    Parameters
    ----------
    Q, K, V, mask, scale
        As for :func:`scaled_dot_product_attention`.
    G : array_like, shape (..., T_q, d_v)
        The gradient of the loss with respect to the output :math:`O`.

    Returns
    -------
    dQ, dK, dV : numpy.ndarray
        Shaped like ``Q``, ``K`` and ``V``; an input that was broadcast over leading (batch,
        head) axes gets its gradient summed over them.

    Notes
    -----
    Backwards through :math:`O = A V`, :math:`A = \mathrm{softmax}(Z)`, :math:`Z = Q K^\top s`:

    .. math::

        dV = A^\top G, \quad dA = G V^\top, \quad
        dZ = A \odot \bigl(dA - \textstyle\sum_j A_{ij}\, dA_{ij}\bigr), \quad
        dQ = s\, dZ\, K, \quad dK = s\, dZ^\top Q .

    The middle step is the softmax VJP :math:`J^\top g = S \odot (g - \langle S, g \rangle)`
    of each row, written with the weights :math:`A` already computed. A masked key has
    :math:`A_{ij} = 0`, so it gets no gradient, and a fully masked row gives 0, not NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.attention import scaled_dot_product_attention_vjp
    >>> dQ, dK, dV = scaled_dot_product_attention_vjp(
    ...     np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 5)), np.ones((2, 5)))
    >>> dQ.shape, dK.shape, dV.shape
    ((2, 3), (4, 3), (4, 5))
    """
    Q, K, V = _check(Q, K, V)
    G = _array(G, "G")
    s = _scale(scale, Q.shape[-1])
    A = _weights(Q, K, mask, s)
    expected = np.broadcast_shapes(A.shape[:-1], V.shape[:-2] + (1,)) + (V.shape[-1],)
    if G.shape != expected:
        raise ValueError(f"G must have the shape of the output, {expected}; got {G.shape}")
    dV = np.swapaxes(A, -1, -2) @ G
    dA = G @ np.swapaxes(V, -1, -2)
    dZ = A * (dA - (A * dA).sum(axis=-1, keepdims=True))
    dQ = s * (dZ @ K)
    dK = s * (np.swapaxes(dZ, -1, -2) @ Q)
    return _unbroadcast(dQ, Q.shape), _unbroadcast(dK, K.shape), _unbroadcast(dV, V.shape)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient over the leading axes that broadcasting added to an input of ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def blockwise_attention(
    Q: ArrayLike,
    K: ArrayLike,
    V: ArrayLike,
    *,
    block: int = 64,
    mask: ArrayLike | None = None,
    scale: float | None = None,
) -> np.ndarray:
    r"""The same output as :func:`scaled_dot_product_attention`, one block of keys at a time.

    Only a ``(T_q, block)`` piece of the scores exists at any moment. Each row keeps a running
    maximum ``m``, a running sum ``total`` of ``exp(z - m)`` and a running output ``acc``; when a
    block raises the maximum, the old sum and output are rescaled by ``exp(m_old - m_new)``,
    as in the online softmax of chapter 7 (Milakov and Gimelshein, 2018). This is the
    recurrence at the core of FlashAttention (Dao et al., 2022), which runs it in on-chip
    memory; here it is plain NumPy, written to be read.

    Parameters
    ----------
    Q, K, V, mask, scale
        As for :func:`scaled_dot_product_attention`; ``Q``, ``K``, ``V`` two-dimensional.
    block : int, default 64
        Keys per block, >= 1.

    Returns
    -------
    numpy.ndarray, shape (T_q, d_v)
        Computed in float64, returned in the dtype of the inputs.

    Notes
    -----
    For a block of scores :math:`z_j` with values :math:`v_j`, each row updates

    .. math::

        m' = \max\bigl(m, \max_j z_j\bigr), \quad
        \ell' = e^{m - m'} \ell + \sum_j e^{z_j - m'}, \quad
        o' = e^{m - m'} o + \sum_j e^{z_j - m'} v_j ,

    from :math:`m = -\infty`, :math:`\ell = 0`, :math:`o = 0`, and returns :math:`o / \ell`
    (0 for a row with no unmasked key). FlashAttention divides by :math:`\ell` at every block;
    dividing once at the end gives the same result.

    References
    ----------
    T. Dao, D. Y. Fu, S. Ermon, A. Rudra and C. Ré, "FlashAttention: fast and memory-efficient
    exact attention with IO-awareness", NeurIPS 2022. https://arxiv.org/abs/2205.14135

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.attention import blockwise_attention, scaled_dot_product_attention
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.normal(size=(5, 4)), rng.normal(size=(9, 4)), rng.normal(size=(9, 3))
    >>> bool(np.allclose(blockwise_attention(Q, K, V, block=2),
    ...                  scaled_dot_product_attention(Q, K, V)))
    True
    """
    Q, K, V = _check(Q, K, V)
    if Q.ndim != 2 or K.ndim != 2 or V.ndim != 2:
        raise ValueError("blockwise_attention takes two-dimensional Q, K and V")
    block = check_int(block, "block", minimum=1)
    s = _scale(scale, Q.shape[-1])
    where = _mask(mask, (Q.shape[0], K.shape[0]))
    T_q = Q.shape[0]
    m = np.full((T_q, 1), -np.inf)  # running maximum of the scores
    total = np.zeros((T_q, 1))  # running sum of exp(score - m)
    acc = np.zeros((T_q, V.shape[1]))  # running sum of exp(score - m) * v
    for start in range(0, K.shape[0], block):
        Z = _scores(Q, K[start : start + block], s)
        if where is not None:
            Z = np.where(where[:, start : start + block], Z, -np.inf)
        m_new = np.maximum(m, Z.max(axis=1, keepdims=True))
        # A row with nothing unmasked yet has m_new = -inf: keep its zeros (no -inf - -inf).
        safe = np.where(np.isfinite(m_new), m_new, 0.0)
        P = np.exp(Z - safe)
        rescale = np.exp(np.where(np.isfinite(m), m - safe, -np.inf))
        total = total * rescale + P.sum(axis=1, keepdims=True)
        acc = acc * rescale + P @ V[start : start + block]
        m = m_new
    O = np.divide(acc, total, out=np.zeros_like(acc), where=total > 0)
    return O.astype(np.result_type(Q, K, V), copy=False)


def causal_mask(T_q: int, T_k: int | None = None) -> np.ndarray:
    """The causal mask: query i may attend to keys 0..i (and no later one).

    Parameters
    ----------
    T_q : int
        Number of queries, >= 1.
    T_k : int, optional
        Number of keys, >= 1; ``T_q`` by default. With more keys than queries, the queries are
        aligned to the last keys (query i is position ``T_k - T_q + i``), as when new tokens
        attend to a cache of earlier ones.

    Returns
    -------
    numpy.ndarray of bool, shape (T_q, T_k)

    Examples
    --------
    >>> from softmax_pkg.attention import causal_mask
    >>> causal_mask(3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    T_q = check_int(T_q, "T_q", minimum=1)
    T_k = T_q if T_k is None else check_int(T_k, "T_k", minimum=1)
    return np.tri(T_q, T_k, k=T_k - T_q, dtype=bool)
