"""softmax, log_softmax and logsumexp: check the arguments, make the class axis last, hand the
rows to the engine (``softmax_pkg.engine``), put the axis back.

On its plain route the engine computes, for one block of rows, with ``m`` the row's maximum::

    y = (x - m) / temperature       # <= 0: nothing overflows
    e = exp(y)
    softmax     = e / e.sum()
    log_softmax = y - log1p(sum of e without one maximal term)
    logsumexp   = m + log1p(sum of e without one maximal term)

float16 and float32 are computed in float64 and rounded once. Where it is safe the other routes
skip the shift (float16/32 softmax) or sum ``exp(x)`` unshifted and scale by ``exp(-m)`` (the log
variants); ``softmax_pkg.routes`` describes the routes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from . import engine
from ._validate import (
    as_array, as_real_array, check_positive_finite, check_where, normalize_axis,
)
from .engine import set_num_threads

__all__ = ["softmax", "log_softmax", "logsumexp", "set_num_threads"]

EDGE_CASES = """\
    ===============================  ==================  =====================  ===========
    the row (unmasked entries)       softmax             log_softmax            logsumexp
    ===============================  ==================  =====================  ===========
    all finite                       finite, sums to 1   <= 0, see below        finite
    k entries are +inf               1/k at each +inf,   -log k at each +inf,   +inf
                                     0 elsewhere         -inf elsewhere
    some entries are -inf            0 at the -inf       -inf at the -inf       finite
    every entry is -inf              NaN                 NaN                    -inf
    every entry masked by ``where``  0                   -inf                   -inf
    any entry is NaN                 NaN (whole row)     NaN (whole row)        NaN
    ===============================  ==================  =====================  ===========

    Masked entries (``where`` False) count as absent: softmax 0, log_softmax -inf. None of these
    cases emits a warning. Finite inputs never overflow, however large (up to +-1.8e308); the
    one non-finite result they can give is a log_softmax of -inf where x_i - max(x) overflows
    (x = [1.7e308, -1.7e308]), which is the correctly rounded answer at temperature 1."""


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (an int, a tuple of ints or None: every axis) as sorted non-negative axes."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, checked quickly
        return (axis % ndim,)
    if ndim == 0:
        normalize_axis(0, ndim)  # raises: x needs a class axis
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple) and all(isinstance(a, (numbers.Integral, np.integer))
                                       and not isinstance(a, (bool, np.bool_)) for a in axis):
        axes = tuple(normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis={axis} names an axis twice")
        return tuple(sorted(axes))
    if isinstance(axis, (numbers.Integral, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        return (normalize_axis(axis, ndim),)
    raise TypeError(f"axis must be an integer, a tuple of integers or None; got {axis!r}")


def _to_rows(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``a`` as (rows, n), the axes in ``axes`` flattened last; a view where possible."""
    k = len(axes)
    moved = np.moveaxis(a, axes, range(a.ndim - k, a.ndim)) if axes != tuple(
        range(a.ndim - k, a.ndim)) else a
    lead, classes = moved.shape[: a.ndim - k], moved.shape[a.ndim - k :]
    return moved.reshape(math.prod(lead), math.prod(classes))


