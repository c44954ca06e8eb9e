"""softmax_pkg.attention: against a plain loop over queries and keys, and numerical_gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmax_pkg import numerical_gradient
from softmax_pkg.attention import (
    attention_weights,
    blockwise_attention,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_vjp,
)


def loop_attention(Q, K, V, mask=None, scale=None):
    """Attention written out with Python loops and math.exp: one query, one key at a time."""
    T_q, d = Q.shape
    T_k = K.shape[0]
    s = 1 / math.sqrt(d) if scale is None else scale
    out = np.zeros((T_q, V.shape[1]))
    for i in range(T_q):
        keys = [j for j in range(T_k) if mask is None or mask[i, j]]
        if not keys:
            continue  # nothing to attend to: output 0
        z = {j: s * sum(Q[i, t] * K[j, t] for t in range(d)) for j in keys}
        m = max(z.values())
        w = {j: math.exp(z[j] - m) for j in keys}
        total = sum(w.values())
        for j in keys:
            out[i] += w[j] / total * V[j]
    return out


def draw(seed=0, T_q=5, T_k=7, d=4, d_v=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T_q, d)), rng.normal(size=(T_k, d)), rng.normal(size=(T_k, d_v))


def test_attention_equals_the_loop_without_and_with_masks():
    Q, K, V = draw()
    rng = np.random.default_rng(1)
    masks = [None, causal_mask(5, 7), rng.random((5, 7)) < 0.6, np.arange(7) < 4]
    masks[2][3] = False  # one query with no key left
    for mask in masks:
        full = None if mask is None else np.broadcast_to(mask, (5, 7))
        expected = loop_attention(Q, K, V, full)
        np.testing.assert_allclose(
            scaled_dot_product_attention(Q, K, V, mask=mask), expected, rtol=1e-12, atol=1e-15
        )
    np.testing.assert_allclose(
        scaled_dot_product_attention(Q, K, V, scale=0.3), loop_attention(Q, K, V, scale=0.3)
    )


def test_weights_sum_to_one_and_a_fully_masked_row_is_zero():
    Q, K, _ = draw()
    mask = causal_mask(5, 7)
    mask[2] = False
    A = attention_weights(Q, K, mask=mask)
    np.testing.assert_allclose(A.sum(axis=-1)[[0, 1, 3, 4]], 1.0, rtol=1e-14)
    assert np.all(A[2] == 0.0) and np.all(A[~mask] == 0.0)


def test_mask_equals_minus_inf_scores():
    Q, K, _ = draw(seed=3)
    mask = causal_mask(5, 7)
    Z = Q @ K.T / 2.0
    from softmax_pkg import softmax

    np.testing.assert_array_equal(
        attention_weights(Q, K, mask=mask), softmax(np.where(mask, Z, -np.inf))
    )


def test_batch_and_heads_broadcast_like_matmul():
    rng = np.random.default_rng(4)
    Q = rng.normal(size=(2, 3, 5, 4))
    K = rng.normal(size=(2, 1, 6, 4))  # one key set shared by the three heads
    V = rng.normal(size=(2, 1, 6, 2))
    mask = rng.random((2, 1, 5, 6)) < 0.7
    out = scaled_dot_product_attention(Q, K, V, mask=mask)
    assert out.shape == (2, 3, 5, 2)
    for b in range(2):
        for h in range(3):
            np.testing.assert_allclose(
                out[b, h], loop_attention(Q[b, h], K[b, 0], V[b, 0], mask[b, 0]), atol=1e-14
            )


@pytest.mark.parametrize("masked", [False, True])
def test_vjp_matches_numerical_gradient(masked):
    Q, K, V = draw(seed=5)
    G = np.random.default_rng(6).normal(size=(5, 3))
    mask = None
    if masked:
        mask = causal_mask(5, 7)
        mask[1] = False  # a fully masked query: its gradient must be 0, not NaN
    dQ, dK, dV = scaled_dot_product_attention_vjp(Q, K, V, G, mask=mask)

    def loss(Q, K, V):
        return float((G * scaled_dot_product_attention(Q, K, V, mask=mask)).sum())

    np.testing.assert_allclose(dQ, numerical_gradient(lambda q: loss(q, K, V), Q), atol=1e-8)
    np.testing.assert_allclose(dK, numerical_gradient(lambda k: loss(Q, k, V), K), atol=1e-8)
    np.testing.assert_allclose(dV, numerical_gradient(lambda v: loss(Q, K, v), V), atol=1e-8)
    assert np.all(np.isfinite(dK))
    if masked:
        assert np.all(dQ[1] == 0.0)


def test_vjp_sums_a_shared_key_over_heads():
    rng = np.random.default_rng(7)
    Q, K, V = rng.normal(size=(3, 4, 2)), rng.normal(size=(1, 5, 2)), rng.normal(size=(1, 5, 2))
    G = rng.normal(size=(3, 4, 2))
    _, dK, dV = scaled_dot_product_attention_vjp(Q, K, V, G)
    assert dK.shape == K.shape and dV.shape == V.shape
    parts = [scaled_dot_product_attention_vjp(Q[h], K[0], V[0], G[h]) for h in range(3)]
    np.testing.assert_allclose(dK[0], sum(p[1] for p in parts), rtol=1e-12)
    np.testing.assert_allclose(dV[0], sum(p[2] for p in parts), rtol=1e-12)


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_blockwise_attention_equals_direct_attention(block):
    Q, K, V = draw(seed=8, T_k=11)
    mask = causal_mask(5, 11)
    mask[0] = False
    for m in (None, mask):
        np.testing.assert_allclose(
            blockwise_attention(Q, K, V, block=block, mask=m),
            scaled_dot_product_attention(Q, K, V, mask=m),
            rtol=1e-13,
            atol=1e-15,
        )


def test_blockwise_attention_survives_scores_that_overflow_exp():
    Q, K, V = draw(seed=9)
    out = blockwise_attention(1000 * Q, K, V, block=2)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, scaled_dot_product_attention(1000 * Q, K, V), atol=1e-12)


def test_causal_mask_shapes():
    np.testing.assert_array_equal(causal_mask(3), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(causal_mask(2, 4), [[1, 1, 1, 0], [1, 1, 1, 1]])


def test_inputs_are_not_modified():
    Q, K, V = draw()
    copies = [a.copy() for a in (Q, K, V)]
    scaled_dot_product_attention_vjp(Q, K, V, np.ones((5, 3)), mask=causal_mask(5, 7))
    blockwise_attention(Q, K, V, block=3)
    for a, b in zip((Q, K, V), copies):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_name_the_argument():
    Q, K, V = draw()
    with pytest.raises(ValueError, match="same last dimension"):
        scaled_dot_product_attention(Q, K[:, :3], V)
    with pytest.raises(ValueError, match="V must have shape"):
        scaled_dot_product_attention(Q, K, V[:4])
    with pytest.raises(TypeError, match="mask must be a boolean"):
        attention_weights(Q, K, mask=np.ones((5, 7)))
    with pytest.raises(ValueError, match=r"mask with shape \(5, 6\) does not broadcast"):
        attention_weights(Q, K, mask=np.ones((5, 6), bool))
    with pytest.raises(ValueError, match="mask with shape"):
        blockwise_attention(Q, K, V, mask=np.ones((2, 5, 7), bool))
    with pytest.raises(ValueError, match="scale must be"):
        attention_weights(Q, K, scale=0.0)
    with pytest.raises(ValueError, match="G must have the shape"):
        scaled_dot_product_attention_vjp(Q, K, V, np.ones((5, 4)))
    with pytest.raises(ValueError, match="block must be"):
        blockwise_attention(Q, K, V, block=0)
    with pytest.raises(TypeError, match="Q must be"):
        attention_weights(np.ones((2, 2)) * 1j, K[:, :2])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        attention_weights(np.ones(4), K)
    with pytest.raises(ValueError, match="d >= 1 features"):
        attention_weights(Q[:, :0], K[:, :0])
    with pytest.raises(ValueError, match="at least one key"):
        scaled_dot_product_attention(Q, K[:0], V[:0])


@pytest.mark.parametrize("name", ["Q", "K", "V", "G"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused_by_name(name, bad):
    args = dict(zip("QKV", draw()), G=np.ones((5, 3)))
    args[name] = args[name].copy()
    args[name][1, 1] = bad
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        scaled_dot_product_attention_vjp(*args.values())
    if name != "G":
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            blockwise_attention(args["Q"], args["K"], args["V"])


def test_masked_arrays_are_refused_rather_than_their_mask_ignored():
    Q, K, V = draw()
    with pytest.raises(TypeError, match="Q is a masked array"):
        attention_weights(np.ma.masked_array(Q, Q < 0), K)
    with pytest.raises(TypeError, match="mask must be a plain boolean"):
        attention_weights(Q, K, mask=np.ma.masked_array(causal_mask(5, 7)))


def test_scores_that_overflow_raise_instead_of_warning():
    Q, K, V = draw()
    with pytest.raises(ValueError, match="scores Q K\\^T \\* scale overflow float64"):
        scaled_dot_product_attention(1e200 * Q, 1e200 * K, V)
    with pytest.raises(ValueError, match="overflow float16"):
        blockwise_attention(*(300 * a.astype(np.float16) for a in (Q, K, V)))


@pytest.mark.filterwarnings("error")
def test_float32_stays_float32_without_warnings():
    Q, K, V = (a.astype(np.float32) for a in draw())
    mask = causal_mask(5, 7)
    out = scaled_dot_product_attention(Q, K, V, mask=mask)
    assert out.dtype == np.float32
    assert attention_weights(Q, K, mask=mask).dtype == np.float32
    assert blockwise_attention(Q, K, V, block=3, mask=mask).dtype == np.float32
    grads = scaled_dot_product_attention_vjp(Q, K, V, np.ones((5, 3), np.float32), mask=mask)
    assert all(g.dtype == np.float32 for g in grads)
    exact = scaled_dot_product_attention(*(a.astype(np.float64) for a in (Q, K, V)), mask=mask)
    np.testing.assert_allclose(out, exact, rtol=1e-5, atol=1e-6)


def test_vjp_sums_over_axes_broadcast_onto_the_queries():
    """Q without the batch axis that K and V carry: dQ has Q's shape, summed over the batch."""
    rng = np.random.default_rng(12)
    Q, K, V = rng.normal(size=(4, 2)), rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5, 2))
    G = rng.normal(size=(3, 4, 2))
    dQ, _, _ = scaled_dot_product_attention_vjp(Q, K, V, G)
    assert dQ.shape == Q.shape
    parts = [scaled_dot_product_attention_vjp(Q, K[b], V[b], G[b])[0] for b in range(3)]
    np.testing.assert_allclose(dQ, sum(parts), rtol=1e-12)


def test_matches_pytorch_including_a_fully_masked_row():
    """PyTorch's scaled_dot_product_attention gives zeros (not NaN) for a query with no key left,
    and finite gradients: the convention the chapter describes. Values and gradients agree."""
    from conftest import import_or_need

    torch = import_or_need("torch")
    Q, K, V = draw(seed=10)
    G = np.random.default_rng(11).normal(size=(5, 3))
    mask = causal_mask(5, 7)
    mask[2] = False
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask))
    out.backward(torch.tensor(G))
    np.testing.assert_allclose(
        out.detach().numpy(), scaled_dot_product_attention(Q, K, V, mask=mask), atol=1e-14
    )
    assert np.all(out.detach().numpy()[2] == 0.0)
    for ours, theirs in zip(scaled_dot_product_attention_vjp(Q, K, V, G, mask=mask), (q, k, v)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-13)
    # torch.softmax itself still gives NaN for a row of -inf, as the package's softmax does.
    assert torch.isnan(torch.softmax(torch.full((4,), -torch.inf), 0)).all()
