"""The formulas module (the book's readable specification) against the fast functions, mpmath
and finite differences, and the shared timing helper."""

import numpy as np
import pytest

import softmax_pkg as sp
from conftest import in_fresh_process
from softmax_pkg import formulas
from softmax_pkg.reference import exact
from softmax_pkg.timing import Timing, peak_bytes, time_calls

rng = np.random.default_rng(20261201)
BATCH = rng.normal(scale=3.0, size=(5, 7))
TARGETS = sp.one_hot(rng.integers(0, 7, size=5), 7)


def test_naive_and_shifted_softmax_agree_with_softmax_where_naive_is_safe():
    np.testing.assert_allclose(formulas.naive_softmax(BATCH), sp.softmax(BATCH), rtol=1e-14)
    np.testing.assert_allclose(formulas.shifted_softmax(BATCH), sp.softmax(BATCH), rtol=1e-14)


def test_naive_softmax_overflows_and_shifted_softmax_does_not():
    a = np.array([1000.0, 999.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(formulas.naive_softmax(a)).any()
    np.testing.assert_allclose(formulas.shifted_softmax(a), sp.softmax(a), rtol=1e-15)


def test_log_softmax_and_logsumexp_match_mpmath_to_two_ulp():
    a = np.array([[30.0, -5.0, -12.5, 1.0], [0.1, 0.2, 0.3, -0.4]])
    for got, kind in [(formulas.log_softmax(a), "log_softmax"), (formulas.logsumexp(a), "logsumexp")]:
        want = np.array([exact(kind, row) for row in a], dtype=np.float64).reshape(got.shape)
        ulp = np.spacing(np.abs(want))
        assert np.all(np.abs(got - want) <= 2 * ulp), kind
    np.testing.assert_allclose(formulas.log_softmax(BATCH), sp.log_softmax(BATCH), rtol=1e-14)
    np.testing.assert_allclose(formulas.logsumexp(BATCH), sp.logsumexp(BATCH), rtol=1e-14)


def test_log_softmax_keeps_the_relative_accuracy_of_the_top_class():
    a = np.array([40.0, 0.0])  # log S_1 = -log1p(e^-40) = -4.248e-18, lost by a - logsumexp(a)
    want = -np.log1p(np.exp(-40.0))
    assert formulas.log_softmax(a)[0] == pytest.approx(want, rel=4e-16)


def test_the_three_jacobians_agree_with_each_other_and_with_finite_differences():
    a = BATCH[0]
    J = formulas.softmax_jacobian(a)
    np.testing.assert_allclose(formulas.softmax_jacobian_loop(a), J, atol=1e-16)
    np.testing.assert_allclose(J, sp.softmax_jacobian(a), atol=1e-16)
    for i in range(len(a)):  # row i is the gradient of S_i
        numeric = sp.numerical_gradient(lambda t: formulas.shifted_softmax(t)[i], a)
        np.testing.assert_allclose(J[i], numeric, atol=1e-9)
    g = rng.normal(size=a.shape)
    np.testing.assert_allclose(formulas.softmax_vjp(a, g), J.T @ g, atol=1e-15)
    np.testing.assert_allclose(formulas.softmax_vjp(BATCH, BATCH), sp.softmax_vjp(BATCH, BATCH), atol=1e-15)
    np.testing.assert_allclose(formulas.softmax_jacobian(BATCH), sp.softmax_jacobian(BATCH), atol=1e-16)


def test_online_softmax_gives_the_two_pass_result():
    a = rng.normal(scale=50.0, size=300)
    np.testing.assert_allclose(formulas.online_softmax(a), sp.softmax(a), rtol=1e-13)


def test_cross_entropy_and_its_gradient_match_the_package_and_finite_differences():
    loss = formulas.cross_entropy(BATCH, TARGETS)
    np.testing.assert_allclose(loss, sp.cross_entropy(BATCH, TARGETS, reduction="none"), rtol=1e-14)
    grad = formulas.cross_entropy_grad(BATCH, TARGETS)
    np.testing.assert_allclose(grad, sp.cross_entropy_grad(BATCH, TARGETS, reduction="sum"), atol=1e-15)
    numeric = sp.numerical_gradient(lambda a: formulas.cross_entropy(a, TARGETS).sum(), BATCH)
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_time_calls_reports_median_and_worst_for_each_candidate():
    x = np.ones(10_000)
    t = time_calls({"sum": lambda: x.sum(), "sort": lambda: np.sort(x)}, rounds=3, min_time=1e-4)
    assert set(t) == {"sum", "sort"}
    for timing in t.values():
        assert isinstance(timing, Timing) and 0 < timing.median <= timing.worst


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"candidates": {}}, TypeError, "candidates"),
        ({"candidates": {"a": 3}}, TypeError, r"candidates\['a'\]"),
        ({"candidates": {"a": print}, "rounds": 0}, ValueError, "rounds"),
        ({"candidates": {"a": print}, "min_time": -1.0}, ValueError, "min_time"),
    ],
)
def test_time_calls_rejects_bad_arguments_by_name(kwargs, error, match):
    candidates = kwargs.pop("candidates")
    with pytest.raises(error, match=match):
        time_calls(candidates, **kwargs)


def test_peak_bytes_counts_the_memory_a_call_holds_at_once():
    code = """
import json
import numpy as np
from softmax_pkg.timing import peak_bytes
print(json.dumps([peak_bytes(lambda: np.ones(n).sum()) for n in (1_000, 1_000_000)]))
"""
    small, large = in_fresh_process(code)  # alone: see conftest.in_fresh_process
    assert large >= 8_000_000 > 100_000 > small
    with pytest.raises(TypeError, match="func"):
        peak_bytes(3)
