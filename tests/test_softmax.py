"""softmax, log_softmax, logsumexp: values, accuracy, edge cases, bad input, properties."""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest
import scipy.special as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_pkg as sm
from softmax_pkg import engine, formulas, log_softmax, logsumexp, softmax
from softmax_pkg.reference import exact, ulp_error

FUNCS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
SCIPY = {"softmax": sps.softmax, "log_softmax": sps.log_softmax, "logsumexp": sps.logsumexp}


# -- agreement with scipy.special -------------------------------------------------------------


def _scipy_ref(name, x, axis):
    return SCIPY[name](x.astype(np.float64), axis=axis)


def assert_close_to_scipy(name, x, axis):
    # scipy's log_softmax loses up to ~1e-13 absolute near the maximum (it rounds log(sum));
    # the accuracy tests below measure ours against mpmath instead.
    atol = 1e-12 if name == "log_softmax" else 1e-15
    np.testing.assert_allclose(
        FUNCS[name](x, axis), _scipy_ref(name, x, axis), rtol=1e-12, atol=atol
    )


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 1), (1, 5), (4, 6), (2, 3, 5), (2, 1, 3, 4)])
def test_matches_scipy_for_every_axis(name, shape):
    x = np.random.default_rng(len(shape)).normal(0, 5, shape)
    for axis in range(-len(shape), len(shape)):
        assert_close_to_scipy(name, x, axis)


@pytest.mark.parametrize("name", FUNCS)
def test_matches_scipy_on_non_contiguous_views(name):
    base = np.random.default_rng(1).normal(0, 3, (12, 30, 8))
    for view in (base[::2, 5:25:3, :], base.transpose(2, 0, 1), base[..., ::-1], base[:, 3, :]):
        assert not view.flags.c_contiguous or view.ndim == 2
        for axis in range(view.ndim):
            assert_close_to_scipy(name, view, axis)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(3, 20000), (2, 70001), (40000, 3)])
def test_long_and_short_rows_take_the_blocked_paths_correctly(name, shape):
    x = np.random.default_rng(2).normal(0, 10, shape)
    for axis in (0, 1):
        assert_close_to_scipy(name, x, axis)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 600000), (1, 1 << 22), (20000, 300)])
def test_threads_give_bit_identical_results(name, dtype, shape):
    x = np.random.default_rng(3).normal(0, 10, shape).astype(dtype)
    assert engine.Call(name, x).parallel  # big enough for threads, whatever the CPU count
    np.testing.assert_array_equal(*_with_threads((1, 3), FUNCS[name], x))


def _with_threads(counts, func, x):
    """``[func(x)]`` with each thread count of ``counts`` set in turn; the old count restored."""
    results, old = [], sm.set_num_threads(counts[0])
    try:
        for count in counts:
            sm.set_num_threads(count)
            results.append(func(x))
    finally:
        sm.set_num_threads(old)
    return results


def test_rows_one_threads_block_holds_whole_are_not_cut_for_two_threads():
    # float32 rows of 65536 fit one thread's share of this call's budget, not two threads':
    # whole rows on one thread, rather than three sweeps of cut rows on two.
    for name in FUNCS:
        call = engine.Call(name, np.zeros((64, 65536), np.float32))
        assert call.block == call.row_block == 65536 and not call.parallel, name


@pytest.mark.parametrize("name", ["log_softmax", "logsumexp"])
def test_threads_give_bit_identical_results_for_rows_a_route_declines(name):
    # Rows whose maximum is below -700 are redone on the plain route, in groups whose size
    # must not depend on the thread count either.
    x = np.random.default_rng(4).normal(-800, 30, (1000, 5000))
    call = engine.Call(name, x)
    assert call.parallel and call.route == ("direct" if engine.EXTENDED else "plain")
    np.testing.assert_array_equal(*_with_threads((1, 2), FUNCS[name], x))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCS)
def test_floating_dtypes_are_kept(name, dtype):
    assert FUNCS[name](np.ones((2, 3), dtype)).dtype == dtype


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("value", [[1, 2, 3], [True, False, True], np.arange(3, dtype=np.uint8)])
def test_integer_and_bool_input_is_computed_in_float64(name, value):
    got = FUNCS[name](value)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _scipy_ref(name, np.asarray(value, float), -1), rtol=1e-15)


# -- accuracy against mpmath --------------------------------------------------------------------

SPREAD = {np.float16: 10.0, np.float32: 80.0, np.float64: 700.0}


