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


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((["softmax"], [1.0]), {}, TypeError, "kind must be one of the strings"),
        (("softmax", [1.0]), {"dps": 0}, ValueError, "dps must be an integer >= 1"),
        (("softmax", [1.0]), {"dps": -5}, ValueError, "dps must be an integer >= 1"),
        (("softmax", [1.0]), {"dps": 30.5}, TypeError, "dps must be an integer"),
        (("softmax", [1.0]), {"dps": "40"}, TypeError, "dps must be an integer"),
        (("softmax", [1.0]), {"dps": True}, TypeError, "dps must be an integer"),
        (("softmax", [[1.0]]), {"axis": 2}, ValueError, "axis=2 is out of range"),
        (("softmax", np.ma.masked_array([1.0, 2.0], mask=[1, 0])), {}, TypeError, "masked array"),
    ],
)
def test_exact_checks_its_arguments_by_name(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        exact(*args, **kwargs)


@pytest.mark.parametrize(
    "computed, reference, error, words",
    [
        (np.array([1], np.int64), [1.0], TypeError, "computed must be float16, float32 or float64"),
        (np.array([1.0], np.longdouble), [1.0], TypeError, "computed must be float16"),
        (np.array([1.0]), ["one"], TypeError, "reference must hold real numbers"),
        (np.array([1.0]), [1.0, 2.0], ValueError, "reference has shape"),
    ],
)
def test_ulp_error_checks_its_arguments_by_name(computed, reference, error, words):
    with pytest.raises(error, match=words):
        ulp_error(computed, reference)


@pytest.mark.parametrize("dps", [20, 40, 80])
def test_exact_at_each_precision_agrees_with_mpmath_written_out(dps):
    # Independent: the textbook formula in mpmath at 2 * dps digits, rounded to dps.
    x = [0.3, -1.7, 2.5, 0.0]
    with mpmath.workdps(2 * dps):
        e = [mpmath.exp(mpmath.mpf(v)) for v in x]
        total = mpmath.fsum(e)
        want = {"softmax": [v / total for v in e], "logsumexp": mpmath.log(total)}
        want["log_softmax"] = [mpmath.mpf(v) - want["logsumexp"] for v in x]
    for kind in ("softmax", "log_softmax"):
        got = exact(kind, x, dps=dps)
        for g, w in zip(got, want[kind]):
            assert abs(g - w) <= abs(w) * mpmath.mpf(10) ** (2 - dps)
    assert abs(exact("logsumexp", x, dps=dps)[()] - want["logsumexp"]) <= mpmath.mpf(10) ** (2 - dps)
    # ... and fewer digits really are fewer: 20 digits miss what 80 resolve.
    if dps == 20:
        fine = exact("softmax", x, dps=80)
        assert any(abs(g - f) > mpmath.mpf(10) ** -40 for g, f in zip(exact("softmax", x, dps=20), fine))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_exact_along_each_axis_matches_row_by_row(axis):
    x = np.random.default_rng(axis + 3).normal(size=(3, 4))
    got = exact("log_softmax", x, axis=axis)
    rows = np.moveaxis(x, axis, -1)
    for index in np.ndindex(rows.shape[:-1]):
        want = exact("log_softmax", rows[index])
        np.testing.assert_array_equal(np.moveaxis(got, axis, -1)[index], want)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ulp_error_uses_the_spacing_of_each_dtype(dtype):
    one = dtype(1.0)
    up = np.nextafter(one, dtype(2))
    assert ulp_error(up, 1.0) == 1.0
    # Half-way between 1 and the next float of the dtype is half an ulp from either.
    with mpmath.workprec(200):  # 1 + eps/2 is not a float64: hold it in 200 bits
        half = mpmath.mpf(1) + mpmath.mpf(float(np.finfo(dtype).eps)) / 2
    assert ulp_error(one, half) == 0.5
    assert ulp_error(np.array([one, up]), [half, half]).tolist() == [0.5, 0.5]
