"""Argument checks shared by every public function, written once.

Each check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value)
with a message that names the argument and says what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike


def as_real_array(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a real floating-point array without copying floats.

    Integers and booleans become float64; float16/32/64 (and longdouble) keep their dtype.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists, for example
        raise TypeError(f"{name} must be a rectangular array of real numbers; {exc}") from None
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
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (numbers.Integral, np.integer)):
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


def check_positive_finite(value: object, name: str) -> float:
    """Check a real scalar that must be finite and > 0 (a temperature, a step size)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return value


def check_fraction(value: object, name: str) -> float:
    """Check a real scalar in the closed interval [0, 1]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"{name} must be a real number in [0, 1]; got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return value


def check_where(where: ArrayLike | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Check a boolean mask that must broadcast to ``shape``; return the broadcast view."""
    if where is None:
        return None
    mask = np.asarray(where)
    if mask.dtype != np.bool_:
        raise TypeError(f"where must be a boolean array (True = include); got dtype {mask.dtype}")
    try:
        broadcast = np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(shape):
        raise ValueError(
            f"where with shape {mask.shape} does not broadcast to the shape of x, {tuple(shape)}"
        )
    return np.broadcast_to(mask, shape)


def check_same_shape(other: np.ndarray, shape: tuple[int, ...], name: str, ref: str = "x") -> None:
    """Require ``other`` to have exactly ``shape`` (the shape of ``ref``)."""
    if other.shape != tuple(shape):
        raise ValueError(
            f"{name} must have the same shape as {ref}, {tuple(shape)}; got {other.shape}"
        )