def adversarial_rows(dtype, n, seed):
    """Rows that stress the formulas: wide spreads, ties, one dominant entry, N(0, 30^2)."""
    rng = np.random.default_rng(seed)
    spread = SPREAD[dtype]
    rows = [
        rng.uniform(-spread, spread, n),
        rng.normal(0, spread / 3, n),
        np.round(rng.uniform(-3, 3, n)),  # many ties
        np.full(n, spread / 2),  # all tied
    ]
    dominant = rng.uniform(-spread, 0, n)
    dominant[n // 2] = spread / 2  # one dominant entry
    rows.append(dominant)
    if dtype != np.float16:
        rows.append(rng.normal(0, 30, n))  # the N(0, 30^2) logits of the issue
    return [r.astype(dtype) for r in rows]


def blanchard_bound(x):
    """First-order relative error bound of the shifted softmax (Blanchard, Higham & Higham 2021).

    Counted for this implementation: the rounded shift y = x - m (|y_j| u), exp (2u: NumPy's
    float64 exp is within 1 ulp), the sum of n terms ((n - 1) u), the reciprocal and the product
    (2u); the denominator inherits the worst exponent's error (max |y| u + 2u).
    """
    u = np.finfo(np.float64).eps / 2
    y = np.abs(x - x.max())
    return u * (y + y.max() + x.size + 5)


def assert_within_the_documented_bound(name, x, got, ref, label=""):
    """float16/32: softmax within 1 ulp, the log variants 2; float64 softmax within the shifted
    formula's bound (blanchard_bound), the log variants 2 ulp. ``ref``: mpmath values."""
    if name == "softmax" and x.dtype == np.float64:
        exact_p = np.array([float(v) for v in ref])
        tiny = 2 * np.finfo(np.float64).smallest_subnormal
        assert np.all(np.abs(got - exact_p) <= blanchard_bound(x) * exact_p + tiny), label
    else:
        limit = 1.0 if name == "softmax" else 2.0
        assert ulp_error(got, ref).max() <= limit, (name, label)


def _check_accuracy(dtype, sizes, seed):
    for n in sizes:
        for k, x in enumerate(adversarial_rows(dtype, n, seed + n)):
            ref = {name: exact(name, x) for name in FUNCS}
            got = {name: FUNCS[name](x) for name in FUNCS}
            label = f"dtype={dtype.__name__}, n={n}, row {k}"
            if dtype in (np.float16, np.float32):
                assert ulp_error(got["softmax"], ref["softmax"]).max() <= 1.0, label
            else:
                exact_p = np.array([float(v) for v in ref["softmax"]])
                err = np.abs(got["softmax"] - np.array(ref["softmax"] - exact_p, float) - exact_p)
                tiny = 2 * np.finfo(np.float64).smallest_subnormal
                assert np.all(err <= blanchard_bound(x) * exact_p + tiny), label
            assert ulp_error(got["log_softmax"], ref["log_softmax"]).max() <= 2.0, label
            assert ulp_error(got["logsumexp"], ref["logsumexp"]).max() <= 2.0, label


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_accuracy_on_adversarial_inputs(dtype):
    _check_accuracy(dtype, [1, 2, 3, 10, 257, 2000], seed=10)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_accuracy_on_long_rows(dtype):
    # 10^5 entries: longer than one block, so the chunked path is measured too.
    rng = np.random.default_rng(5)
    wide = rng.uniform(-SPREAD[dtype], SPREAD[dtype], 100_000).astype(dtype)
    # Many comparable terms: the sum's own rounding error is what is being measured here.
    narrow = rng.normal(0, 1, (1 << 17) + 5).astype(dtype)
    for x, name in itertools.product([wide, narrow], FUNCS):
        assert_within_the_documented_bound(name, x, FUNCS[name](x), exact(name, x, dps=30))


def test_float32_is_more_accurate_than_scipy_on_wide_logits():
    x = np.random.default_rng(6).normal(0, 30, 200).astype(np.float32)
    ref = exact("softmax", x)
    ours = ulp_error(softmax(x), ref).max()
    theirs = ulp_error(sps.softmax(x), ref).max()
    assert ours <= 1.0 < theirs


def test_log_softmax_is_exact_at_the_maximum():
    # scipy gh-19521: log(1 + e^-40) rounds to 0, but the true value is -4.25e-18.
    got = log_softmax(np.array([0.0, 40.0]))
    assert got[1] == float(exact("log_softmax", [0.0, 40.0])[1])
    assert got[1] < 0
    assert sps.log_softmax(np.array([0.0, 40.0]))[1] == 0.0


# -- no overflow, no warnings, input untouched --------------------------------------------------


@pytest.mark.parametrize("name", FUNCS)
def test_finite_extremes_never_overflow_or_warn(name):
    rows = [
        [1000.0, 2000.0, 3000.0],
        [1e308, -1e308, 0.0],
        [-1e308, -1e308, -1e308],
        [1.7e308, 1.7e308],
        [5e-324, -5e-324, 0.0],
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for row in rows:
            got = FUNCS[name](np.array(row))
            assert not np.isnan(got).any(), row
            if name == "softmax":
                assert np.isfinite(got).all() and np.isclose(got.sum(), 1.0), row
            if name == "logsumexp":
                assert np.isfinite(got) and got >= max(row), row


def test_naive_overflow_case_from_the_source_article():
    got = softmax(np.array([1000.0, 2000.0, 3000.0]))
    np.testing.assert_array_equal(got, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("name", FUNCS)
def test_input_is_never_modified(name):
    x = np.random.default_rng(7).normal(0, 50, (30, 40))
    x[0, 0], x[1, :] = np.inf, -np.inf
    mask = np.random.default_rng(8).random((30, 40)) > 0.2
    x_before, mask_before = x.copy(), mask.copy()
    for kwargs in ({}, {"where": mask}):
        FUNCS[name](x, **kwargs)
        FUNCS[name](x, axis=0, **kwargs)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(mask, mask_before)


# -- the edge-case table -------------------------------------------------------------------------

inf, nan = np.inf, np.nan


@pytest.mark.parametrize(
    "row, where, expected, expected_lse",
    [
        # k entries equal +inf: 1/k each, 0 elsewhere
        ([0.0, inf, 1.0, inf], None, [0.0, 0.5, 0.0, 0.5], inf),
        ([inf, -inf, 2.0], None, [1.0, 0.0, 0.0], inf),
        # -inf entries get exactly 0
        ([0.0, -inf, 0.0], None, [0.5, 0.0, 0.5], np.log(2.0)),
        # all -inf: 0/0, undefined; the log of the empty sum is -inf
        ([-inf, -inf], None, [nan, nan], -inf),
        # fully masked: zeros
        ([1.0, 2.0], [False, False], [0.0, 0.0], -inf),
        # masked entries are absent, even +inf and NaN
        ([inf, 0.0, nan], [False, True, False], [0.0, 1.0, 0.0], 0.0),
        # any NaN (unmasked) poisons the row, even next to +inf
        ([1.0, nan, 2.0], None, [nan, nan, nan], nan),
        ([inf, nan], None, [nan, nan], nan),
    ],
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_edge_case_table(row, where, expected, expected_lse, dtype):
    x = np.array(row, dtype)
    w = None if where is None else np.array(where)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(x, where=w)
        lp = log_softmax(x, where=w)
        lse = logsumexp(x, where=w)
    np.testing.assert_array_equal(p, np.array(expected, dtype))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(lp, np.log(expected).astype(dtype))
    np.testing.assert_array_equal(lse, dtype(expected_lse))


def test_all_negative_infinity_logsumexp_is_minus_infinity():
    assert logsumexp(np.array([-inf, -inf])) == -inf


@pytest.mark.parametrize("name", FUNCS)
def test_edge_cases_in_long_rows_and_blocks(name):
    # The same rules hold on the chunked path (rows longer than a block) and inside a batch.
    n = 50_000
    x = np.zeros((4, n))
    x[0, [7, 40_000]] = inf
    x[1, 123] = nan
    x[2, :] = -inf
    w = np.ones((4, n), bool)
    w[3, :] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = FUNCS[name](x, where=w)
        got_t = FUNCS[name](x.T.copy(), axis=0, where=w.T.copy())
    np.testing.assert_array_equal(got, got_t if name == "logsumexp" else got_t.T)
    if name == "softmax":
        assert got[0, 7] == got[0, 40_000] == 0.5 and got[0].sum() == 1.0
        assert np.isnan(got[1]).all() and np.isnan(got[2]).all() and (got[3] == 0).all()
    elif name == "log_softmax":
        assert got[0, 7] == -np.log(2) and got[0, 0] == -inf
        assert np.isnan(got[1]).all() and np.isnan(got[2]).all() and (got[3] == -inf).all()
    else:
        assert got[0] == inf and np.isnan(got[1]) and got[2] == -inf and got[3] == -inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [6, 300, (1 << 17) + 3])
def test_edge_cases_without_a_mask_on_every_path(n, dtype):
    # Without `where`, long float64 rows take the unshifted log path and float32 softmax skips
    # the maximum; rows they cannot handle (non-finite entries) must still follow the table.
    x = np.tile(np.linspace(-3, 3, n), (5, 1)).astype(dtype)
    x[0, [1, n - 2]] = inf
    x[1, 3] = nan
    x[2, :] = -inf
    x[3, ::2] = -inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, lp, lse = softmax(x), log_softmax(x), logsumexp(x)
    assert p[0, 1] == p[0, n - 2] == 0.5 and p[0].sum() == 1.0 and lp[0, 1] == dtype(-np.log(2))
    assert np.isnan(p[1]).all() and np.isnan(lp[1]).all() and np.isnan(lse[1])
    assert np.isnan(p[2]).all() and np.isnan(lp[2]).all() and lse[2] == -inf
    assert (p[3, ::2] == 0).all() and (lp[3, ::2] == -inf).all()
    finite = x[3, 1::2]
    rtol = 4 * np.finfo(dtype).eps  # a few roundings in the dtype itself
    np.testing.assert_allclose(p[3, 1::2], sps.softmax(finite.astype(float)), rtol=rtol)
    np.testing.assert_allclose(lse[3], sps.logsumexp(finite.astype(float)), rtol=rtol)
    assert lse[0] == inf


# -- each route of the engine, directly ---------------------------------------------------------
# softmax_pkg.engine is the package's internal API; the tests call each route through it and
# compare with mpmath and softmax_pkg.formulas.


def _route(kind, x, route, temperature=1.0, w=None):
    """The engine's result for rows ``x`` on ``route``, in the public functions' form."""
    return engine.Call(kind, np.atleast_2d(x), w, temperature, route).run().out


@pytest.mark.parametrize("n", [64, 300, 3000, pytest.param((1 << 17) + 9, marks=pytest.mark.slow)])
def test_direct_route_is_within_2_ulp_and_declines_rows_it_cannot_take(n):
    # Float64 rows whose maximum lies in [-700, 600] sum exp(x_k) unshifted and scale by
    # exp(-max) in extended precision; a dominant entry makes the sum of the rest tiny, the case
    # that needs every bit. Rows outside the range, or whose unshifted sum is so small that
    # subnormal exponentials could matter, are declined (and redone on the plain route).
    rng = np.random.default_rng(n)

    def row(first, low, high):
        return np.concatenate([first, rng.uniform(low, high, n - len(first))])

    inside = [
        rng.uniform(-700, 600, n),
        row([600.0], -700, -100),
        row([5.0], -700, -690),
        row([-650.0], -700, -660),
        row([0.0, -750.0], -50, 0),  # a subnormal exponential, negligible next to the rest
        rng.normal(0, 30, n),
    ]
    outside = [
        row([601.0], -100, 0),  # maximum above 600
        row([-701.0], -760, -710),  # maximum below -700
        row([-690.0], -720, -712),  # every other exp(x_k) subnormal: declined
    ]
    rows = np.stack(inside + outside)
    a, idx = engine.row_max(rows)
    sums = engine.exp_sums(rows, idx, np.empty_like(rows))
    _, ok = engine.direct_scale(sums, a, rows.dtype, n)
    assert ok.tolist() == [True] * len(inside) + [False] * len(outside)
    routes = ["plain", "direct"] if engine.EXTENDED else ["plain"]
    for name, route in itertools.product(("log_softmax", "logsumexp"), routes):
        got = _route(name, rows, route)
        # mpmath on long rows: a few only (row 5 needs no redo, 7 is redone on the plain route)
        for k in range(len(rows)) if n < 10_000 else ((5, 7) if route == "direct" else (1,)):
            assert ulp_error(got[k], exact(name, rows[k], dps=30)).max() <= 2.0, (name, route, k)
    if engine.EXTENDED:
        assert engine.route_for("log_softmax", np.dtype(np.float64), n, False, 1.0) == "direct"


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCS)
def test_every_route_agrees_with_the_formulas_module(name, dtype):
    # Each route, forced, against the book's formulas (formulas.py) computed in float64.
    x = np.random.default_rng(14).normal(0, 6, (40, 300)).astype(dtype)
    formula = formulas.shifted_softmax if name == "softmax" else getattr(formulas, name)
    ref = formula(x.astype(np.float64))
    routes = ["plain"] + (["direct"] if name != "softmax" else [])
    for route in routes:
        got = _route(name, x, route)
        if dtype == np.float64 and name != "softmax":
            # formulas.py rounds x - m (|x - m| u per term): compare loosely with it, and
            # with mpmath to our own 2-ulp bound.
            np.testing.assert_allclose(got, ref, rtol=1e-13, err_msg=route)
            for k in range(4):
                assert ulp_error(got[k], exact(name, x[k])).max() <= 2.0, (route, k)
        else:
            rtol = 2 * np.finfo(dtype).eps
            np.testing.assert_allclose(got, ref.astype(dtype), rtol=rtol, atol=0, err_msg=route)


def test_direct_route_scales_by_an_accurate_exp_of_minus_the_maximum():
    # The direct route's sum of the rest, exp(-max) * sum_k exp(x_k), against mpmath: to 2^-56.
    import mpmath as mp

    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(-700, 600, (60, 1)), rng.uniform(-60, 0, (60, 80))], axis=1)
    x[:, 1:] += x[:, :1]  # the first entry is the maximum
    if not engine.EXTENDED:
        pytest.skip("no extended longdouble here: the direct route is never chosen")
    a, idx = engine.row_max(x)
    sums = engine.exp_sums(x, idx, np.empty_like(x))
    rest, ok = engine.direct_scale(sums, a, x.dtype, x.shape[1])
    assert ok.all()
    with mp.workdps(50):
        worst = max(
            abs(mp.mpf(float(r)) / mp.fsum(mp.exp(mp.mpf(float(v)) - mp.mpf(float(row[0])))
                                           for v in row[1:]) - 1)
            for r, row in zip(rest, x)
        )
    assert worst < 2.0**-50  # the sum itself rounds at ~log2(80) u; exp(-max) adds ~2^-63


