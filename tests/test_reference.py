"""The mpmath reference and the ulp measure behind the accuracy claims."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import import_or_need
from softmax_pkg.reference import exact, ulp_error

mpmath = import_or_need("mpmath")  # the extra "reference"


def test_exact_values_agree_with_closed_forms():
    x = np.array([0.0, np.log(3.0)])  # softmax = [1/4, 3/4]
    np.testing.assert_allclose([float(v) for v in exact("softmax", x)], [0.25, 0.75], rtol=1e-15)
    assert abs(float(exact("logsumexp", [0.0, 0.0])[()]) - np.log(2)) < 1e-16
    tiny = exact("log_softmax", [0.0, 700.0])[1]
    assert float(tiny) == -np.exp(-700.0)  # -log1p(e^-700), far below float64's 1e-16


def test_exact_handles_axes_and_batches():
    x = np.random.default_rng(0).normal(size=(2, 3))
    ref = exact("softmax", x, axis=0)
    assert ref.shape == (2, 3)
    np.testing.assert_allclose(np.array(ref, float).sum(axis=0), 1.0, rtol=1e-15)
    assert exact("logsumexp", x, axis=1).shape == (2,)


def test_ulp_error_counts_units_in_the_last_place():
    one = np.float32(1.0)
    assert ulp_error(np.nextafter(one, np.float32(2)), 1.0) == 1.0
    assert ulp_error(np.float16(0.0), 0.0) == 0.0
    assert ulp_error(np.float64(3.0), 3.0) == 0.0
    # 0.1 in float64 is 0.5 ulp or less from the true 1/10: correctly rounded
    assert ulp_error(np.float64(0.1), exact("softmax", np.zeros(10))[0]) <= 0.5
    assert ulp_error(np.array([-np.inf]), [-np.inf])[0] == 0.0


def test_bad_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        exact("softplus", [1.0])
