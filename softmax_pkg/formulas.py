"""The book's formulas, each in a few lines of plain NumPy.

This module is the readable specification of the package: the chapters import these functions
and show their source, and the tests compare the fast functions of :mod:`softmax_pkg` against
them. They follow the book's notation (see its notation page):

- ``a``: logits, shape ``(..., N)``, the N classes along the **last** axis;
- ``S``: probabilities, ``S = softmax(a)``, the same shape;
- ``y``: targets, probability rows (one-hot for integer labels), the same shape;
- ``J[..., i, j] = dS_i / da_j``: row ``i`` is output ``i``, column ``j`` is input ``j``.

They are written for clarity, not for speed or for every edge case: they allocate temporaries
freely, and rows that contain ``inf`` or ``nan`` give whatever the arithmetic gives. For real
work use :func:`softmax_pkg.softmax` and its siblings, which keep the same mathematics with a
stated accuracy, defined edge cases and bounded memory.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "naive_softmax",
    "shifted_softmax",
    "logsumexp",
    "log_softmax",
    "softmax_jacobian_loop",
    "softmax_jacobian",
    "softmax_vjp",
    "online_softmax",
    "cross_entropy",
    "cross_entropy_grad",
]


def naive_softmax(a: np.ndarray) -> np.ndarray:
    """S_i = exp(a_i) / sum_k exp(a_k) over the last axis; shape of ``a``.

    The definition, computed as written: ``exp`` overflows to ``inf`` once some a_i exceeds
    about 709.78 (float64), and the result becomes ``nan``.
    """
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


def shifted_softmax(a: np.ndarray) -> np.ndarray:
    """The same S, computed from a - max(a), so that no exponential exceeds 1; shape of ``a``.

    Softmax is unchanged when a constant is subtracted from every logit, and after subtracting
    the maximum the largest term is exp(0) = 1: nothing overflows and the sum is at least 1.
    """
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(a: np.ndarray) -> np.ndarray:
    """log sum_k exp(a_k) = m + log1p(sum_{k != k*} exp(a_k - m)) over the last axis.

    ``m = a_{k*}`` is the maximum; its own term is exactly 1 and is left out of the sum, so that
    ``log1p`` keeps the digits of a small remainder. Shape of ``a`` without the last axis.
    """
    m = a.max(axis=-1, keepdims=True)
    e = np.exp(a - m)
    np.put_along_axis(e, a.argmax(axis=-1)[..., None], 0.0, axis=-1)
    return (m + np.log1p(e.sum(axis=-1, keepdims=True)))[..., 0]


def log_softmax(a: np.ndarray) -> np.ndarray:
    """log S_i = a_i - logsumexp(a) = (a_i - m) - log1p(sum_{k != k*} exp(a_k - m)); shape of ``a``.

    Written this way, the log-probability of the most likely class, a small negative number,
    keeps its relative accuracy instead of being computed as the difference of two large ones.
    """
    m = a.max(axis=-1, keepdims=True)
    e = np.exp(a - m)
    np.put_along_axis(e, a.argmax(axis=-1)[..., None], 0.0, axis=-1)
    return (a - m) - np.log1p(e.sum(axis=-1, keepdims=True))


def softmax_jacobian_loop(a: np.ndarray) -> np.ndarray:
    """J[i, j] = dS_i/da_j = S_i (delta_ij - S_j), entry by entry; ``a`` of shape (N,), J (N, N)."""
    S = shifted_softmax(a)
    N = len(S)
    J = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            J[i, j] = S[i] * ((i == j) - S[j])
    return J


def softmax_jacobian(a: np.ndarray) -> np.ndarray:
    """J = diag(S) - S S^T, for every row at once; shape ``a.shape + (N,)``, J[..., i, j] = dS_i/da_j."""
    S = shifted_softmax(a)
    return S[..., :, None] * np.eye(S.shape[-1]) - S[..., :, None] * S[..., None, :]


def softmax_vjp(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """J^T g = S * (g - <S, g>), without forming J; ``g`` and the result have the shape of ``a``.

    J is symmetric, so this is also the Jacobian-vector product J g. It costs O(N) per row
    instead of the O(N^2) of building J.
    """
    S = shifted_softmax(a)
    return S * (g - (S * g).sum(axis=-1, keepdims=True))


def online_softmax(a: np.ndarray) -> np.ndarray:
    """Softmax of a 1-D ``a`` with the maximum and the sum found in one pass; shape of ``a``.

    Whenever a new maximum appears, the sum so far is rescaled to it, so one sweep gives both
    m = max(a) and s = sum_k exp(a_k - m); a second sweep writes the outputs.
    """
    m, s = -np.inf, 0.0
    for a_k in a:
        m_new = max(m, a_k)
        s = s * np.exp(m - m_new) + np.exp(a_k - m_new)
        m = m_new
    return np.exp(a - m) / s


def cross_entropy(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L = -sum_i y_i log S_i, from the logits; one loss per row, shape ``a.shape[:-1]``."""
    return -(y * log_softmax(a)).sum(axis=-1)


def cross_entropy_grad(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/da = S - y for targets that sum to 1; shape of ``a``."""
    return shifted_softmax(a) - y