def _mpf(v):
    """A float (longdouble included) as an exact mpmath number."""
    import mpmath as mp

    mantissa, exponent = np.frexp(np.longdouble(v))  # mantissa in [0.5, 1), 64 bits at most
    return mp.mpf(int(mantissa * np.longdouble(2) ** 64)) * mp.mpf(2) ** (int(exponent) - 64)


def test_longdouble_log_variants_of_a_long_row_keep_longdouble_precision():
    # Regression: a longdouble row longer than a block added its chunk sums in float64 (882
    # ulp of longdouble at the maximum of a 600-number log_softmax), and logsumexp scaled by
    # exp(-max) in float64 (34 ulp). Where longdouble is float64 the bound holds in its ulps.
    import mpmath as mp

    x = np.random.default_rng(5).normal(0, 3, 3000).astype(np.longdouble)
    assert engine.Call("log_softmax", x[None]).block < x.size  # a long row at this size
    with mp.workprec(256):
        xs = [_mpf(v) for v in x]
        top = max(xs)
        lse = top + mp.log(mp.fsum(mp.exp(v - top) for v in xs))
        k = int(np.argmax(x))
        for name, got, ref in [("log_softmax", log_softmax(x)[k], xs[k] - lse),
                               ("logsumexp", logsumexp(x)[()], lse)]:
            assert got.dtype == np.longdouble
            error = abs(_mpf(got) - ref) / _mpf(np.spacing(abs(got)))
            assert error <= 2, (name, float(error))


