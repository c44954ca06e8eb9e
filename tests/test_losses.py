"""cross_entropy and cross_entropy_grad against PyTorch, central differences and identities."""

from __future__ import annotations

import itertools
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import import_or_need
from softmax_pkg import (
    cross_entropy,
    cross_entropy_grad,
    log_softmax,
    numerical_gradient,
    one_hot,
    softmax,
)

C = 5
RNG = np.random.default_rng(0)
WEIGHT = RNG.uniform(0.2, 2.0, C)


@pytest.fixture(scope="module")
def torch():
    torch = import_or_need("torch")
    torch.set_default_dtype(torch.float64)
    return torch


def torch_loss_and_grad(torch, logits, target, axis, **kwargs):
    """torch.nn.functional.cross_entropy with the class axis moved to torch's position 1."""
    z = np.moveaxis(logits, axis, 1) if logits.ndim > 1 else logits
    zt = torch.tensor(z, requires_grad=True)
    if target.dtype.kind == "f":
        tt = torch.tensor(np.moveaxis(target, axis, 1) if target.ndim > 1 else target)
    else:
        tt = torch.tensor(target, dtype=torch.long)
    if kwargs.get("weight") is not None:
        kwargs["weight"] = torch.tensor(kwargs["weight"])
    if kwargs.get("ignore_index") is None:
        kwargs.pop("ignore_index", None)
    loss = torch.nn.functional.cross_entropy(zt, tt, **kwargs)
    loss.sum().backward()
    grad = zt.grad.numpy()
    grad = np.moveaxis(grad, 1, axis) if logits.ndim > 1 else grad
    return loss.detach().numpy(), grad


