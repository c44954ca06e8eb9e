"""softmax_pkg.symbolic: the SymPy softmax the chapters share, against the NumPy formulas."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from softmax_pkg import formulas

sp = pytest.importorskip("sympy")

from softmax_pkg.symbolic import is_zero, symbolic_softmax  # noqa: E402


@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_symbolic_softmax_lambdified_equals_the_numpy_formula(N):
    a = sp.symbols(f"a_1:{N + 1}", real=True)
    S = sp.lambdify(a, symbolic_softmax(a), "numpy")
    logits = np.random.default_rng(N).normal(scale=3.0, size=(20, N))
    for row in logits:
        np.testing.assert_allclose(
            np.asarray(S(*row), dtype=float).ravel(), formulas.naive_softmax(row), rtol=1e-14
        )


def test_symbolic_jacobian_is_diag_minus_outer_product_and_matches_the_formula():
    a = sp.symbols("a_1:5", real=True)
    S = symbolic_softmax(a)
    J = S.jacobian(a)
    assert is_zero(J - (sp.diag(*S) - S * S.T))
    row = np.array([0.3, -1.2, 2.0, 0.5])
    np.testing.assert_allclose(
        np.asarray(sp.lambdify(a, J, "numpy")(*row), dtype=float),
        formulas.softmax_jacobian(row),
        rtol=1e-13,
        atol=1e-16,
    )


def test_symbolic_softmax_takes_expressions_and_numbers():
    a = sp.symbols("a_1:4", real=True)
    c, tau = sp.Symbol("c", real=True), sp.Symbol("tau", positive=True)
    assert is_zero(symbolic_softmax([ak + c for ak in a]) - symbolic_softmax(a))
    assert not is_zero(symbolic_softmax([ak / tau for ak in a]) - symbolic_softmax(a))
    numeric = symbolic_softmax([1, 2, 3])
    np.testing.assert_allclose(
        np.array(numeric.evalf(20), dtype=float).ravel(),
        formulas.naive_softmax(np.array([1.0, 2.0, 3.0])),
        rtol=1e-15,
    )


def test_is_zero_of_a_scalar_and_of_a_matrix():
    x = sp.Symbol("x", real=True)
    e = sp.exp(x)
    assert is_zero(e / (e + 1) + 1 / (e + 1) - 1)
    assert not is_zero(e / (e + 1))
    assert is_zero(sp.zeros(2, 3))
    assert not is_zero(sp.Matrix([[0, 0], [0, x]]))


def test_empty_logits_are_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="a must hold at least one logit"):
        symbolic_softmax([])


def test_missing_sympy_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)  # makes `import sympy` raise ImportError
    with pytest.raises(ImportError, match=re.escape('pip install "softmax-pkg[symbolic]"')):
        symbolic_softmax([1, 2])
    with pytest.raises(ImportError, match=re.escape('pip install "softmax-pkg[symbolic]"')):
        is_zero(0)
