"""Argument checks shared by every public function, written once.

Each check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value)
with a message that names the argument and says what was expected.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike


def as_array(x: ArrayLike, name: str) -> np.ndarray:
    """``np.asarray(x)``, refusing what it would silently get wrong.

    * A NumPy masked array with masked entries: ``np.asarray`` would keep the hidden values and
      drop the mask. Functions with a ``where`` argument take the mask there (``where=~x.mask``).
    * A PyTorch tensor that requires grad: NumPy cannot take part in autograd, and the result
      would not be connected to the graph, so the user must detach it on purpose.
    * Anything NumPy cannot turn into a rectangular array (a ragged list, a GPU tensor).
    """
    if isinstance(x, np.ma.MaskedArray) and np.ma.getmaskarray(x).any():
        raise TypeError(
            f"{name} is a masked array with masked entries; NumPy would drop the mask. Pass the "
            f"mask as where=~{name}.mask (where the function has a where argument), or the "
            f"values you mean, such as {name}.filled(value) or {name}.compressed()"
        )
    if type(x).__module__.partition(".")[0] == "torch" and getattr(x, "requires_grad", False):
        raise TypeError(
            f"{name} is a torch tensor that requires grad; softmax_pkg computes in NumPy, outside "
            f"autograd. Pass {name}.detach() to compute with its values"
        )
    try:
        return np.asarray(x.data if isinstance(x, np.ma.MaskedArray) else x)
    except (ValueError, TypeError, RuntimeError) as exc:  # ragged nested lists, for example
        raise TypeError(
            f"{name} must be a rectangular array of numbers; NumPy cannot convert it: {exc}"
        ) from None


def as_real_array(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a real floating-point array without copying floats.

    Integers and booleans become float64; float16/32/64 (and longdouble) keep their dtype.
    """
    arr = as_array(x, name)
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    if kind == "c":
        raise TypeError(
            f"{name} must be real; got complex dtype {arr.dtype}. "
            "Pass the real part (x.real) or the magnitude (abs(x)) explicitly."
        )
    raise TypeError(f"{name} must be an array of real numbers; got dtype {arr.dtype}")


def working_dtype(dtype: np.dtype) -> np.dtype:
    """The precision the kernels compute in: at least float64, longdouble stays longdouble."""
    return np.result_type(dtype, np.float64)


def normalize_axis(axis: object, ndim: int, name: str = "axis", array_name: str = "x") -> int:
    """Check that ``axis`` is an integer valid for ``ndim`` dimensions; return it as 0..ndim-1."""
    if not _is_integer(axis):
        raise TypeError(f"{name} must be an integer; got {axis!r}")
    if ndim == 0:
        raise ValueError(
            f"{array_name} must have at least one dimension (the class axis); got a 0-d array"
        )
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{name}={axis} is out of range for {array_name} with {ndim} dimension(s); "
            f"expected an integer in [{-ndim}, {ndim - 1}]"
        )
    return axis % ndim


def _is_integer(value: object) -> bool:
    if type(value) is int:  # the common case, without the slow abstract-class checks
        return True
    return not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (numbers.Integral, np.integer)
    )


def check_int(value: object, name: str, minimum: int | None = None) -> int:
    """Check an integer (not a bool), at least ``minimum`` if given."""
    if not _is_integer(value):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_real(
    value: object, name: str, *, low: float, high: float = np.inf, low_open: bool = False
) -> float:
    """Check a finite real scalar in [low, high] (or (low, high] with ``low_open``)."""
    if type(value) is not float and (
        isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating))
    ):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    above = value > low if low_open else value >= low
    if not (math.isfinite(value) and above and value <= high):
        if high < np.inf:
            expected = f"in [{low:g}, {high:g}]"
        else:
            expected = f"a finite number {'>' if low_open else '>='} {low:g}"
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return value


def check_positive_finite(value: object, name: str) -> float:
    """A real scalar that must be finite and > 0 (a temperature, a step size)."""
    return check_real(value, name, low=0.0, low_open=True)


def check_fraction(value: object, name: str) -> float:
    """A real scalar in the closed interval [0, 1]."""
    return check_real(value, name, low=0.0, high=1.0)


def check_where(
    where: ArrayLike | None, shape: tuple[int, ...], *, name: str = "where", ref: str = "x"
) -> np.ndarray | None:
    """Check a boolean mask that must broadcast to ``shape`` (the shape of ``ref``); return the
    broadcast view. ``name`` and ``ref`` are the argument names the error messages use."""
    if where is None:
        return None
    mask = as_array(where, "where")
    if mask.dtype != np.bool_:
        raise TypeError(f"{name} must be a boolean array (True = include); got dtype {mask.dtype}")
    try:
        broadcast = np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(shape):
        raise ValueError(
            f"{name} with shape {mask.shape} does not broadcast to the shape of {ref}, "
            f"{tuple(shape)}"
        )
    return np.broadcast_to(mask, shape)


def check_same_shape(other: np.ndarray, shape: tuple[int, ...], name: str, ref: str = "x") -> None:
    """Require ``other`` to have exactly ``shape`` (the shape of ``ref``)."""
    if other.shape != tuple(shape):
        raise ValueError(
            f"{name} must have the same shape as {ref}, {tuple(shape)}; got {other.shape}"
        )
