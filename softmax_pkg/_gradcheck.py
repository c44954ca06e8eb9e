"""numerical_gradient: the central-difference check every derivation in the book ends with."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_array, as_real_array, check_positive_finite

__all__ = ["numerical_gradient"]


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: ArrayLike, *, eps: float | None = None
) -> np.ndarray:
    r"""Central-difference gradient of a scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns a real scalar. It receives a fresh copy
        every call, so it may modify its argument.
    x : array_like
        The point, any shape; computed in float64.
    eps : float, optional
        The step. By default each coordinate uses :math:`h_i = \epsilon^{1/3}\max(1, |x_i|)`,
        with :math:`\epsilon` the float64 machine epsilon: it balances the truncation error
        :math:`O(h^2)` against the rounding error :math:`O(\epsilon/h)`, so for smooth ``f``
        the error is about :math:`10^{-10}` times the size of ``f``'s values (not of its
        derivative: a small slope next to a large value is resolved less well).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``x``: ``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` per entry.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``x`` is not real and numeric, or ``f`` returns something that
        is not a real number (a string, None, a complex number, a bool, a tensor that requires
        grad).
    ValueError
        If ``eps`` is not a finite positive number, or ``f`` returns an array of more than one
        entry, or a value that is not finite.

    Notes
    -----
    Cost: :math:`2 \cdot \text{size}(x)` calls of ``f``. It is a checking tool, not a way to
    train: the analytic gradients in this package are exact and O(size).

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import numerical_gradient, logsumexp, softmax
    >>> x = np.array([0.5, -1.0, 2.0])
    >>> g = numerical_gradient(lambda z: float(logsumexp(z)), x)
    >>> bool(np.allclose(g, softmax(x), rtol=1e-8))  # the gradient of LSE is softmax
    True
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning a scalar; got {type(f).__name__}")
    x0 = as_real_array(x, "x").astype(np.float64)
    if eps is None:
        step = np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(x0))
    else:
        step = np.full(x0.shape, check_positive_finite(eps, "eps"))
    grad = np.empty_like(x0)

    def call(point):
        returned = f(point.copy())
        try:
            value = as_array(returned, "the value returned by f")
        except TypeError as exc:
            raise TypeError(f"f must return a real scalar; {exc}") from None
        if value.dtype.kind == "O" and value.size == 1:
            item = value.reshape(()).item()  # a SymPy Float, an mpmath mpf, a Fraction
            if isinstance(item, numbers.Real) and not isinstance(item, (bool, np.bool_)):
                value = np.asarray(float(item))
        if value.dtype.kind not in "iuf":
            raise TypeError(
                f"f must return a real scalar; got {type(returned).__name__} {returned!r:.60}"
                f" (dtype {value.dtype})"
            )
        if value.size != 1:
            raise ValueError(f"f must return a scalar; got an array of shape {value.shape}")
        value = float(value.reshape(()))
        if not np.isfinite(value):
            raise ValueError(f"f returned {value} at a probe point; it must be finite near x")
        return value

    flat, hflat, gflat = x0.reshape(-1), step.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        xi = flat[i]
        hi, lo = xi + hflat[i], xi - hflat[i]
        flat[i] = hi
        f_hi = call(x0)
        flat[i] = lo
        f_lo = call(x0)
        flat[i] = xi
        gflat[i] = (f_hi - f_lo) / (hi - lo)  # the step actually taken, not the nominal one
    return grad