def _exact_few_values(kind, row):
    """mpmath's softmax, log_softmax or logsumexp of a row holding few distinct values (each
    counted once with its multiplicity), so that rows of 10^5 entries cost microseconds."""
    import mpmath as mp

    values, where, counts = np.unique(row.astype(np.float64), return_inverse=True,
                                      return_counts=True)
    with mp.workdps(40):
        m = mp.mpf(float(values[-1]))
        lse = m + mp.log(mp.fsum(int(c) * mp.exp(mp.mpf(float(v)) - m)
                                 for v, c in zip(values, counts)))
        if kind == "logsumexp":
            return np.array([lse])
        logs = [mp.mpf(float(v)) - lse for v in values]
        each = np.array(logs if kind == "log_softmax" else [mp.exp(v) for v in logs])
    return each[where]


def _rows_no_route_but_plain_can_take(n):
    """Rows that the direct and unshifted routes must decline: an unshifted float64 sum that
    overflows, a maximum beyond DIRECT_HI, exponentials that are all subnormal."""
    def row(first, rest):
        return np.concatenate([first, np.full(n - len(first), rest)])

    return [np.full(n, 700.0), row([709.5, 709.2], -1.0), row([-700.0], -740.0),
            row([-700.0], -745.0), row([650.0], 640.0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [64, 3000, pytest.param((1 << 16) + 7, marks=pytest.mark.slow)])
def test_rows_a_route_declines_are_redone_within_the_bounds_for_every_dtype_and_length(dtype, n):
    # Regressions: long rows whose chunk sums are finite but whose total overflows raised
    # OverflowError; a one-row block with a sum above 2^1023 raised in the exact sum; float32
    # log_softmax on the direct route gave -inf for rows at 700 and thousands of ulps where
    # every other exponential is subnormal. Each row is in a batch of its own and in one batch
    # of all five, with one and two threads.
    rows = np.stack(_rows_no_route_but_plain_can_take(n)).astype(dtype)
    old = sm.set_num_threads(2)
    try:
        together = {name: FUNCS[name](rows) for name in FUNCS}
    finally:
        sm.set_num_threads(old)
    for k, x in enumerate(rows):
        for name in FUNCS:
            ref = _exact_few_values(name, x)
            for got in (np.atleast_1d(FUNCS[name](x)), np.atleast_1d(together[name][k])):
                assert_within_the_documented_bound(name, x, got, ref, f"row {k}, n={n}")


@pytest.mark.parametrize("n", [50, pytest.param((1 << 17) + 7, marks=pytest.mark.slow)])
def test_float32_softmax_is_within_1_ulp_where_float64_exp_overflows_or_underflows(n):
    # exp(x) itself would overflow float64 (x > 709) or be tiny (all x < -590): the shift by
    # the maximum keeps every row within 1 ulp, on the block route and on the long-row route.
    rng = np.random.default_rng(7)
    rows = np.stack([
        rng.normal(0, 30, n),
        np.concatenate([[715.0], rng.uniform(600, 712, n - 1)]),
        rng.uniform(-700, -650, n),
        np.concatenate([[-100.0], rng.uniform(-800, -700, n - 1)]),
    ]).astype(np.float32)
    got = softmax(rows)
    for x, p in zip(rows, got):
        assert ulp_error(p, exact("softmax", x, dps=30)).max() <= 1.0


def test_subnormal_exponentials_cost_what_the_docstring_says():
    # Documented exception: entries more than ~708 below the maximum have subnormal
    # exp(x_k - m), correct to 2^-1075 absolute. The log variants are then within 2 ulp plus
    # N 2^-1075; float64 softmax results below 2^-1022 within 2^-1073 absolute.
    import mpmath as mp

    half_unit = mp.mpf(2) ** -1075
    beyond_2_ulp = False
    for low, n in itertools.product([-710.0, -740.0], [3, 300, 3000]):
        x = np.concatenate([[0.0], np.full(n, low)])
        for name in ("log_softmax", "logsumexp"):
            got = np.atleast_1d(FUNCS[name](x))[0]
            ref = np.atleast_1d(exact(name, x))[0]
            error = abs(mp.mpf(float(got)) - ref)
            ulp = mp.mpf(float(np.spacing(np.abs(got))))
            assert error <= 2 * ulp + n * half_unit, (name, low, n)
            beyond_2_ulp |= error > 2 * ulp
        p = softmax(x)[1]
        assert abs(mp.mpf(float(p)) - exact("softmax", x)[1]) <= 4 * half_unit
    assert beyond_2_ulp  # the exception is real: without it the 2-ulp claim would be false
    for func in FUNCS.values():
        assert "N \\cdot 2^{-1075}" in func.__doc__


def test_readme_and_docstrings_show_the_same_edge_case_table():
    from pathlib import Path

    doc = softmax.__doc__
    EDGE_CASES = doc[doc.index("    ===="): doc.index("cases emits a warning")]
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    lines = EDGE_CASES.splitlines()
    rules = [i for i, line in enumerate(lines) if line.strip().startswith("=")]
    for line in lines[rules[0] + 1 : rules[-1]]:
        if line.strip().startswith("="):
            continue
        cells = [c for c in re.split(r"\s{2,}", line.strip()) if c]
        for cell in cells:
            assert cell in readme, f"README misses {cell!r} from the edge-case table"
    for func in FUNCS.values():
        assert EDGE_CASES.strip().splitlines()[1].strip() in func.__doc__


# -- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize(
    "x, kwargs, error, words",
    [
        (["a", "b"], {}, TypeError, "x must be an array of real numbers"),
        (np.array([1, 2], dtype=object), {}, TypeError, "x must be an array of real numbers"),
        ([1 + 2j, 3], {}, TypeError, "x must be real"),
        ([[1.0, 2.0], [3.0]], {}, TypeError, "x must be a rectangular array"),
        (np.float64(3.0), {}, ValueError, "x must have at least one dimension"),
        ([1.0, 2.0], {"axis": 1}, ValueError, "axis=1 is out of range"),
        ([1.0, 2.0], {"axis": -2}, ValueError, "axis=-2 is out of range"),
        ([1.0, 2.0], {"axis": 0.0}, TypeError, "axis must be an integer"),
        ([1.0, 2.0], {"axis": "0"}, TypeError, "axis must be an integer"),
        ([1.0, 2.0], {"axis": (0, 0)}, ValueError, "names an axis twice"),
        ([1.0, 2.0], {"axis": (0.0,)}, TypeError, "axis must be an integer"),
        ([1.0, 2.0], {"where": [1, 0]}, TypeError, "where must be a boolean array"),
        ([1.0, 2.0], {"where": np.array([True, False, True])}, ValueError, "does not broadcast"),
        (np.ones((2, 3)), {"where": np.ones((3, 2), bool)}, ValueError, "does not broadcast"),
    ],
)
def test_bad_arguments_are_named(name, x, kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        FUNCS[name](x, **kwargs)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    "temperature, error",
    [(0.0, ValueError), (-1.0, ValueError), (np.inf, ValueError), (np.nan, ValueError),
     ("1", TypeError), (True, TypeError), (None, TypeError)],
)
def test_bad_temperature_is_named(name, temperature, error):
    with pytest.raises(error, match="temperature"):
        FUNCS[name]([1.0, 2.0], temperature=temperature)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_empty_class_axis_is_an_error(name):
    with pytest.raises(ValueError, match="empty class axis"):
        FUNCS[name](np.ones((3, 0)))


