"""High-precision references and errors in ulps: the yardstick of the accuracy claims.

Used by the package's tests and by the book's accuracy chapter. Needs mpmath, the optional extra
``reference`` (``pip install "softmax-pkg[reference]"``; SymPy brings it too); it is imported
only when these functions are called.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_array, as_real_array, check_int, normalize_axis

__all__ = ["exact", "ulp_error"]

_KINDS = ("softmax", "log_softmax", "logsumexp")


def _mpmath():
    try:
        import mpmath
    except ImportError as exc:
        raise ImportError(
            f'softmax_pkg.reference needs mpmath ({exc}): pip install "softmax-pkg[reference]"'
        ) from exc
    return mpmath


def exact(kind: str, x: ArrayLike, axis: int = -1, *, dps: int = 40) -> np.ndarray:
    r"""softmax, log_softmax or logsumexp of ``x`` in ``dps``-digit arithmetic (mpmath).

    Parameters
    ----------
    kind : {"softmax", "log_softmax", "logsumexp"}
        Which function.
    x : array_like
        Real input; its floating-point values are taken as exact.
    axis : int, default -1
        The class axis.
    dps : int, default 40
        Decimal digits of working precision, >= 1 (float64 needs about 17 to be resolved).

    Returns
    -------
    numpy.ndarray
        An object array of ``mpmath.mpf``, the shape of the function's result.

    Raises
    ------
    TypeError
        If ``kind`` is not a string, ``dps`` is not an integer, or ``x`` is not real.
    ValueError
        If ``kind`` is unknown, ``dps`` < 1, or ``axis`` is out of range.
    ImportError
        If mpmath is not installed (the extra ``reference``).

    Notes
    -----
    The log variants are evaluated as :math:`(x_i - m) - \operatorname{log1p}(r)` with
    :math:`r` the sum of :math:`e^{x_k - m}` over all but one maximal entry, so that even a
    result of :math:`-10^{-300}` is correct to all ``dps`` digits.

    Examples
    --------
    >>> from softmax_pkg.reference import exact
    >>> [float(v) for v in exact("softmax", [1.0, 2.0, 3.0])]
    [0.09003057317038046, 0.24472847105479764, 0.6652409557748219]
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be one of the strings {_KINDS}; got {kind!r}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}")
    dps = check_int(dps, "dps", 1)
    mp = _mpmath()
    arr = as_real_array(x, "x").astype(np.float64)
    ax = normalize_axis(axis, arr.ndim)
    rows = np.moveaxis(arr, ax, -1)
    lead = rows.shape[:-1]
    flat = rows.reshape(-1, rows.shape[-1])
    results = []
    with mp.workdps(dps):
        for row in flat:
            xs = [mp.mpf(float(v)) for v in row]
            k = int(np.argmax(row))
            m = xs[k]
            es = [mp.exp(v - m) for v in xs]
            rest = mp.fsum(es[:k] + es[k + 1 :])
            l1p = mp.log1p(rest)
            if kind == "softmax":
                results.append([e / (1 + rest) for e in es])
            elif kind == "log_softmax":
                results.append([(v - m) - l1p for v in xs])
            else:
                results.append(m + l1p)
    out = np.empty(len(results) * (1 if kind == "logsumexp" else flat.shape[1]), dtype=object)
    if kind == "logsumexp":
        out[:] = results
        return out.reshape(lead)
    out[:] = [v for r in results for v in r]
    return np.moveaxis(out.reshape(rows.shape), -1, ax)


def ulp_error(computed: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """Error of ``computed`` in units in the last place of its dtype, measured at the reference.

    Parameters
    ----------
    computed : array_like
        Floating-point results (float16, float32 or float64).
    reference : array_like
        Exact values (mpmath numbers, or anything ``mpmath.mpf`` accepts), same shape.

    Returns
    -------
    numpy.ndarray
        float64, the same shape: ``|computed - reference| / ulp(reference)``, where ``ulp(v)``
        is the spacing of the dtype at ``v`` rounded to that dtype (the smallest subnormal at
        0). A correctly rounded result has error <= 0.5. Equal infinities count as 0.

    Raises
    ------
    TypeError
        If ``computed`` is not float16, float32 or float64, or ``reference`` holds something
        mpmath cannot read as a real number.
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.reference import ulp_error
    >>> float(ulp_error(np.float32(1.0) + np.finfo(np.float32).eps, 1.0)[()])
    1.0
    """
    mp = _mpmath()
    comp = as_array(computed, "computed")
    if comp.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"computed must be float16, float32 or float64; got dtype {comp.dtype}")
    dtype = comp.dtype.type
    ref = as_array(reference, "reference").astype(object)
    if ref.shape != comp.shape:
        raise ValueError(f"reference has shape {ref.shape}, computed has {comp.shape}")
    out = np.empty(comp.shape)
    with mp.workdps(60):
        for idx in np.ndindex(comp.shape):
            c = float(comp[idx])
            try:
                r = mp.mpf(ref[idx])
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"reference must hold real numbers (mpmath.mpf or anything it accepts); "
                    f"got {ref[idx]!r} at {idx}: {exc}"
                ) from None
            if mp.isinf(r) or np.isinf(c):
                out[idx] = 0.0 if (np.isinf(c) and mp.isinf(r) and (c > 0) == (r > 0)) else np.inf
                continue
            if np.isnan(c) or mp.isnan(r):
                out[idx] = 0.0 if (np.isnan(c) and mp.isnan(r)) else np.inf
                continue
            rounded = dtype(float(r))
            spacing = np.spacing(np.abs(rounded)) if rounded != 0 else np.spacing(dtype(0))
            if not np.isfinite(spacing):  # the reference is beyond the dtype's range
                spacing = np.spacing(np.finfo(dtype).max)
            out[idx] = float(abs(mp.mpf(c) - r) / mp.mpf(float(spacing)))
    return out