def make_problem(kind, layout, ignore_index):
    """Logits in one of three layouts and a target of the given kind."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{layout}-{ignore_index}".encode()))
    shape, axis = {"NC": ((6, C), -1), "NCd": ((4, C, 3), 1), "C": ((C,), 0)}[layout]
    logits = rng.normal(0, 3, shape)
    batch = shape[:axis] + shape[axis + 1 :] if axis >= 0 else shape[:-1]
    if kind == "index":
        target = rng.integers(0, C, batch)
        if ignore_index is not None and target.ndim:
            target.flat[::3] = ignore_index
    else:
        target = np.moveaxis(rng.dirichlet(np.ones(C), batch), -1, axis) if batch else (
            rng.dirichlet(np.ones(C))
        )
    return logits, target, axis


COMBOS = list(
    itertools.product(
        ["index", "probs"],
        ["NC", "NCd", "C"],
        [None, "weight"],
        [None, 2, -100],
        [0.0, 0.1, 1.0],
        ["none", "sum", "mean"],
    )
)


@pytest.mark.parametrize("kind, layout, weight, ignore_index, smoothing, reduction", COMBOS)
def test_value_and_gradient_match_pytorch(
    torch, kind, layout, weight, ignore_index, smoothing, reduction
):
    logits, target, axis = make_problem(kind, layout, ignore_index)
    if kind == "probs" and ignore_index is not None:
        with pytest.raises(ValueError, match="ignore_index applies only to integer"):
            cross_entropy(logits, target, axis=axis, ignore_index=ignore_index)
        return
    kwargs = dict(
        weight=WEIGHT if weight else None,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
        reduction=reduction,
    )
    want_loss, want_grad = torch_loss_and_grad(torch, logits, target, axis, **dict(kwargs))
    got_loss = cross_entropy(logits, target, axis=axis, **kwargs)
    got_grad = cross_entropy_grad(logits, target, axis=axis, **kwargs)
    if reduction == "mean" and kind == "index" and np.all(target == ignore_index):
        # The deliberate difference: nothing to average gives 0 and a zero gradient, not NaN.
        assert np.isnan(want_loss) and got_loss == 0.0 and not got_grad.any()
        return
    assert got_loss.shape == want_loss.shape
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("weight", [None, WEIGHT])
def test_all_ignored_mean_is_zero_with_zero_gradient_where_pytorch_gives_nan(torch, weight):
    logits = RNG.normal(size=(4, C))
    target = np.full(4, -100)
    loss = cross_entropy(logits, target, weight=weight, ignore_index=-100)
    grad = cross_entropy_grad(logits, target, weight=weight, ignore_index=-100)
    assert loss == 0.0 and loss.shape == ()
    np.testing.assert_array_equal(grad, np.zeros_like(logits))
    want, _ = torch_loss_and_grad(torch, logits, target, -1, ignore_index=-100)
    assert np.isnan(want)  # the difference is deliberate, and documented


@pytest.mark.parametrize("kind", ["index", "probs"])
@pytest.mark.parametrize("smoothing, reduction", [(0.0, "mean"), (0.2, "sum"), (0.3, "none")])
def test_gradient_matches_central_differences(kind, smoothing, reduction):
    logits, target, axis = make_problem(kind, "NCd", None)
    kwargs = dict(axis=axis, weight=WEIGHT, label_smoothing=smoothing, reduction=reduction)

    def loss(z):
        return float(np.sum(cross_entropy(z, target, **kwargs)))

    np.testing.assert_allclose(
        cross_entropy_grad(logits, target, **kwargs),
        numerical_gradient(loss, logits),
        rtol=1e-6,
        atol=1e-9,
    )


def test_plain_gradient_is_softmax_minus_one_hot():
    logits = RNG.normal(0, 4, (8, C))
    labels = RNG.integers(0, C, 8)
    expected = softmax(logits) - one_hot(labels, C)
    np.testing.assert_allclose(cross_entropy_grad(logits, labels, reduction="sum"), expected,
                               rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(cross_entropy_grad(logits, labels), expected / 8,
                               rtol=1e-13, atol=1e-16)


probability_problems = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, (3, n), elements=st.floats(-40, 40)),
        hnp.arrays(np.float64, (3, n), elements=st.floats(0.01, 1)),
    )
)


@settings(max_examples=200, deadline=None)
@given(probability_problems)
def test_cross_entropy_is_minus_target_dot_log_softmax(problem):
    logits, raw = problem
    target = raw / raw.sum(axis=1, keepdims=True)
    expected = -(target * log_softmax(logits)).sum(axis=1)
    got = cross_entropy(logits, target, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    labels = np.argmax(raw, axis=1)
    np.testing.assert_allclose(
        cross_entropy(logits, labels, reduction="none"),
        -log_softmax(logits)[np.arange(3), labels],
        rtol=1e-13,
        atol=1e-300,
    )


def test_small_losses_keep_their_digits():
    # -log S_0 for logits [40, 0] is log1p(e^-40) = 4.248e-18; log(softmax) gives exactly 0.
    assert cross_entropy(np.array([40.0, 0.0]), np.array(0)) == np.log1p(np.exp(-40.0))
    assert -np.log(softmax(np.array([40.0, 0.0]))[0]) == 0.0


def test_huge_logits_do_not_overflow():
    logits = np.array([[1000.0, 2000.0, 3000.0]])
    assert cross_entropy(logits, np.array([2])) == 0.0
    assert cross_entropy(logits, np.array([0])) == 2000.0


def test_float32_logits_give_float32_results():
    logits = RNG.normal(size=(4, C)).astype(np.float32)
    labels = RNG.integers(0, C, 4)
    assert cross_entropy(logits, labels).dtype == np.float32
    assert cross_entropy_grad(logits, labels).dtype == np.float32


def test_non_finite_logits_follow_the_log_softmax_table():
    inf = np.inf
    logits = np.array([[0.0, -inf, 1.0], [inf, 0.0, 0.0], [np.nan, 0.0, 0.0]])
    losses = cross_entropy(logits, np.array([1, 0, 0]), reduction="none")
    assert losses[0] == inf and losses[1] == 0.0 and np.isnan(losses[2])
    # a zero target on a -inf logit contributes 0 * log 0 = 0
    target = np.array([[0.5, 0.0, 0.5]])
    assert np.isfinite(cross_entropy(logits[:1], target))


def test_input_is_never_modified():
    logits = RNG.normal(size=(4, C))
    probs = RNG.dirichlet(np.ones(C), 4)
    before = logits.copy(), probs.copy()
    for f in (cross_entropy, cross_entropy_grad):
        f(logits, probs, label_smoothing=0.1, weight=WEIGHT)
    np.testing.assert_array_equal(logits, before[0])
    np.testing.assert_array_equal(probs, before[1])


LOGITS = np.zeros((3, C))
GOOD_LABELS = np.array([0, 1, 2])


@pytest.mark.parametrize(
    "target, kwargs, error, words",
    [
        (np.array([0, 1]), {}, ValueError, "must have the shape of logits without the class axis"),
        (np.array([0, 1, 5]), {}, ValueError, "target class indices must be in [0, 5)"),
        (np.array([0, -1, 2]), {}, ValueError, "target class indices must be in [0, 5)"),
        (np.array([0, 1, -1]), {"ignore_index": -2}, ValueError, "or equal ignore_index=-2"),
        (GOOD_LABELS, {"ignore_index": 1.5}, TypeError, "ignore_index must be an integer"),
        (np.array([0.0, 1.0, 2.0]), {}, ValueError, "(class indices need an integer dtype)"),
        (np.full((3, C), 0.2)[:, :4], {}, ValueError, "must have the shape of logits"),
        (np.full((3, C), 0.3), {}, ValueError, "must sum to 1"),
        (np.tile([1.2, -0.2, 0, 0, 0], (3, 1)), {}, ValueError, "must be finite and >= 0"),
        (np.array(["a", "b", "c"]), {}, TypeError, "target must hold integer class indices"),
        (GOOD_LABELS, {"label_smoothing": 1.5}, ValueError, "label_smoothing must be in [0, 1]"),
        (GOOD_LABELS, {"label_smoothing": -0.1}, ValueError, "label_smoothing must be in [0, 1]"),
        (GOOD_LABELS, {"weight": np.ones(4)}, ValueError, "weight must be a 1-d array"),
        (GOOD_LABELS, {"weight": -np.ones(C)}, ValueError, "weight entries must be finite"),
        (GOOD_LABELS, {"reduction": "avg"}, ValueError, "reduction must be 'none', 'sum' or 'mean'"),
        (GOOD_LABELS, {"axis": 2}, ValueError, "axis=2 is out of range for logits"),
    ],
)
@pytest.mark.parametrize("func", [cross_entropy, cross_entropy_grad])
def test_bad_arguments_are_named(func, target, kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        func(LOGITS, target, **kwargs)


def test_probability_tolerance_depends_on_dtype():
    target = np.full((1, 4), 0.25)
    target[0, 0] += 1e-5
    with pytest.raises(ValueError, match="must sum to 1"):
        cross_entropy(np.zeros((1, 4)), target)  # float64: 1e-5 is far too much
    cross_entropy(np.zeros((1, 4), np.float32), target.astype(np.float32))  # float32: fine


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([[1], [0]]), 2), [[[0, 1]], [[1, 0]]])
    assert one_hot([2], 3, dtype=np.int8).dtype == np.int8
    with pytest.raises(ValueError, match=re.escape("labels must be in [0, 3)")):
        one_hot([3], 3)
    with pytest.raises(TypeError, match="labels must be integer"):
        one_hot([1.0], 3)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        one_hot([0], 0)
    with pytest.raises(TypeError, match="num_classes must be an integer"):
        one_hot([0], 2.0)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.float64, (3, 4), elements=st.floats(-15, 15)),
    st.sampled_from(["mean", "sum", "none"]),
    st.floats(0.0, 1.0),
)
def test_gradient_matches_central_differences_for_any_logits(logits, reduction, smoothing):
    labels = np.array([0, 3, 1])
    kwargs = dict(reduction=reduction, label_smoothing=smoothing, weight=WEIGHT[:4])
    np.testing.assert_allclose(
        cross_entropy_grad(logits, labels, **kwargs),
        numerical_gradient(lambda z: float(np.sum(cross_entropy(z, labels, **kwargs))), logits),
        rtol=1e-6,
        atol=1e-8,
    )


# -- integer labels of every dtype ---------------------------------------------------------------

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_labels_of_every_dtype_give_the_same_loss_gradient_and_one_hot(dtype):
    logits = RNG.normal(size=(4, C))
    labels = np.array([0, 4, 2, 1])
    given = labels.astype(dtype)
    expected = -log_softmax(logits)[np.arange(4), labels]  # independent: the log-softmax
    np.testing.assert_allclose(cross_entropy(logits, given, reduction="none"), expected, rtol=1e-14)
    Y = np.zeros((4, C))
    Y[np.arange(4), labels] = 1.0  # independent: a loop-free one-hot by fancy indexing
    np.testing.assert_allclose(
        cross_entropy_grad(logits, given, reduction="sum"), softmax(logits) - Y, atol=1e-15
    )
    np.testing.assert_array_equal(one_hot(given, C), Y)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([1, 2**64 - 100], np.uint64),  # would wrap to -100 as int64
        np.array([1, 2**63], np.uint64),  # would wrap to the most negative int64
        np.array([1, 2**64 - 1], np.uint64),
    ],
)
def test_uint64_labels_above_int64_range_are_errors_shown_as_given_never_ignored(labels):
    shown = re.escape(f"got {labels[1]}")
    for f in (cross_entropy, cross_entropy_grad):
        with pytest.raises(ValueError, match=shown):
            f(np.zeros((2, 3)), labels, ignore_index=-100)
        with pytest.raises(ValueError, match=shown):
            f(np.zeros((2, 3)), labels)
    with pytest.raises(ValueError, match=shown):
        one_hot(labels, 3)


def test_ignore_index_outside_the_label_dtype_never_matches_a_wrapped_label():
    logits = RNG.normal(size=(3, C))
    labels = np.array([1, 2, 3], np.int8)
    # 1000 and -100 do not fit uint8 / are never equal to an int8 label: nothing is ignored.
    plain = cross_entropy(logits, labels.astype(np.int64))
    assert cross_entropy(logits, labels, ignore_index=1000) == plain
    assert cross_entropy(logits, labels.astype(np.uint8), ignore_index=-100) == plain
    assert cross_entropy(logits, labels.astype(np.uint8), ignore_index=256 + 2) == plain
    with pytest.raises(ValueError, match=re.escape("got 200")):
        cross_entropy(logits, np.array([1, 200, 3], np.uint8), ignore_index=-56)  # 200 = -56 + 256


# -- every argument checked ---------------------------------------------------------------------


@pytest.mark.parametrize("func", [cross_entropy, cross_entropy_grad])
@pytest.mark.parametrize("reduction", [np.array("mean"), np.array(["mean"]), ["sum"], None, 0])
def test_reduction_that_is_not_a_string_is_a_type_error_naming_it(func, reduction):
    with pytest.raises(TypeError, match="reduction must be one of the strings"):
        func(LOGITS, GOOD_LABELS, reduction=reduction)


@pytest.mark.parametrize("dtype", ["banana", object, str, "datetime64[s]", np.void])
def test_one_hot_bad_dtype_is_a_type_error_naming_dtype(dtype):
    with pytest.raises(TypeError, match="dtype must be"):
        one_hot([0, 1], 2, dtype=dtype)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint16, np.float32, np.float64, np.complex64])
def test_one_hot_dtype_is_honoured(dtype):
    got = one_hot(np.array([[2], [0]]), 3, dtype=dtype)
    assert got.dtype == np.dtype(dtype) and got.shape == (2, 1, 3)
    want = np.array([[[0, 0, 1]], [[1, 0, 0]]])
    np.testing.assert_array_equal(got, want.astype(dtype))


def test_masked_arrays_are_refused_unless_nothing_is_masked():
    logits = RNG.normal(size=(3, C))
    hidden = np.ma.masked_array(logits, mask=np.eye(3, C, dtype=bool))
    open_ = np.ma.masked_array(logits, mask=np.zeros((3, C), bool))
    labels = np.ma.masked_array(GOOD_LABELS, mask=[False, True, False])
    for f in (cross_entropy, cross_entropy_grad):
        with pytest.raises(TypeError, match="logits is a masked array"):
            f(hidden, GOOD_LABELS)
        with pytest.raises(TypeError, match="target is a masked array"):
            f(logits, labels)
        with pytest.raises(TypeError, match="weight is a masked array"):
            f(logits, GOOD_LABELS, weight=np.ma.masked_array(WEIGHT, mask=[1, 0, 0, 0, 0]))
        # Nothing masked, nothing lost: the same result as the plain array.
        np.testing.assert_array_equal(f(open_, GOOD_LABELS), f(logits, GOOD_LABELS))
    with pytest.raises(TypeError, match="labels is a masked array"):
        one_hot(labels, C)


def test_torch_tensors_requiring_grad_are_refused_with_a_detach_hint(torch):
    logits = torch.tensor(RNG.normal(size=(3, C)), requires_grad=True)
    target = torch.tensor([0, 1, 2])
    for f in (cross_entropy, cross_entropy_grad):
        with pytest.raises(TypeError, match=r"logits is a torch tensor that requires grad.*detach"):
            f(logits, target)
        # Detached, it is an ordinary array of numbers, and torch's own loss agrees.
        got = f(logits.detach(), target)
        assert isinstance(got, np.ndarray) or np.isscalar(got)
    loss = torch.nn.functional.cross_entropy(logits, target)
    assert cross_entropy(logits.detach(), target) == pytest.approx(loss.item(), rel=1e-13)


# -- where the results differ from PyTorch, as the docstring says -------------------------------

INF = np.inf
DEVIATIONS = {
    # name: (logits, target, kwargs, our loss, our gradient (reduction "sum" of one row))
    "+inf logit at the target": ([[INF, 0.0, 1.0]], [0], {}, 0.0, [0.0, 0.0, 0.0]),
    "+inf logit elsewhere": ([[INF, 0.0, 1.0]], [1], {}, INF, [1.0, -1.0, 0.0]),
    "two +inf logits": ([[INF, INF, 1.0]], [0], {}, np.log(2), [-0.5, 0.5, 0.0]),
    "zero probability at -inf": (
        [[-INF, 0.0, 1.0]], [[0.0, 0.5, 0.5]], {}, None, None),
    "zero total weight": ([[0.0, 0.0, 1.0]], [0], {"weight": [0.0, 1.0, 1.0]}, 0.0, [0.0] * 3),
    "every target ignored": ([[0.0, 2.0, 1.0]], [2], {"ignore_index": 2}, 0.0, [0.0] * 3),
}


@pytest.mark.parametrize("case", list(DEVIATIONS))
def test_documented_differences_from_pytorch(torch, case):
    logits, target, kwargs, loss, grad = DEVIATIONS[case]
    logits = np.array(logits)
    target = np.array(target)
    if case == "zero probability at -inf":
        # 0 log 0 = 0: the loss is the cross-entropy over the finite logits alone.
        loss = float(-(0.5 * log_softmax(logits[:, 1:])).sum())
        grad = (softmax(logits) - target)[0]
    kwargs = {k: np.array(v) for k, v in kwargs.items() if k == "weight"} | {
        k: v for k, v in kwargs.items() if k != "weight"
    }
    got = cross_entropy(logits, target, **kwargs)
    assert got == pytest.approx(loss, rel=1e-15)
    np.testing.assert_allclose(
        cross_entropy_grad(logits, target, reduction="sum", **kwargs)[0], grad, atol=1e-15
    )
    want, _ = torch_loss_and_grad(torch, logits, target, -1, **kwargs)
    assert np.isnan(want)  # PyTorch's NaN, the documented difference
    # ... and the docstring says so.
    phrase = {"+inf": "A ``+inf`` logit gives the limit", "zero probability": "0 \\log 0 = 0"}
    said = next((v for k, v in phrase.items() if k in case), "nothing to average")
    assert said in " ".join(cross_entropy.__doc__.split())


@pytest.mark.parametrize(
    "target, kwargs, words",
    [
        ([[0.0, 0.5, 0.6]], {}, "must sum to 1"),
        ([[-0.1, 0.5, 0.6]], {}, "must be finite and >= 0"),
        ([0], {"weight": np.array([-1.0, 1.0, 1.0])}, "weight entries must be finite and >= 0"),
        ([[0.0, 0.5, 0.5]], {"ignore_index": -100}, "ignore_index applies only to integer"),
    ],
)
def test_arguments_pytorch_accepts_are_documented_errors(torch, target, kwargs, words):
    logits, target = np.array([[0.0, 0.0, 1.0]]), np.array(target)
    with pytest.raises(ValueError, match=re.escape(words)):
        cross_entropy(logits, target, **kwargs)
    want, _ = torch_loss_and_grad(torch, logits, target, -1, **dict(kwargs))
    assert np.isfinite(want)  # PyTorch computes something