def test_logsumexp_of_an_empty_axis_is_minus_infinity_as_in_scipy():
    got = logsumexp(np.ones((3, 0)))
    np.testing.assert_array_equal(got, sps.logsumexp(np.ones((3, 0)), axis=-1))
    assert logsumexp(np.ones((3, 0)), keepdims=True).shape == (3, 1)


def test_empty_batch_gives_empty_output():
    assert softmax(np.ones((0, 4))).shape == (0, 4)
    assert logsumexp(np.ones((0, 4))).shape == (0,)


def test_keepdims_broadcasts_against_the_input():
    x = np.random.default_rng(9).normal(size=(3, 4, 5))
    for axis in range(3):
        kept = logsumexp(x, axis, keepdims=True)
        np.testing.assert_allclose(np.exp(x - kept).sum(axis), 1.0, rtol=1e-14)
    with pytest.raises(TypeError, match="keepdims"):
        logsumexp(x, keepdims="yes")


def test_set_num_threads_checks_its_argument():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        sm.set_num_threads(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        sm.set_num_threads(2.5)


# -- properties (hypothesis) ---------------------------------------------------------------------

finite_rows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 12)),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(finite_rows)
def test_sums_to_one_and_log_softmax_agrees(x):
    p = softmax(x)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=x.shape[-1] * 4e-16)
    lp = log_softmax(x)
    assert np.all(lp <= 0)
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-12, atol=1e-300)


