"""softmax_jacobian, softmax_jvp, softmax_vjp against loops, central differences and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import import_or_need
from softmax_pkg import (
    formulas,
    numerical_gradient,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_vjp,
)


def jacobian_by_loops(x):
    """D[i, j] = D_j S_i, written entry by entry from the quotient rule (Bendersky's habit)."""
    e = np.exp(x - x.max())
    s = e / e.sum()
    n = len(x)
    d = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            d[i, j] = s[i] * (1 - s[j]) if i == j else -s[i] * s[j]
    return d


def jacobian_by_differences(x):
    """Row i is the central-difference gradient of S_i."""
    return np.array([numerical_gradient(lambda z, i=i: softmax(z)[i], x) for i in range(len(x))])


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_jacobian_matches_the_loop_version_and_central_differences(n):
    x = np.random.default_rng(n).normal(0, 2, n)
    jac = softmax_jacobian(x)
    np.testing.assert_allclose(jac, jacobian_by_loops(x), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(jac, jacobian_by_differences(x), rtol=1e-6, atol=1e-9)


def test_jacobian_layout_is_row_output_column_input():
    # Only input 0 moves: column 0 is the response of every output to it.
    x = np.array([0.3, -1.2, 2.0])
    h = 1e-7
    dx = np.array([h, 0.0, 0.0])
    column = (softmax(x + dx) - softmax(x - dx)) / (2 * h)
    np.testing.assert_allclose(softmax_jacobian(x)[:, 0], column, rtol=1e-6)


def test_batched_jacobian_appends_the_two_axes_last():
    x = np.random.default_rng(1).normal(size=(4, 5, 3))
    jac = softmax_jacobian(x, axis=1)
    assert jac.shape == (4, 3, 5, 5)
    for a in range(4):
        for b in range(3):
            np.testing.assert_allclose(jac[a, b], softmax_jacobian(x[a, :, b]), rtol=1e-14)


def test_diagonal_keeps_relative_accuracy_when_one_probability_is_nearly_one():
    # S_0 = 1 - 1e-20: 1 - S_0 rounds to 0 in float64; the Jacobian entry S_0(1 - S_0) is 1e-20.
    x = np.array([0.0, -np.log(1e20)])
    jac = softmax_jacobian(x)
    s1 = 1 / (1 + 1e20)
    np.testing.assert_allclose(jac[0, 0], s1 * (1 - s1), rtol=1e-14)
    np.testing.assert_allclose(jac[1, 1], jac[0, 0], rtol=1e-14)


@pytest.mark.parametrize("func, name", [(softmax_jvp, "v"), (softmax_vjp, "g")])
def test_products_check_the_vector_shape(func, name):
    with pytest.raises(ValueError, match=f"{name} must have the same shape as x"):
        func(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match=f"{name} must be"):
        func(np.ones(3), ["a", "b", "c"])


def test_jacobian_rejects_bad_input_like_softmax():
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        softmax_jacobian(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError, match="x must be real"):
        softmax_jacobian([1j, 2])


vectors = st.integers(1, 9).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=st.floats(-30, 30)),
        hnp.arrays(np.float64, n, elements=st.floats(-5, 5)),
    )
)


@settings(max_examples=200, deadline=None)
@given(vectors)
def test_jacobian_is_symmetric_with_zero_row_sums_and_products_match(xv):
    x, v = xv
    jac = softmax_jacobian(x)
    np.testing.assert_allclose(jac, jac.T, rtol=0, atol=1e-17)
    np.testing.assert_allclose(jac.sum(axis=1), 0.0, atol=1e-15)
    np.testing.assert_allclose(softmax_jvp(x, v), jac @ v, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(softmax_vjp(x, v), v @ jac, rtol=1e-10, atol=1e-14)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 8), elements=st.floats(-10, 10)))
def test_jacobian_is_positive_semidefinite_with_rank_n_minus_1(x):
    eigenvalues = np.linalg.eigvalsh(softmax_jacobian(x))
    assert eigenvalues.min() > -1e-15
    s = softmax(x)
    if s.min() > 1e-6:  # all probabilities clearly positive: the only null vector is 1
        assert np.sum(eigenvalues > 1e-12) == len(x) - 1
        np.testing.assert_allclose(softmax_jacobian(x) @ np.ones(len(x)), 0.0, atol=1e-15)


# -- the class axis anywhere (a product that summed over the last axis would pass with axis=-1) --


@pytest.mark.parametrize("shape, axis", [((5, 3), 0), ((4, 5, 3), 1), ((4, 5, 3), -2), ((5, 2, 3), 0)])
def test_jvp_and_vjp_with_the_class_axis_not_last_match_the_formulas(shape, axis):
    rng = np.random.default_rng(sum(shape) + axis)
    x, v = rng.normal(size=shape), rng.normal(size=shape)
    # Independent: move the class axis last and use the book's formulas, row by row.
    rows_x, rows_v = np.moveaxis(x, axis, -1), np.moveaxis(v, axis, -1)
    J = formulas.softmax_jacobian(rows_x)  # (..., N, N), J[..., i, j] = dS_i/dx_j
    jv = np.moveaxis(np.einsum("...ij,...j->...i", J, rows_v), -1, axis)
    vj = np.moveaxis(np.einsum("...i,...ij->...j", rows_v, J), -1, axis)
    np.testing.assert_allclose(softmax_jvp(x, v, axis=axis), jv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax_vjp(x, v, axis=axis), vj, rtol=1e-12, atol=1e-15)
    # ... and the Jacobian itself, whose two axes go last.
    np.testing.assert_allclose(softmax_jacobian(x, axis=axis), J, rtol=1e-12, atol=1e-16)


def test_vjp_with_the_class_axis_first_is_the_gradient_by_central_differences():
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))  # 4 classes on axis 0, 3 samples
    numeric = numerical_gradient(lambda z: float(np.sum(g * softmax(z, axis=0))), x)
    np.testing.assert_allclose(softmax_vjp(x, g, axis=0), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("func", [softmax_jacobian, softmax_jvp, softmax_vjp])
def test_masked_arrays_and_torch_tensors_requiring_grad_are_refused(func):
    x = np.ma.masked_array(np.zeros((2, 3)), mask=[[0, 1, 0], [0, 0, 0]])
    args = (x,) if func is softmax_jacobian else (x, np.ones((2, 3)))
    with pytest.raises(TypeError, match="x is a masked array"):
        func(*args)
    if func is not softmax_jacobian:
        with pytest.raises(TypeError, match="is a masked array"):
            func(np.zeros((2, 3)), x)
    torch = import_or_need("torch")
    t = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    targs = (t,) if func is softmax_jacobian else (t, np.ones((2, 3)))
    with pytest.raises(TypeError, match="x is a torch tensor that requires grad.*detach"):
        func(*targs)
    dargs = (t.detach(),) + targs[1:]
    np.testing.assert_allclose(func(*dargs), func(*(np.zeros((2, 3)),) + targs[1:]))
