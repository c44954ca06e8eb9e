"""softmax_layer and softmax_layer_jacobian against loops, central differences and identities."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_pkg import (
    cross_entropy_grad,
    numerical_gradient,
    softmax,
    softmax_layer,
    softmax_layer_jacobian,
)


def layer_jacobian_by_loops(x, W, b=None):
    """An independent formulation: the entry formula S_t (delta_ti - S_i) x_j, loop by loop.

    The layout is Bendersky's (eliben/deep-learning-samples): W flattened row-major, so
    column i * N + j belongs to W[i, j].
    """
    t_count, n = W.shape
    z = W @ x + (0.0 if b is None else b)
    e = np.exp(z - z.max())
    s = e / e.sum()
    d = np.zeros((t_count, t_count * n))
    for t in range(t_count):
        for i in range(t_count):
            for j in range(n):
                d[t, i * n + j] = s[t] * ((t == i) - s[i]) * x[j]
    return d


@pytest.mark.parametrize("t_count, n", [(1, 1), (2, 3), (3, 2), (4, 5)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_layer_jacobian_matches_loops_and_central_differences(t_count, n, with_bias):
    rng = np.random.default_rng(t_count * 10 + n)
    x, W = rng.normal(size=n), rng.normal(size=(t_count, n))
    b = rng.normal(size=t_count) if with_bias else None
    jac = softmax_layer_jacobian(x, W, b)
    assert jac.shape == (t_count, t_count * n)
    np.testing.assert_allclose(jac, layer_jacobian_by_loops(x, W, b), rtol=1e-13, atol=1e-16)
    for t in range(t_count):
        row = numerical_gradient(lambda w, t=t: softmax_layer(x, w.reshape(W.shape), b)[t], W)
        np.testing.assert_allclose(jac[t], row.reshape(-1), rtol=1e-6, atol=1e-9)


def test_vector_jacobian_product_is_the_outer_product_gradient():
    # g^T J for g = dL/dP collapses to (S - y) x^T when L is the cross-entropy of the layer.
    rng = np.random.default_rng(1)
    x, W, y = rng.normal(size=4), rng.normal(size=(3, 4)), 2
    s = softmax_layer(x, W)
    g = np.zeros(3)
    g[y] = -1.0 / s[y]  # dL/dP for L = -log P_y
    via_jacobian = (g @ softmax_layer_jacobian(x, W)).reshape(W.shape)
    collapsed = np.outer(cross_entropy_grad(W @ x, np.array(y)), x)
    np.testing.assert_allclose(via_jacobian, collapsed, rtol=1e-12, atol=1e-15)


def test_batched_layer_is_rowwise():
    rng = np.random.default_rng(2)
    x, W, b = rng.normal(size=(2, 5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    got = softmax_layer(x, W, b)
    assert got.shape == (2, 5, 4)
    np.testing.assert_allclose(got, softmax(x @ W.T + b), rtol=1e-15)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((np.ones(3), np.ones(3)), ValueError, "W must be a 2-d (N, D) matrix"),
        ((np.ones(4), np.ones((2, 3))), ValueError, "D = W.shape[1] = 3"),
        ((np.ones(3), np.ones((2, 3)), np.ones(3)), ValueError, "b must have shape (N,) = (2,)"),
        ((np.ones(3), [["a"] * 3] * 2), TypeError, "W must be an array of real numbers"),
    ],
)
def test_bad_arguments_are_named(args, error, words):
    import re

    for func in (softmax_layer, softmax_layer_jacobian):
        with pytest.raises(error, match=re.escape(words)):
            func(*args)
    with pytest.raises(ValueError, match="x must be one input vector"):
        softmax_layer_jacobian(np.ones((2, 3)), np.ones((2, 3)))


def test_a_W_with_zero_rows_is_blamed_on_W_not_x():
    for func in (softmax_layer, softmax_layer_jacobian):
        with pytest.raises(ValueError, match=r"W must have at least one row .*got shape \(0, 3\)"):
            func(np.ones(3), np.ones((0, 3)))


def test_masked_inputs_are_refused_by_name():
    x = np.ma.masked_array(np.ones(3), mask=[0, 1, 0])
    for func in (softmax_layer, softmax_layer_jacobian):
        with pytest.raises(TypeError, match="x is a masked array"):
            func(x, np.ones((2, 3)))
        with pytest.raises(TypeError, match="W is a masked array"):
            func(np.ones(3), np.ma.masked_array(np.ones((2, 3)), mask=np.eye(2, 3)))
        with pytest.raises(TypeError, match="b is a masked array"):
            func(np.ones(3), np.ones((2, 3)), np.ma.masked_array([0.0, 1.0], mask=[1, 0]))


def test_bias_moves_the_single_layer_and_its_jacobian_as_the_formulas_say():
    from softmax_pkg import formulas

    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=4), rng.normal(size=(3, 4)), rng.normal(size=3)
    np.testing.assert_allclose(
        softmax_layer(x, W, b), formulas.shifted_softmax(W @ x + b), rtol=1e-15
    )
    # d P / d W = J(W x + b) (I_T kron x^T): the formulas' Jacobian at the biased logits.
    expected = formulas.softmax_jacobian(W @ x + b) @ np.kron(np.eye(3), x[None, :])
    np.testing.assert_allclose(softmax_layer_jacobian(x, W, b), expected, rtol=1e-13, atol=1e-16)
    assert not np.allclose(softmax_layer_jacobian(x, W, b), softmax_layer_jacobian(x, W))