@settings(max_examples=200, deadline=None)
@given(finite_rows, st.floats(-1e3, 1e3))
def test_invariant_to_adding_a_constant(x, c):
    shifted = x + c
    if not np.all(np.isfinite(shifted)):
        return
    # Adding c rounds the logits themselves; compare against the rounded differences.
    np.testing.assert_allclose(softmax(shifted), softmax(shifted - shifted.max()), atol=1e-15)
    np.testing.assert_allclose(softmax(x + c), softmax(x), rtol=1e-9, atol=1e-12 * (1 + abs(c)))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, st.integers(2, 10), elements=st.integers(-100, 100), unique=True))
def test_temperature_limits_are_argmax_and_uniform(halves):
    x = halves / 2.0  # distinct logits at least 0.5 apart, so T -> 0 picks one winner
    cold = softmax(x, temperature=1e-6)
    np.testing.assert_allclose(cold, np.eye(len(x))[np.argmax(x)], atol=1e-12)
    hot = softmax(x, temperature=1e9)
    np.testing.assert_allclose(hot, np.full(len(x), 1 / len(x)), rtol=1e-6)


@settings(max_examples=100, deadline=None)
@given(finite_rows)
def test_logsumexp_is_a_smooth_maximum(x):
    lse = logsumexp(x)
    m = x.max(axis=-1)
    assert np.all(lse >= m)
    assert np.all(lse <= m + np.log(x.shape[-1]) * (1 + 1e-15) + 1e-300 + np.abs(m) * 1e-15)


def test_logsumexp_near_zero_is_within_2_ulp_of_the_maximum():
    # When max(x) and log1p(rest) nearly cancel, LSE is ill-conditioned (its relative condition
    # number is sum_i |x_i| S_i / |LSE|); the documented bound is then 2 ulp of |max x|.
    rng = np.random.default_rng(11)
    for _ in range(50):
        x = rng.normal(0, 1, rng.integers(2, 6))
        x = x - float(exact("logsumexp", x)) + rng.normal(0, 1e-3)
        got, ref = logsumexp(x), exact("logsumexp", x)
        error = abs(float(ref - float(got)))
        assert error <= 2 * np.spacing(np.abs(x).max()), x


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(2, 6)),
                  elements=st.floats(-20, 20)))
