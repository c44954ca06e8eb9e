"""numerical_gradient: the checker must itself be checked."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_pkg import numerical_gradient


def test_gradient_of_a_known_function():
    x = np.array([[0.5, -2.0], [3.0, 10.0]])
    got = numerical_gradient(lambda z: float(np.sum(z**3)), x)
    np.testing.assert_allclose(got, 3 * x**2, rtol=1e-8)
    assert got.shape == x.shape and got.dtype == np.float64


def test_it_catches_a_wrong_gradient():
    # The check is useful only if a plausible mistake (a missing factor 2) is far outside tolerance.
    x = np.array([0.3, -1.2, 2.0])
    good = numerical_gradient(lambda z: float(z @ z), x)
    assert np.allclose(good, 2 * x, rtol=1e-9)
    assert not np.allclose(good, x, rtol=1e-3)


def test_function_may_modify_its_argument_without_harm():
    def rude(z):
        value = float(np.sum(np.sin(z)))
        z[:] = 1e9
        return value

    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(numerical_gradient(rude, x), np.cos(x), rtol=1e-9)
    np.testing.assert_array_equal(x, [0.1, 0.2])


def test_explicit_step():
    got = numerical_gradient(lambda z: float(np.exp(z[0])), np.array([0.0]), eps=1e-3)
    np.testing.assert_allclose(got, [np.sinh(1e-3) / 1e-3], rtol=1e-12)


@pytest.mark.parametrize(
    "f, x, kwargs, error, words",
    [
        (lambda z: z, np.ones(2), {}, ValueError, "f must return a scalar"),
        (lambda z: float("nan"), np.ones(2), {}, ValueError, "f returned nan"),
        ("not callable", np.ones(2), {}, TypeError, "f must be a callable"),
        (lambda z: 0.0, ["a"], {}, TypeError, "x must be an array of real numbers"),
        (lambda z: 0.0, np.ones(2), {"eps": 0.0}, ValueError, "eps must be a finite number > 0"),
        (lambda z: 0.0, np.ones(2), {"eps": np.inf}, ValueError, "eps must be a finite number"),
    ],
)
def test_bad_arguments_are_named(f, x, kwargs, error, words):
    with pytest.raises(error, match=words):
        numerical_gradient(f, x, **kwargs)


@pytest.mark.parametrize(
    "returned, error, words",
    [
        ("0.5", TypeError, "f must return a real scalar"),
        (None, TypeError, "f must return a real scalar"),
        (1 + 2j, TypeError, "f must return a real scalar"),
        (True, TypeError, "f must return a real scalar"),
        ([1.0, 2.0], ValueError, "f must return a scalar; got an array of shape (2,)"),
        (np.ma.masked_array([1.0], mask=[True]), TypeError, "masked array"),
        (float("inf"), ValueError, "f returned inf"),
    ],
)
def test_what_f_returns_is_checked_and_named(returned, error, words):
    import re

    with pytest.raises(error, match=re.escape(words)):
        numerical_gradient(lambda z: returned, np.ones(2))


def test_f_returning_a_torch_tensor_that_requires_grad_is_refused():
    from conftest import import_or_need

    torch = import_or_need("torch")
    w = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match="f must return a real scalar.*requires grad.*detach"):
        numerical_gradient(lambda z: w * float(z.sum()), np.ones(2))
    # A plain tensor (or a detached one) is a number like any other.
    def f(z):
        return torch.tensor(float(np.sum(z**2)), dtype=torch.float64)

    got = numerical_gradient(f, np.array([1.0, -2.0]))
    np.testing.assert_allclose(got, [2.0, -4.0], rtol=1e-9)


def test_one_element_arrays_count_as_scalars():
    got = numerical_gradient(lambda z: np.array([[np.sum(z**2)]]), np.array([3.0]))
    np.testing.assert_allclose(got, [6.0], rtol=1e-9)


@pytest.mark.parametrize("eps", [1e-2, 1e-4, 1e-6])
def test_explicit_step_is_the_central_difference_with_that_step(eps):
    # For exp at x the central difference with step h is exp(x) sinh(h) / h, exactly.
    x = np.array([0.5, -1.0])
    got = numerical_gradient(lambda z: float(np.sum(np.exp(z))), x, eps=eps)
    # Rounding of f's values (a few ulps of ~e) divided by the step bounds the difference.
    np.testing.assert_allclose(got, np.exp(x) * np.sinh(eps) / eps, rtol=1e-15 / eps)
    assert not np.allclose(got, np.exp(x), rtol=1e-3 * eps**2, atol=0)  # the step was eps


def test_a_masked_point_is_refused_by_name():
    with pytest.raises(TypeError, match="x is a masked array"):
        numerical_gradient(lambda z: float(np.sum(z)), np.ma.masked_array([1.0, 2.0], mask=[0, 1]))


def test_f_may_return_any_real_number_type():
    import fractions

    from conftest import import_or_need

    mpmath, sympy = import_or_need("mpmath"), import_or_need("sympy")

    x = np.array([0.5, 2.0])
    want = 2 * x
    for wrap in (float, np.float64, sympy.Float, mpmath.mpf, fractions.Fraction):
        got = numerical_gradient(lambda z: wrap(float(z @ z)), x)
        np.testing.assert_allclose(got, want, rtol=1e-9)
