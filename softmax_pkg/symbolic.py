"""Softmax in SymPy: the one symbolic helper the chapters share.

The chapters derive their formulas by hand, then again with SymPy. They all start from the same
symbolic softmax, built here from the definition S_i = exp(a_i) / sum_k exp(a_k), so that a
derivation in one chapter and a check in another differentiate the same expression.

SymPy is not a dependency of :mod:`softmax_pkg` but its extra ``symbolic``
(``pip install "softmax-pkg[symbolic]"``): it is imported when a function here is first called,
and a clear ``ImportError`` says how to install it if it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["symbolic_softmax", "is_zero"]


def _sympy() -> Any:
    try:
        import sympy
    except ImportError as error:
        raise ImportError(
            f'softmax_pkg.symbolic needs SymPy ({error}): pip install "softmax-pkg[symbolic]"'
        ) from error
    return sympy


def symbolic_softmax(a: Iterable[Any]) -> Any:
    """Softmax of SymPy expressions, straight from the definition, as a column matrix.

    Parameters
    ----------
    a : iterable of SymPy expressions (or numbers), length N >= 1
        The logits a_1, ..., a_N; symbols, sums such as ``a_k + c``, or ``a_k / tau``.

    Returns
    -------
    sympy.Matrix, shape (N, 1)
        Entry i is ``exp(a_i) / sum_k exp(a_k)``, unsimplified, so that SymPy differentiates
        the definition itself (``symbolic_softmax(a).jacobian(a)`` is the Jacobian, row i =
        output i, column j = input j).

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.symbols("a_1:3", real=True)
    >>> S = symbolic_softmax(a)
    >>> S.shape, sp.simplify(S[0] + S[1])
    ((2, 1), 1)
    """
    sp = _sympy()
    logits = [sp.sympify(ak) for ak in a]
    if not logits:
        raise ValueError("a must hold at least one logit, got an empty sequence")
    normaliser = sp.Add(*[sp.exp(ak) for ak in logits])
    return sp.Matrix([sp.exp(ai) / normaliser for ai in logits])


def is_zero(expression: Any) -> bool:
    """True if a SymPy expression, or every entry of a matrix, cancels to zero.

    Softmax expressions are rational functions of the exponentials ``exp(a_k)``, and
    ``sympy.cancel`` (common denominator, cancel common factors) decides whether such a
    function is zero; it is faster and more predictable than ``sympy.simplify``. For other
    expressions (trigonometric identities, say) ``False`` only means that ``cancel`` did not
    reduce the expression to zero, not that it is non-zero.

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.symbols("a_1:4", real=True)
    >>> S = symbolic_softmax(a)
    >>> is_zero(S.jacobian(a) - (sp.diag(*S) - S * S.T)), is_zero(S[0] - S[1])
    (True, False)
    """
    sp = _sympy()
    matrix = expression if isinstance(expression, sp.MatrixBase) else sp.Matrix([expression])
    return all(sp.cancel(entry) == 0 for entry in matrix)