def test_log_softmax_gradient_matches_central_differences(x):
    # d/dx of sum(g * log_softmax(x)) = g - softmax(x) * sum(g): the vjp of log_softmax.
    g = np.linspace(-1, 1, x.size).reshape(x.shape)
    expected = g - softmax(x) * g.sum(axis=-1, keepdims=True)
    got = sm.numerical_gradient(lambda z: float(np.sum(g * log_softmax(z))), x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n", [300, (1 << 17) + 3])
@pytest.mark.parametrize("temperature", [0.5, 3.0])
def test_float32_with_a_temperature_is_within_1_ulp(n, temperature):
    # float32 rows skip the shift (softmax) or scale an unshifted sum (log_softmax), with the
    # temperature applied in float64; short rows take the blocked path, long ones the chunked.
    x = np.random.default_rng(n).normal(0, 8, n).astype(np.float32)
    scaled = x.astype(np.float64) / temperature  # within 1e-16 of x / T: far below float32's ulp
    for name in ("softmax", "log_softmax"):
        got = FUNCS[name](x, temperature=temperature)
        assert ulp_error(got, exact(name, scaled, dps=30)).max() <= 1.0, name


def test_calls_from_several_threads_at_once_give_the_serial_results():
    # The pool and each thread's scratch buffers are shared state: callers running at the same
    # time must not see each other's numbers.
    import threading

    rng = np.random.default_rng(13)
    arrays = [rng.normal(0, 10, shape) for shape in [(300, 4096), (64, 70000), (2, 600000)]]
    arrays += [a.astype(np.float32) for a in arrays]
    expected = [[f(a) for f in FUNCS.values()] for a in arrays]
    mismatches = []

    def caller(k):
        for _ in range(3):
            for j, f in enumerate(FUNCS.values()):
                if not np.array_equal(f(arrays[k]), expected[k][j]):
                    mismatches.append((k, j))

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(len(arrays))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not mismatches


# -- configuration: threads ----------------------------------------------------------------------


def test_set_num_threads_while_other_threads_compute():
    # Callers inside the kernels while another thread changes the thread count: every result
    # equals the serial one, nothing raises (a pool shut down under a running call would).
    import threading

    rng = np.random.default_rng(15)
    arrays = [rng.normal(0, 10, (1100, 1000)), rng.normal(0, 10, (2, 600_000)).astype(np.float32)]
    old = sm.set_num_threads(1)
    try:
        expected = [[f(a) for f in FUNCS.values()] for a in arrays]
    finally:
        sm.set_num_threads(old)
    problems, stop = [], threading.Event()

    def caller(k):
        try:
            for _ in range(4):
                for j, f in enumerate(FUNCS.values()):
                    if not np.array_equal(f(arrays[k]), expected[k][j]):
                        problems.append((k, j))
        except Exception as exc:  # noqa: BLE001 - any exception is the failure being tested
            problems.append(exc)

    def toggler():
        for n in itertools.cycle([1, 3, 2, 1]):
            if stop.is_set():
                return
            sm.set_num_threads(n)

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(len(arrays))]
    tog = threading.Thread(target=toggler)
    tog.start()
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    stop.set()
    tog.join()
    sm.set_num_threads(old)
    assert not problems


@pytest.mark.parametrize(
    "value, expected",
    [("3", 3), (" 2 ", 2), ("", None), ("abc", None), ("2.5", None), ("0", None), ("-2", None),
     ("1e3", None)],
)
def test_thread_count_from_the_environment_is_checked_like_set_num_threads(value, expected):
    # A valid SOFTMAX_PKG_NUM_THREADS sets the default; empty counts as unset; anything else is
    # ignored with a warning naming the variable (never a traceback at import).
    import os
    import subprocess
    import sys

    code = (
        "import warnings, softmax_pkg as sm, softmax_pkg.engine as e\n"
        "print(sm.set_num_threads(1), e.DEFAULT_THREADS)\n"
    )
    env = dict(os.environ, SOFTMAX_PKG_NUM_THREADS=value)
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    got, default = map(int, done.stdout.split())
    assert "Traceback" not in done.stderr
    if expected is None:
        assert got == default
        if value:
            assert "SOFTMAX_PKG_NUM_THREADS must be an integer" in done.stderr
            assert "RuntimeWarning" in done.stderr
    else:
        assert got == expected and not done.stderr


