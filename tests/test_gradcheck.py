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