def _from_rows(rows: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """Undo ``_to_rows`` for an array of the input's ``shape``."""
    k = len(axes)
    moved = [s for i, s in enumerate(shape) if i not in axes] + [shape[i] for i in axes]
    out = rows.reshape(moved)
    last = tuple(range(len(shape) - k, len(shape)))
    return out if axes == last else np.moveaxis(out, last, axes)


def prepare(kind, x, axis, where, temperature=1.0, *, run=True):
    """Check the arguments and make the engine's call, not yet run; returns (call, axes, array
    shape). ``run=False`` (``routes.plan``): the call is made on stand-ins of the input, the
    mask and the result that take no memory, for a plan only."""
    if kind != engine.LOGSUMEXP:
        temperature = check_positive_finite(temperature, "temperature")
    if run:
        arr = as_real_array(x, "x")
    else:  # the dtype as_real_array would give (its checks too), without converting
        arr = as_array(x, "x")
        dtype = as_real_array(np.empty(0, arr.dtype), "x").dtype
        arr = np.broadcast_to(np.empty((), dtype), arr.shape)
    axes = _axes(axis, arr.ndim)
    mask = check_where(where, arr.shape)
    if mask is not None and not run:
        mask = np.broadcast_to(np.True_, arr.shape)  # a plan depends on whether, not where
    n = math.prod(arr.shape[i] for i in axes)
    if n == 0 and kind != engine.LOGSUMEXP:
        raise ValueError(
            f"x has an empty class axis (axis={axis}, shape {arr.shape}); "
            f"{kind} of zero numbers is undefined"
        )
    rows = _to_rows(arr, axes)
    w = None if mask is None else _to_rows(mask, axes)
    out = None
    if not run:
        out = (np.broadcast_to(np.empty((), rows.dtype),
                               rows.shape[:1] if kind == engine.LOGSUMEXP else rows.shape), None)
    return engine.Call(kind, rows, w, temperature, out=out), axes, arr.shape


# Docstring parts that softmax and log_softmax share, written once.
_DOC_PARTS = {
    "{EDGE_CASES}": EDGE_CASES,
    "{X_PARAM}\n": """\
    x : array_like
        Logits, any shape. Integer and boolean input is computed in float64; float16, float32
        and float64 keep their dtype.
""",
    "{AXIS}": """\
    axis : int, tuple of int or None, default -1
        The class axis, or several axes taken together as one (``None``: all of them), as in
        ``scipy.special``.""",
    "{SUBNORMAL}": """\
    Subnormal numbers: an entry more than about 708 below the row's maximum has a subnormal
    :math:`e^{x_k - m}`, correct only to an absolute :math:`2^{-1075}`. float64 softmax results
    below :math:`2^{-1022}` are therefore within :math:`2^{-1073}` absolute rather than the
    relative bound; the log variants' 2-ulp bound becomes 2 ulp plus :math:`N \\cdot 2^{-1075}`
    absolute, which matters only when the result itself is below :math:`N \\cdot 2^{-1022}` in
    magnitude (log_softmax at a dominant maximum, logsumexp near 0). float16 and float32 are
    computed in float64 and meet their bounds there too.""",
    "{RAISES}\n": """\
    Raises
    ------
    TypeError
        If ``x`` is not real and numeric, or ``where`` is not boolean.
    ValueError
        If ``axis`` is out of range or repeated, the class axis is empty, ``temperature`` is not
        a finite positive number, or ``where`` does not broadcast to ``x``.
""",
}


def _doc(func):
    for key, text in _DOC_PARTS.items():
        func.__doc__ = func.__doc__.replace(key, text)
    return func


@_doc
def softmax(
    x: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    *,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Softmax: exponentiate and normalise along ``axis``, without overflow.

    Parameters
    ----------
{X_PARAM}
{AXIS} The result sums to 1 along it.
    temperature : float, default 1.0
        Divides the logits: ``softmax(x / temperature)``. Must be finite and > 0. Small values
        sharpen the distribution towards the arg-max, large values flatten it towards uniform.
    where : array_like of bool, optional
        Entries to include; excluded entries get probability 0, as if their logit were -inf.
        Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        Probabilities, same shape and floating dtype as ``x``, each slice along ``axis`` summing
        to 1.

{RAISES}

    Notes
    -----
    For a row :math:`x \in \mathbb{R}^N` and temperature :math:`\tau`,

    .. math::

        S_i(x) = \frac{e^{x_i / \tau}}{\sum_{k=1}^N e^{x_k / \tau}}
               = \frac{e^{(x_i - m)/\tau}}{\sum_{k=1}^N e^{(x_k - m)/\tau}},
        \qquad m = \max_k x_k .

    float64 rows use the shifted form: its exponents are at most 0, so nothing overflows and the
    denominator is at least 1. float16 and float32 rows are computed in float64, where the
    unshifted form is accurate enough for every row whose float64 sum lies between
    :math:`e^{-590}` and overflow (other rows, and calls with ``where``, are shifted). Rows are
    processed in cache-sized blocks (a row longer than a block in sweeps), which makes float16
    and float32 results correct to within 1 ulp; float64 results
    satisfy the error bound for the shifted formula of Blanchard, Higham and Higham (2021).
    Any positive finite temperature works, however small: below the gaps between the logits
    the result is the limit, one-hot at the maximum (shared equally by tied maxima).

{SUBNORMAL}

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    References
    ----------
    P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the log-sum-exp and
    softmax functions", IMA J. Numer. Anal. 41(4), 2021. https://doi.org/10.1093/imanum/draa038

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax
    >>> p = softmax([1.0, 2.0, 3.0])
    >>> p.round(2)
    array([0.09, 0.24, 0.67])
    >>> float(p.sum())
    1.0

    Huge logits are no problem, and each row of a batch sums to 1:

    >>> softmax([[1000.0, 2000.0, 3000.0], [1.0, 1.0, 1.0]]).round(3)
    array([[0.   , 0.   , 1.   ],
           [0.333, 0.333, 0.333]])

    A +inf logit takes all the probability, a mask removes an entry:

    >>> softmax([0.0, np.inf, 1.0])
    array([0., 1., 0.])
    >>> softmax([1.0, 2.0, 3.0], where=np.array([True, True, False])).round(3)
    array([0.269, 0.731, 0.   ])
    """
    call, axes, shape = prepare(engine.SOFTMAX, x, axis, where, temperature)
    return _from_rows(call.run().out, shape, axes)


@_doc
def log_softmax(
    x: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    *,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Logarithm of the softmax along ``axis``, accurate to the last bits.

    Parameters
    ----------
{X_PARAM}
{AXIS}
    temperature : float, default 1.0
        Divides the logits: ``log_softmax(x / temperature)``. Must be finite and > 0.
    where : array_like of bool, optional
        Entries to include; excluded entries get -inf. Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        Log-probabilities, same shape and floating dtype as ``x``, all <= 0.

{RAISES}

    Notes
    -----
    With :math:`m = \max_k x_k` attained at index :math:`k^*`,

    .. math::

        \log S_i(x) = \frac{x_i - m}{\tau} - \operatorname{log1p}\Big(
            \sum_{k \ne k^*} e^{(x_k - m)/\tau}\Big).

    Summing without the maximal term and using ``log1p`` keeps the small remainder exact: at the
    maximum the result is the tiny negative number it should be, where ``log(sum)`` returns 0
    (scipy issue gh-19521). With ``temperature=1``, every entry is within 2 ulp of the exact
    value. For float64 input the rounding of :math:`x_k - m` would otherwise cost up to
    :math:`|x_k - m|/2` ulp in each term: rows of 64 entries or more with :math:`m` in
    [-700, 600] avoid it by summing :math:`e^{x_k}` unshifted and scaling by :math:`e^{-m}`
    computed in extended precision (where NumPy's ``longdouble`` has a 64-bit mantissa); other
    rows recover the rounding error with TwoSum. With a temperature the bound is not promised
    (float64: :math:`(x_i - m)/\tau` is rounded); a tiny temperature gives the limit, 0 at the
    maximum and :math:`(x_i - m)/\tau` (or -inf) elsewhere.

{SUBNORMAL}

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import log_softmax
    >>> log_softmax([1.0, 2.0, 3.0]).round(4)
    array([-2.4076, -1.4076, -0.4076])

    At a dominant entry the answer is tiny but not zero:

    >>> float(log_softmax([0.0, 40.0])[1])
    -4.248354255291589e-18
    """
    call, axes, shape = prepare(engine.LOG_SOFTMAX, x, axis, where, temperature)
    return _from_rows(call.run().out, shape, axes)


@_doc
def logsumexp(
    x: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    *,
    keepdims: bool = False,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Log-sum-exp along ``axis``: :math:`\log \sum_k e^{x_k}`, without overflow.

    Parameters
    ----------
    x : array_like
        Any shape. Integer and boolean input is computed in float64; float16, float32 and
        float64 keep their dtype.
{AXIS}
    keepdims : bool, default False
        Keep the reduced axis with length 1, so the result broadcasts against ``x``.
    where : array_like of bool, optional
        Entries to include. Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        ``x.shape`` without ``axis`` (or with length 1 there if ``keepdims``), same floating
        dtype as ``x``. A 1-d input gives a 0-d array. An empty axis gives -inf, as in scipy.

    Raises
    ------
    TypeError
        If ``x`` is not real and numeric, or ``where`` is not boolean.
    ValueError
        If ``axis`` is out of range or repeated, or ``where`` does not broadcast to ``x``.

    Notes
    -----
    .. math::

        \operatorname{LSE}(x) = m + \operatorname{log1p}\Big(\sum_{k \ne k^*} e^{x_k - m}\Big),
        \qquad m = x_{k^*} = \max_k x_k,

    which lies between :math:`m` and :math:`m + \log N`: a smooth maximum. The result is within
    2 ulp of the exact value unless :math:`m` and the log1p term nearly cancel (a result close
    to 0 from inputs much larger in magnitude), where the error is bounded by 2 ulp of
    :math:`|m|`, the condition of the problem.

{SUBNORMAL}

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import logsumexp
    >>> float(logsumexp([1000.0, 1000.0]))  # 1000 + log 2, no overflow
    1000.6931471805599
    >>> logsumexp([[0.0, 0.0], [1.0, -np.inf]])
    array([0.69314718, 1.        ])
    """
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be True or False; got {keepdims!r}")
    call, axes, shape = prepare(engine.LOGSUMEXP, x, axis, where)
    lse = call.run().out
    if keepdims:
        return lse.reshape([1 if i in axes else size for i, size in enumerate(shape)])
    return lse.reshape([size for i, size in enumerate(shape) if i not in axes])