# -- extreme but valid arguments -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("temperature", [5e-324, 1e-310, 1e-300, 1e-30])
@pytest.mark.parametrize("n", [5, 300])
def test_any_positive_temperature_however_small_gives_the_limit(temperature, dtype, n):
    # The limit T -> 0: one-hot at the arg max (shared by tied maxima), log values (x_i - m) / T
    # rounded, or -inf where that is beyond the dtype; never NaN, never a warning.
    x = np.random.default_rng(n).integers(-8, 8, n).astype(dtype)
    x[n // 2] = x.max()  # at least two tied maxima for n = 5 with high probability, or one
    ties = x == x.max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(x, temperature=temperature)
        lp = log_softmax(x, temperature=temperature)
        pb = softmax(np.stack([x, x]), axis=1, temperature=temperature)
    np.testing.assert_array_equal(p, np.where(ties, 1 / ties.sum(), 0).astype(dtype))
    np.testing.assert_array_equal(pb[1], p)
    with np.errstate(over="ignore"):
        gap = (x.astype(np.float64) - x.max()) / temperature  # correctly rounded: integer gaps
        expected = np.where(ties, -np.log(ties.sum()), gap.astype(dtype))
    np.testing.assert_allclose(lp, expected.astype(dtype), rtol=np.finfo(dtype).eps)


EXTREME_ROWS = [
    [1.7e308, -1.7e308],
    [-1.79e308, 1.79e308, 0.0],
    [1.79e308, 1.79e308],
    [-1.79e308, -1.79e308],
    [5e-324, -5e-324, 0.0],
    [1e308, -1e308, 1e308],
]


@pytest.mark.parametrize("row", EXTREME_ROWS)
def test_finite_extremes_through_every_function_never_warn(row):
    # Any finite logits in [-1.8e308, 1.8e308]: softmax, log_softmax, logsumexp (with and
    # without a temperature, on the block and on the long-row route) and cross_entropy with
    # its gradient give no NaN and no warning.
    x = np.array(row)
    long = np.repeat(x, 50_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for arr in (x, long):
            for t in (1.0, 3.0, 1e-300):
                for name in ("softmax", "log_softmax"):
                    assert not np.isnan(FUNCS[name](arr, temperature=t)).any(), (name, t)
            assert np.isfinite(logsumexp(arr)) and logsumexp(arr) >= arr.max()
        batch = np.stack([x, x[::-1]])
        labels = np.array([0, len(row) - 1])
        for target in (labels, softmax(batch)):
            loss = sm.cross_entropy(batch, target, reduction="none")
            grad = sm.cross_entropy_grad(batch, target)
            assert not np.isnan(loss).any() and (loss >= 0).all()
            assert np.isfinite(grad).all()
    p = softmax(x)
    np.testing.assert_allclose(p.sum(), 1.0)


def test_temperature_above_one_keeps_an_overflowing_difference_finite():
    # x - max overflows (3.4e308), but (x - max) / 3 = -1.13e308 is a float: it is returned.
    got = log_softmax(np.array([1.7e308, -1.7e308]), temperature=3.0)
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1], -(1.7e308 / 3) * 2, rtol=1e-15)
    assert np.isfinite(got[1])


# -- axis as in scipy.special: an int, a tuple of ints, or None -------------------------------------


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [None, (0,), (0, 2), (2, 0), (-1, 1), (0, 1, 2), ()])
def test_axis_tuple_or_none_matches_scipy(name, axis):
    x = np.random.default_rng(16).normal(0, 5, (3, 4, 5))
    got = FUNCS[name](x, axis=axis)
    ref = SCIPY[name](x, axis=axis)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)
    if name == "logsumexp":
        kept = logsumexp(x, axis=axis, keepdims=True)
        np.testing.assert_allclose(kept, sps.logsumexp(x, axis=axis, keepdims=True), rtol=1e-13)


# -- every parameter moved off its default, checked against an independent computation ----------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -3, (0, 2)])
def test_axis_temperature_and_where_together_match_the_formulas(name, axis, dtype):
    # axis off the last position, a temperature and a mask, at once, against formulas.py
    # applied to the moved, scaled and masked array (masked entries as -inf).
    rng = np.random.default_rng(17)
    x = rng.normal(0, 4, (6, 7, 8)).astype(dtype)
    where = rng.random((6, 7, 8)) > 0.3
    where[0, 0, 0] = True
    temperature = 1.7
    got = FUNCS[name](x, axis=axis, temperature=temperature, where=where)
    axes = (axis % 3,) if isinstance(axis, int) else axis
    last = tuple(range(3 - len(axes), 3))
    z = np.moveaxis(np.where(where, x.astype(np.float64) / temperature, -np.inf), axes, last)
    zm = np.moveaxis(where, axes, last)
    rows = z.reshape(-1, math.prod(z.shape[3 - len(axes):]))
    formula = formulas.shifted_softmax if name == "softmax" else formulas.log_softmax
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = formula(rows)
    ref = np.where(zm.reshape(rows.shape), ref, 0.0 if name == "softmax" else -np.inf)
    ref = np.moveaxis(ref.reshape(z.shape), last, axes)
    # float32: both sides are far more accurate than float32. float64: the two round different
    # numbers ((x - m) / T here, x / T - max there), each costing up to |y| u with |y| < 20.
    rtol = 2 * np.finfo(dtype).eps if dtype == np.float32 else 40 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, ref.astype(dtype), rtol=rtol, atol=0)


@pytest.mark.parametrize("axis", [0, 1, (0, 2), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_axis_keepdims_and_where_match_scipy_with_weights(axis, keepdims):
    # where=mask is scipy's b=mask (weights 0 and 1), an independent computation.
    rng = np.random.default_rng(18)
    x = rng.normal(0, 30, (5, 6, 7))
    where = rng.random(x.shape) > 0.4
    where[:, 0, :] = True  # no empty slice along any of the axes used
    got = logsumexp(x, axis=axis, keepdims=keepdims, where=where)
    ref = sps.logsumexp(x, axis=axis, keepdims=keepdims, b=where.astype(float))
    np.testing.assert_allclose(got, ref, rtol=1e-13)
