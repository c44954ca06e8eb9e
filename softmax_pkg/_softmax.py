"""softmax, log_softmax and logsumexp: one blocked kernel behind three functions.

The kernel walks over the rows (the class axis made last) in blocks of about ``_BLOCK`` numbers,
so that the shift, the exponentials and the normalisation of a block all happen while it sits in
the CPU cache. Temporaries are block-sized (and kept per thread between calls), which keeps the
peak memory at the size of the output. Blocks go to whichever thread is free. Every block is
computed in at least float64, so float16 and float32 results are correctly rounded from a far
more accurate value (within 1 ulp); float64 is computed in float64.

Three ways to the sum of the exponentials, all as accurate as the contract asks:

- shifted, exp(x - max): always valid; float64 log variants add the TwoSum correction of x - max;
- unshifted, exp(x) * exp(-max), for the log variants: float64 rows of >= 256 entries (64 for
  logsumexp) whose maximum lies in [-700, 600], with exp(-max) in double-double and a check
  that subnormal exponentials cannot matter; float16/32 rows with |max| <= 600, where float64
  is far more precise than the result;
- unshifted without the maximum at all, exp(x) / sum, for float16/32 softmax.
"""

from __future__ import annotations

import decimal
import itertools
import math
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike

from ._validate import (
    as_real_array,
    check_int,
    check_positive_finite,
    check_where,
    normalize_axis,
    working_dtype,
)

__all__ = ["softmax", "log_softmax", "logsumexp", "set_num_threads"]

# Numbers per block. Each NumPy call on a block holds the GIL for a few microseconds of setup;
# blocks of 2^16 float64 values (512 KiB) make that small next to the work, so two threads run
# nearly in parallel, and a block with its temporaries still stays in the L2/L3 caches. Smaller
# arrays use smaller blocks (down to 2^13), which keeps the temporaries a few % of the output.
# Measured with softmax_pkg/benchmark.py. A row of up to _LONG numbers is one block (one exp per
# entry); longer rows are swept in three passes.
_BLOCK = 1 << 16
_MIN_BLOCK = 1 << 13
_LONG = 1 << 17

_SOFTMAX, _LOG_SOFTMAX, _LOGSUMEXP = "softmax", "log_softmax", "logsumexp"

EDGE_CASES = """\
    ===============================  ==================  =====================  ===========
    the row (unmasked entries)       softmax             log_softmax            logsumexp
    ===============================  ==================  =====================  ===========
    all finite                       finite, sums to 1   <= 0, see below        finite
    k entries are +inf               1/k at each +inf,   -log k at each +inf,   +inf
                                     0 elsewhere         -inf elsewhere
    some entries are -inf            0 at the -inf       -inf at the -inf       finite
    every entry is -inf              NaN                 NaN                    -inf
    every entry masked by ``where``  0                   -inf                   -inf
    any entry is NaN                 NaN (whole row)     NaN (whole row)        NaN
    ===============================  ==================  =====================  ===========

    Masked entries (``where`` False) count as absent: softmax 0, log_softmax -inf. None of these
    cases emits a warning. Finite inputs never overflow, however large (up to +-1.8e308); the
    one non-finite result they can give is a log_softmax of -inf where the exact value lies
    below -1.8e308 (x = [1.7e308, -1.7e308]), which is the correctly rounded answer."""


def _prepare(x, axis, where, name="x"):
    arr = as_real_array(x, name)
    ax = normalize_axis(axis, arr.ndim, array_name=name)
    mask = check_where(where, arr.shape)
    return arr, ax, mask


def _as_rows(a: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """View ``a`` as (rows, n) with the class axis last; copies only when a view is impossible."""
    moved = a if axis == a.ndim - 1 else np.moveaxis(a, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape


def _row_sums(e: np.ndarray) -> np.ndarray:
    """Sums along the rows of a 2-d block, without BLAS.

    A matrix-vector product with ones would be faster on an idle machine, but OpenBLAS starts
    its own threads for it, which fight ours and anything else running (measured: 30x slower on
    a busy 2-core machine). Long rows use NumPy's pairwise summation (error O(log n) u, which
    the 2-ulp log_softmax relies on); short rows, where np.sum pays a per-row overhead, use
    einsum's unrolled loop (error O(n) u with n < 256).
    """
    if e.shape[1] >= 256:
        return np.add.reduce(e, axis=1)
    return np.einsum("ij->i", e)


def _nonfinite_rows(kind: str, xs: np.ndarray, ws: np.ndarray | None) -> np.ndarray:
    """Results for rows whose maximum is not finite: the table in ``EDGE_CASES``.

    ``xs`` holds whole rows (k, n); the result is (k, n), or (k,) for logsumexp.
    """
    valid = np.ones(xs.shape, dtype=bool) if ws is None else ws
    has_nan = (np.isnan(xs) & valid).any(axis=1)
    pinf = (xs == np.inf) & valid
    n_pinf = pinf.sum(axis=1)
    any_valid = valid.any(axis=1)
    all_neginf = any_valid & (n_pinf == 0) & ~has_nan
    if kind == _LOGSUMEXP:
        out = np.where(n_pinf > 0, np.inf, -np.inf)
        out[has_nan] = np.nan
        return out
    with np.errstate(divide="ignore"):
        prob = pinf / np.maximum(n_pinf, 1)[:, None]
        out = np.log(prob) if kind == _LOG_SOFTMAX else prob
    out[has_nan | all_neginf] = np.nan
    return out


def _exp_shifted(x, a, y, e, lo):
    """``e = exp(y)`` with ``y = fl(x - a)``; returns the rows' first-order correction or None.

    ``x - a`` is rounded: its absolute error, up to ``u |y|``, becomes a relative error of
    ``exp(y)``: hundreds of ulps when ``|y|`` is in the hundreds. TwoSum recovers the exact
    rounding error ``lo = (x - a) - y`` and ``exp(y + lo) = exp(y) (1 + lo)`` to working
    precision, so the exact sum of the exponentials is ``sum(e) + sum(e * lo)``: the second term,
    returned per row, is all the log variants need. Only used when x is already in the working
    precision (float64 input): a float32 or float16 difference is exact in float64. ``e`` may
    be ``y`` itself (in place).
    """
    if lo is None:
        np.exp(y, out=e)
        return None
    lo, t = lo
    np.subtract(y, x, out=lo)  # b' = y - x
    np.subtract(y, lo, out=t)  # a' = y - b'
    np.subtract(x, t, out=t)  # x - a'
    np.subtract(-a, lo, out=lo)  # -a - b'
    lo += t  # lo = exact (x - a) - y
    np.exp(y, out=e)
    lo *= e
    if lo.ndim == 1:
        correction = np.einsum("i->", lo)
        return np.nansum(lo) if np.isnan(correction) else correction
    correction = np.einsum("ij->i", lo)
    # Where y is -inf (a -inf or masked entry) e is 0 and lo NaN: those terms contribute 0.
    nan_rows = np.isnan(correction)
    if nan_rows.any():
        correction[nan_rows] = np.nansum(lo[nan_rows], axis=1)
    return correction


# Rows of at least _DIRECT_MIN float64 numbers whose maximum a lies in [_DIRECT_LO, _DIRECT_HI]
# skip the shift in the log variants: sum_k exp(x_k - a) = exp(-a) s with s = sum_k exp(x_k),
# every exp(x_k) computed from the exact x_k with the usual 1-ulp accuracy, so nothing needs
# TwoSum. exp(-a) is computed per row in double-double (``_exp_pair``) and adds no error of its
# own. A subnormal exp(x_k) (x_k < -708) is off by up to 2^-1075, so s must be at least
# n 2^-1019 for those errors to stay below 2^-56 of it; other rows are redone with the shift.
_DIRECT_MIN = 256
# logsumexp (and cross_entropy) finish exp(-a) for all rows at once, after the blocks (see
# _Rows.finish_direct): a per-block double-double exp is a few dozen NumPy calls on small
# arrays, which threads contending for the GIL slow down more than the TwoSum they replace.
_DIRECT_MIN_LSE = 64
_DIRECT_LO, _DIRECT_HI = -700.0, 600.0
_DIRECT_SUM_PER_ENTRY = 2.0**-1019

# float16/float32 softmax needs no shift at all: exp(x) in float64 overflows only for x > 709,
# which makes the row's sum inf, and where exp(x) loses accuracy (x < -708, subnormal) the
# probability exp(x) / sum is below 2^-150 whenever sum >= _UNSHIFTED_MIN_SUM = e^-590, and
# rounds to 0 in float32 as it should. Rows whose float64 sum is outside [e^-590, inf) (or NaN)
# are redone with the shift. This saves the pass that finds the maximum.
_UNSHIFTED_MIN_SUM = math.exp(-590.0)

# ln 2 = _LN2[0] + _LN2[1] + _LN2[2] to 1e-41; the first two have 40 significant bits, so
# k * _LN2[0] and k * _LN2[1] are exact for |k| < 2^13.
_LN2 = (0.6931471805592082, 7.371002565161996e-13, 5.8029889835956905e-25)
_STEPS = 256  # exp(j / 256) for |j| <= _J, as double-double pairs, made on first use
_J = 90
_table: tuple[np.ndarray, np.ndarray] | None = None


def _exp_table() -> tuple[np.ndarray, np.ndarray]:
    global _table
    if _table is None:
        ctx = decimal.Context(prec=40)
        exact = [ctx.exp(ctx.divide(decimal.Decimal(j), _STEPS)) for j in range(-_J, _J + 1)]
        hi = np.array([float(d) for d in exact])  # correctly rounded
        lo = np.array([float(ctx.subtract(d, decimal.Decimal(h))) for d, h in zip(exact, hi)])
        _table = hi, lo
    return _table


def _two_sum(p, q):
    """fl(p + q) and its rounding error, exactly: p + q = s + err (Knuth's TwoSum)."""
    s = p + q
    w = s - p
    return s, (p - (s - w)) + (q - w)


def _exp_pair(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """exp(b) for float64 b in [-700, 700] as (hi, lo), hi + lo within ~2^-60 relative.

    b = k ln2 + j/256 + t + t_lo with |t| <= 1/512, where the reduction keeps b - k ln2 to
    ~1e-30 (TwoSum), exp(j/256) comes from a table, and every later rounding is at most
    2^-53 of a term below 2^-8 of the result.
    """
    k = np.rint(b * (1.0 / math.log(2.0)))
    u = b - k * _LN2[0]  # exact (Sterbenz)
    v = -k * _LN2[1]  # exact
    r_hi, r_lo = _two_sum(u, v)
    r_lo = r_lo - k * _LN2[2]
    j = np.rint(r_hi * _STEPS)
    t = r_hi - j * (1.0 / _STEPS)  # exact
    # exp(t + r_lo) - 1 = m, to first order in r_lo (~1e-16): t + r_lo + t^2/2 + ... + t^6/720
    m = t + (r_lo + t * t * (0.5 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720))))))
    tab_hi, tab_lo = _exp_table()
    i = j.astype(np.intp) + _J
    e_hi, e_lo = tab_hi[i], tab_lo[i]
    p = e_hi * m + e_lo  # exp(j/256) (1 + m) = e_hi + p; |p| <= 2^-8 e_hi
    hi = e_hi + p  # Fast2Sum: |e_hi| >= |p|
    lo = p - (hi - e_hi)
    scale = k.astype(np.int64)
    return np.ldexp(hi, scale), np.ldexp(lo, scale)


def _direct_maximum(a) -> bool:
    return bool(np.all((a >= _DIRECT_LO) & (a <= _DIRECT_HI)))


_ERRSTATE = dict(over="ignore", under="ignore", invalid="ignore", divide="ignore")


# Scratch buffers are kept per thread between calls. A fresh block-sized buffer is fresh memory
# from the operating system, and touching it for the first time costs more than the arithmetic
# done in it (seen while developing: a (1, 65536) logsumexp took about 4x as long with fresh
# buffers). Each thread keeps at most 5 buffers of at most _SCRATCH_MAX bytes; larger requests are
# allocated per call.
_SCRATCH_MAX = 1 << 21
_scratch_local = threading.local()


class _Cache:
    """One thread's scratch buffers, by name."""

    __slots__ = ("buffers", "__weakref__")

    def __init__(self):
        self.buffers: dict[str, np.ndarray] = {}


_caches: weakref.WeakSet[_Cache] = weakref.WeakSet()  # a thread's cache goes when it ends
_caches_lock = threading.Lock()


def clear_scratch() -> None:
    """Free every thread's scratch buffers (the benchmark measures memory from a cold start)."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.buffers.clear()


def _scratch(name, shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype``, reused by this thread's later calls."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_MAX:
        return np.empty(shape, dtype=dtype)
    cache = getattr(_scratch_local, "cache", None)
    if cache is None:
        cache = _scratch_local.cache = _Cache()
        with _caches_lock:
            _caches.add(cache)
    cache = cache.buffers
    buf = cache.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = cache[name] = np.empty(-(-nbytes // 8), dtype=np.float64)  # 8-byte aligned
    return buf.view(np.uint8)[:nbytes].view(dtype).reshape(shape)


class _Temps:
    """Scratch buffers for one worker: block-sized, reused for every block it handles."""

    def __init__(self, shape, work, masked, exact_shift, second=True):
        self.t1 = _scratch("t1", shape, work)
        self.t2 = _scratch("t2", shape, work) if second else None
        self.mask = _scratch("mask", shape, bool) if masked else None
        self.lo = None
        if exact_shift:
            self.lo = (_scratch("lo", shape, work), _scratch("lo_t", shape, work))

    def lo_view(self, r):
        return None if self.lo is None else (self.lo[0][:r], self.lo[1][:r])


class _Rows:
    """The per-call state of the kernel: input rows, mask rows, output rows, temperature."""

    def __init__(self, kind, arr, axis, mask, temperature=1.0, keepdims=False):
        self.kind = kind
        self.x, moved_shape = _as_rows(arr, axis)
        self.w = None if mask is None else _as_rows(mask, axis)[0]
        self.work = working_dtype(arr.dtype)
        self.inv_t = None if temperature == 1.0 else 1.0 / temperature
        # The log variants promise 2 ulp at the maximum, which needs exp(x - a) exact to ~1 ulp.
        self.exact_shift = kind != _SOFTMAX and arr.dtype == self.work and self.inv_t is None
        # Long unmasked float64 rows in the log variants may sum exp(x) unshifted instead.
        direct_min = _DIRECT_MIN_LSE if kind == _LOGSUMEXP else _DIRECT_MIN
        self.direct = self.exact_shift and mask is None and arr.shape[axis] >= direct_min
        # float16/32 softmax without a mask does without the maximum (see _UNSHIFTED_MIN_SUM).
        self.unshifted = kind == _SOFTMAX and arr.dtype != self.work and mask is None
        m, n = self.x.shape
        self.n = n
        self.dtype, self.axis, self.keepdims, self.moved_shape = arr.dtype, axis, keepdims, moved_shape
        if kind == _LOGSUMEXP:
            # Kept apart, so callers such as cross_entropy can form (max - x_i) + rest exactly.
            self.out = np.empty(m, dtype=self.work)  # the maximum
            self.rest = np.empty(m, dtype=self.work)  # log1p of the sum without the maximum
        else:
            self.out = np.empty((m, n), dtype=arr.dtype)
        # Unshifted sums of rows that finish_direct completes (NaN: rows done otherwise).
        self.sums = np.full(m, np.nan) if self.direct and kind == _LOGSUMEXP else None

    def result(self):
        if self.kind != _LOGSUMEXP:
            out = self.out.reshape(self.moved_shape)
            return out if self.axis == out.ndim - 1 else np.moveaxis(out, -1, self.axis)
        res = (self.out + self.rest).astype(self.dtype, copy=False).reshape(self.moved_shape[:-1])
        return np.expand_dims(res, self.axis) if self.keepdims else res

    def temps(self, shape, second=True):
        return _Temps(shape, self.work, self.w is not None, self.exact_shift, second)

    # -- one block of whole rows ---------------------------------------------------------------
    def block(self, i0, i1, tmp):
        """Rows i0:i1 of the result: float16/32 softmax without the maximum where it can,
        everything else in ``rows_block``."""
        if not self.unshifted:
            return self.rows_block(i0, i1, tmp)
        t1 = tmp.t1[: i1 - i0]
        s = _row_sums(self.unshifted_exp(self.x[i0:i1], t1))
        np.multiply(t1, (1.0 / s)[:, None], out=self.out[i0:i1], casting="same_kind")
        for i in np.flatnonzero(~((s >= _UNSHIFTED_MIN_SUM) & (s < np.inf))):
            self.rows_block(i0 + i, i0 + i + 1, tmp)

    def unshifted_exp(self, x, dest):
        """exp(x / T) in the working precision (float64), into ``dest``."""
        if self.inv_t is None:
            return np.exp(x, out=dest, dtype=self.work)
        np.multiply(x, self.inv_t, out=dest, dtype=self.work)
        return np.exp(dest, out=dest)

    def unshifted_log(self, a, w) -> bool:
        """Whether the log variants may sum exp(x) unshifted in this block of rows.

        Float64 needs the maximum in ``_DIRECT_LO`` .. ``_DIRECT_HI`` (and a large enough sum,
        checked afterwards) and gets exp(-a) in double-double. For float16/32 results, float64's own rounding is far below their
        ulp: it is enough that exp(-a / T) and the sum cannot overflow (|a / T| <= 600), which
        also puts any subnormal exp(x_k) below e^-108 of the maximal term, too small to matter.
        """
        if self.direct:
            return _direct_maximum(a)
        if self.dtype == self.work or w is not None:
            return False
        return bool(np.all(np.abs(a) * (self.inv_t or 1.0) <= 600.0))

    def unshifted_rest(self, s, a):
        """sum_k exp((x_k - a) / T) of rows with maxima ``a`` from their unshifted sums
        ``s = sum_k exp(x_k / T)``, and whether each row's result can be trusted: a float64 sum
        must be large enough (``_DIRECT_SUM_PER_ENTRY``); float16/32 ones always are."""
        if self.direct:
            hi, lo = _exp_pair(-a)
            return s * hi + s * lo, s >= self.n * _DIRECT_SUM_PER_ENTRY
        return s * np.exp(-a * (self.inv_t or 1.0)), np.ones(np.shape(s), dtype=bool)

    def one_pass_shift(self, a, lse_rest):
        """a + L, if float16/32 log_softmax may be written as x - (a + L) in one float64 pass.

        With a + L = c_hi + c_lo (TwoSum), dropping c_lo changes every x_i - a - L by at most
        |c_lo|, and |x_i - a - L| >= L; if |c_lo| <= 2^-30 L in every row, the float64 result
        is within 2^-30 relative before its one rounding to float16/32. Otherwise None.
        """
        if self.dtype == self.work or self.inv_t is not None:
            return None
        c_hi, c_lo = _two_sum(a, lse_rest)
        return c_hi if np.all(np.abs(c_lo) <= lse_rest * 2.0**-30) else None

    def rows_block(self, i0, i1, tmp, unshifted=True):
        """Rows i0:i1, every kind: find the maxima, then sum the exponentials shifted (TwoSum
        for float64 log variants) or, where ``unshifted_log`` allows it and ``unshifted`` is
        True, unshifted; non-finite rows follow the table in EDGE_CASES."""
        x, kind = self.x[i0:i1], self.kind
        r = i1 - i0
        t1 = tmp.t1[:r]
        w = mb = None
        if self.w is not None:
            w = self.w[i0:i1]
            mb = np.logical_not(w, out=tmp.mask[:r])
            np.copyto(t1, x)
            np.copyto(t1, -np.inf, where=mb)
            idx = t1.argmax(axis=1)
        else:
            # argmax then a gather is several times faster than max() on short rows.
            idx = x.argmax(axis=1)
        rows = np.arange(r)
        a = (x if w is None else t1)[rows, idx].astype(self.work)[:, None]
        bad = ~np.isfinite(a[:, 0])
        if bad.any():
            a[bad] = 0.0  # keep the fast path finite; these rows are replaced below

        # y = (x - a) / T. log_softmax needs y again after the sum: in float64 it stays in the
        # output itself; otherwise it is computed a second time (cheaper than a second buffer).
        out = self.out[i0:i1]
        keep_y = kind == _LOG_SOFTMAX and (out.dtype == self.work or tmp.t2 is not None)
        y = out if (keep_y and out.dtype == self.work) else t1
        e = tmp.t2[:r] if (keep_y and y is t1) else t1

        def shift(dest):
            np.subtract(x, a, out=dest)
            if self.inv_t is not None:
                dest *= self.inv_t
            if w is not None:
                np.copyto(dest, -np.inf, where=mb)
            return dest

        redo = None
        if kind != _SOFTMAX and unshifted and self.unshifted_log(a[:, 0], w):
            # sum_k exp(x_k - a) = exp(-a) sum_k exp(x_k): one pass fewer, and no TwoSum.
            e = self.unshifted_exp(x, t1)
            e[rows, idx] = 0.0
            s = _row_sums(e)
            if self.sums is not None:  # logsumexp: finish_direct scales the sums later
                self.sums[i0:i1] = np.where(bad, np.nan, s)
                rest = np.zeros(r)
            else:
                rest, trusted = self.unshifted_rest(s, a[:, 0])
                redo = ~trusted & ~bad
            lse_rest = np.log1p(rest)
            c_hi = self.one_pass_shift(a[:, 0], lse_rest) if kind == _LOG_SOFTMAX else None
            if c_hi is not None:
                np.subtract(x, c_hi[:, None], out=out, dtype=self.work, casting="same_kind")
            elif kind == _LOG_SOFTMAX:
                y = shift(out if out.dtype == self.work else t1)
                np.subtract(y, lse_rest[:, None], out=out, casting="same_kind")
        else:
            shift(y)
            correction = _exp_shifted(x, a, y, e, tmp.lo_view(r))
            if kind == _SOFTMAX:
                s = _row_sums(e)
                np.multiply(e, (1.0 / s)[:, None], out=out, casting="same_kind")
            else:
                # Leave one maximal entry out of the sum, so that log1p sees the small rest
                # exactly: log_softmax at the maximum is -log1p(rest), not 0 (scipy gh-19521).
                e[rows, idx] = 0.0
                rest = _row_sums(e)
                if correction is not None:
                    rest += correction
                lse_rest = np.log1p(rest)
                if kind == _LOG_SOFTMAX:
                    if not keep_y:
                        y = shift(t1)
                    np.subtract(y, lse_rest[:, None], out=out, casting="same_kind")
        if kind == _LOGSUMEXP:
            out[:] = a[:, 0]
            self.rest[i0:i1] = lse_rest
        if bad.any():
            out[bad] = _nonfinite_rows(kind, x[bad], None if w is None else w[bad])
            if kind == _LOGSUMEXP:
                self.rest[i0:i1][bad] = 0.0
        if redo is not None:
            for i in np.flatnonzero(redo):  # subnormal exponentials could matter
                self.rows_block(i0 + i, i0 + i + 1, tmp, unshifted=False)

    # -- a row longer than a block: three passes over its chunks ---------------------------------
    def _masked(self, i, c0, c1, buf):
        """The row's entries c0:c1 with masked ones set to -inf (or the row itself if unmasked)."""
        if self.w is None:
            return self.x[i, c0:c1]
        dest = buf[: c1 - c0]
        np.copyto(dest, self.x[i, c0:c1])
        np.copyto(dest, -np.inf, where=~self.w[i, c0:c1])
        return dest

    def _shifted(self, i, a, c0, c1, buf):
        y = buf[: c1 - c0]
        np.subtract(self.x[i, c0:c1], a, out=y)
        if self.inv_t is not None:
            y *= self.inv_t
        if self.w is not None:
            np.copyto(y, -np.inf, where=~self.w[i, c0:c1])
        return y

    def chunk_max(self, i, c0, c1, tmp):
        """The maximum of the row's entries c0:c1 and where it is (the first NaN if any)."""
        xc = self._masked(i, c0, c1, tmp.t1)
        j = int(xc.argmax())
        return xc[j], c0 + j

    def chunk_sum(self, i, a, where_best, c0, c1, tmp, how):
        """Sums of exp(x - a) over the row's entries c0:c1 (a list: the sum, and its TwoSum
        correction if any), without the entry at ``where_best`` for the log variants; of
        exp(x / T) if ``how`` is "unshifted" (float16/32 softmax, every entry) or "direct"
        (the log variants, see ``unshifted_log``)."""
        if how == "unshifted":
            return [float(self.unshifted_exp(self.x[i, c0:c1], tmp.t1[: c1 - c0]).sum())]
        out = None if self.kind == _LOGSUMEXP else self.out[i]
        store = self.kind == _SOFTMAX and out.dtype == self.work
        e = out[c0:c1] if store else tmp.t2[: c1 - c0]
        correction = None
        if how == "direct":
            self.unshifted_exp(self.x[i, c0:c1], e)
        else:
            y = self._shifted(i, a, c0, c1, tmp.t1)
            correction = _exp_shifted(self.x[i, c0:c1], a, y, e, tmp.lo_view(c1 - c0))
        if self.kind != _SOFTMAX and c0 <= where_best < c1:
            e[where_best - c0] = 0.0
        return [float(e.sum())] + ([] if correction is None else [float(correction)])

    def chunk_write(self, i, a, total, c0, c1, tmp, how, c_hi=None):
        out = self.out[i, c0:c1]
        if c_hi is not None:  # log_softmax in one pass, see one_pass_shift
            np.subtract(self.x[i, c0:c1], c_hi, out=out, dtype=self.work, casting="same_kind")
        elif how == "unshifted":
            e = self.unshifted_exp(self.x[i, c0:c1], tmp.t1[: c1 - c0])
            np.multiply(e, 1.0 / total, out=out, casting="same_kind")
        elif self.kind == _SOFTMAX:
            if out.dtype == self.work:  # chunk_sum stored the exponentials
                out *= 1.0 / total
            else:  # recompute in the working precision, round once
                e = np.exp(self._shifted(i, a, c0, c1, tmp.t1), out=tmp.t2[: c1 - c0])
                np.multiply(e, 1.0 / total, out=out, casting="same_kind")
        else:
            y = self._shifted(i, a, c0, c1, tmp.t1)
            np.subtract(y, np.log1p(total), out=out, casting="same_kind")

    def long_row(self, i, threads):
        """One row longer than a block, in chunks of ``block_size`` shared among ``threads``.

        Every chunk is computed the same way whichever thread takes it, and the chunks' sums
        are added with fsum (exactly rounded), so the result does not depend on the threads.
        """
        n = self.n
        chunks = [(c, min(c + self.block_size, n)) for c in range(0, n, self.block_size)]

        def each_chunk(func):
            results = [None] * len(chunks)

            def body(j, tmp):
                results[j] = func(*chunks[j], tmp)

            _parallel_for(len(chunks), threads, body, lambda: self.temps(self.block_size))
            return results

        if self.unshifted:  # float16/32 softmax: no maximum needed unless the sum is unusable
            sums = each_chunk(lambda *c: self.chunk_sum(i, 0.0, -1, *c, "unshifted"))
            total = math.fsum(p for ps in sums for p in ps)
            if _UNSHIFTED_MIN_SUM <= total < np.inf:
                each_chunk(lambda *c: self.chunk_write(i, 0.0, total, *c, "unshifted"))
                return
        best, where_best = None, -1
        for v, j in each_chunk(lambda *c: self.chunk_max(i, *c)):
            if best is None or (not np.isnan(best) and (v > best or np.isnan(v))):
                best, where_best = v, j  # the first maximum, or the first NaN
        a = self.work.type(best)
        if not np.isfinite(a):
            w = None if self.w is None else self.w[i][None, :]
            self.out[i] = _nonfinite_rows(self.kind, self.x[i][None, :], w)[0]
            if self.kind == _LOGSUMEXP:
                self.rest[i] = 0.0
            return
        def row_sum(how):
            parts = each_chunk(lambda *c: self.chunk_sum(i, a, where_best, *c, how))
            return math.fsum(p for ps in parts for p in ps)

        log = self.kind != _SOFTMAX
        how = "direct" if log and self.unshifted_log(np.array([a]), self.w) else "shifted"
        total = row_sum(how)
        if how == "direct":
            rest, trusted = self.unshifted_rest(np.array([total]), np.array([a]))
            if trusted[0]:
                total = float(rest[0])
            else:  # subnormal exponentials could matter
                how = "shifted"
                total = row_sum(how)
        if self.kind == _LOGSUMEXP:
            self.out[i], self.rest[i] = a, np.log1p(total)
            return
        c_hi = self.one_pass_shift(np.array([a]), np.array([np.log1p(total)])) if log else None
        c_hi = None if c_hi is None else float(c_hi[0])
        each_chunk(lambda *c: self.chunk_write(i, a, total, *c, how, c_hi))

    def run(self):
        m, n = self.x.shape
        if not (m and n):
            return self.result()
        threads = _threads_for(m * n)
        # Independent of the thread count, so that results are too.
        self.block_size = min(_BLOCK, max(_MIN_BLOCK, (m * n) // 128))
        if n <= _LONG:
            step = max(1, self.block_size // n)
            starts = range(0, m, step)
            # float32/16 log_softmax keeps y in a second buffer where that costs little memory
            # (under 3% of the output); otherwise it computes y twice.
            temp_bytes = min(step, m) * n * self.work.itemsize
            second = (
                self.kind == _LOG_SOFTMAX
                and self.dtype != self.work
                and threads * temp_bytes <= 0.03 * self.out.nbytes
            )

            def body(j, tmp):
                self.block(starts[j], min(starts[j] + step, m), tmp)

            _parallel_for(len(starts), threads, body, lambda: self.temps((min(step, m), n), second))
            self.finish_direct()
        elif m >= threads:
            _parallel_for(m, threads, lambda i, tmp: self.long_row(i, 1), lambda: None)
        else:
            for i in range(m):
                self.long_row(i, threads)
        return self.result()

    def finish_direct(self):
        """logsumexp rows summed unshifted: log1p(sum * exp(-a)), exp(-a) in double-double for
        all of them at once; rows whose sum is too small to trust are redone with the shift."""
        if self.sums is None:
            return
        rows = np.flatnonzero(~np.isnan(self.sums))
        if not rows.size:
            return
        tmp = None
        for c in range(0, rows.size, 1 << 13):  # in pieces: _exp_pair's temporaries stay small
            part = rows[c : c + (1 << 13)]
            rest, trusted = self.unshifted_rest(self.sums[part], self.out[part])
            self.rest[part] = np.log1p(rest)
            for i in part[~trusted]:  # subnormal exponentials could matter
                tmp = tmp or self.temps((1, self.n))
                self.rows_block(i, i + 1, tmp, unshifted=False)


# -- threads -----------------------------------------------------------------------------------
# NumPy releases the GIL inside its loops, so blocks run in parallel on several cores. Below
# _PARALLEL_MIN numbers the work is too short to pay for handing it to another thread.
_PARALLEL_MIN = 1 << 18
_num_threads = max(1, int(os.environ.get("SOFTMAX_PKG_NUM_THREADS", min(os.cpu_count() or 1, 8))))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def set_num_threads(n: int) -> int:
    """Set how many threads the kernels may use (default: the CPU count, at most 8).

    The environment variable ``SOFTMAX_PKG_NUM_THREADS`` sets the default at import. Returns the
    previous value. ``set_num_threads(1)`` makes every call single-threaded.

    Examples
    --------
    >>> import softmax_pkg
    >>> old = softmax_pkg.set_num_threads(1)
    >>> _ = softmax_pkg.set_num_threads(old)
    """
    global _num_threads, _pool
    n = check_int(n, "n", 1)
    with _pool_lock:
        previous, _num_threads = _num_threads, int(n)
        if _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None
    return previous


def _threads_for(size):
    return _num_threads if size >= _PARALLEL_MIN else 1


def _with_errstate(func):
    # np.errstate is per thread (a context variable), so each task sets it itself.
    def task(k):
        with np.errstate(**_ERRSTATE):
            return func(k)

    return task


def _map(func, count):
    """[func(0), ..., func(count - 1)]: func(0) in the calling thread, the rest on the pool."""
    global _pool
    task = _with_errstate(func)
    if count <= 1:
        return [task(k) for k in range(count)]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_num_threads, thread_name_prefix="softmax_pkg")
        pool = _pool
    others = [pool.submit(task, k) for k in range(1, count)]
    first = task(0)
    return [first] + [f.result() for f in others]


def _parallel_for(count, threads, body, make_temps):
    """body(j, temps) for every j in range(count), on up to ``threads`` threads.

    Indices are handed out one at a time to whichever thread is free, so a thread that starts
    late (another program has its core) does less of the work instead of delaying the end. Each
    thread makes its scratch buffers once.
    """
    counter = itertools.count()  # next() is atomic: C code that never releases the GIL

    def worker(_):
        temps = make_temps()
        for j in iter(counter.__next__, None):
            if j >= count:
                return
            body(j, temps)

    _map(worker, min(threads, count))


def _run(kind, x, axis, where, temperature=1.0, keepdims=False):
    arr, ax, mask = _prepare(x, axis, where)
    if kind != _LOGSUMEXP and arr.shape[ax] == 0:
        raise ValueError(
            f"x has an empty class axis (axis={axis}, shape {arr.shape}); "
            f"{kind} of zero numbers is undefined"
        )
    if kind == _LOGSUMEXP and arr.shape[ax] == 0:
        shape = list(arr.shape)
        if keepdims:
            shape[ax] = 1
        else:
            del shape[ax]
        return np.full(shape, -np.inf, dtype=arr.dtype)
    return _Rows(kind, arr, ax, mask, temperature, keepdims).run()


def lse_parts(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """For a validated real array: the maximum and ``log1p`` of the rest, so LSE = max + rest.

    Both have ``x.shape`` without ``axis`` and the working dtype. ``(max - x_i) + rest`` is then
    ``-log_softmax(x)_i`` without cancellation: both terms are >= 0.
    """
    rows = _Rows(_LOGSUMEXP, x, axis, None)
    rows.run()
    shape = np.moveaxis(x, axis, -1).shape[:-1]
    return rows.out.reshape(shape), rows.rest.reshape(shape)


# Docstring parts that softmax and log_softmax share, written once.
_DOC_PARTS = {
    "{EDGE_CASES}": EDGE_CASES,
    "{X_PARAM}\n": """\
    x : array_like
        Logits, any shape. Integer and boolean input is computed in float64; float16, float32
        and float64 keep their dtype.
""",
    "{RAISES}\n": """\
    Raises
    ------
    TypeError
        If ``x`` is not real and numeric, or ``where`` is not boolean.
    ValueError
        If ``axis`` is out of range, the class axis is empty, ``temperature`` is not a finite
        positive number, or ``where`` does not broadcast to ``x``.
""",
}


def _doc(func):
    for key, text in _DOC_PARTS.items():
        func.__doc__ = func.__doc__.replace(key, text)
    return func


@_doc
def softmax(
    x: ArrayLike,
    axis: int = -1,
    *,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Softmax: exponentiate and normalise along ``axis``, without overflow.

    Parameters
    ----------
{X_PARAM}
    axis : int, default -1
        The class axis, along which the result sums to 1.
    temperature : float, default 1.0
        Divides the logits: ``softmax(x / temperature)``. Must be finite and > 0. Small values
        sharpen the distribution towards the arg-max, large values flatten it towards uniform.
    where : array_like of bool, optional
        Entries to include; excluded entries get probability 0, as if their logit were -inf.
        Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        Probabilities, same shape and floating dtype as ``x``, each slice along ``axis`` summing
        to 1.

{RAISES}

    Notes
    -----
    For a row :math:`x \in \mathbb{R}^N` and temperature :math:`\tau`,

    .. math::

        S_i(x) = \frac{e^{x_i / \tau}}{\sum_{k=1}^N e^{x_k / \tau}}
               = \frac{e^{(x_i - m)/\tau}}{\sum_{k=1}^N e^{(x_k - m)/\tau}},
        \qquad m = \max_k x_k .

    The shifted form is used: its exponents are at most 0, so nothing overflows and the
    denominator is at least 1. The rows are processed in cache-sized blocks in float64 (or
    wider), which makes float16 and float32 results correct to within 1 ulp; float64 results
    satisfy the error bound for the shifted formula of Blanchard, Higham and Higham (2021).
    float16 and float32 rows skip the shift when the float64 sum of :math:`e^{x_k/\tau}`
    neither overflows nor underflows, which spares the pass that finds the maximum.

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    References
    ----------
    P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the log-sum-exp and
    softmax functions", IMA J. Numer. Anal. 41(4), 2021. https://doi.org/10.1093/imanum/draa038

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import softmax
    >>> p = softmax([1.0, 2.0, 3.0])
    >>> p.round(2)
    array([0.09, 0.24, 0.67])
    >>> float(p.sum())
    1.0

    Huge logits are no problem, and each row of a batch sums to 1:

    >>> softmax([[1000.0, 2000.0, 3000.0], [1.0, 1.0, 1.0]]).round(3)
    array([[0.   , 0.   , 1.   ],
           [0.333, 0.333, 0.333]])

    A +inf logit takes all the probability, a mask removes an entry:

    >>> softmax([0.0, np.inf, 1.0])
    array([0., 1., 0.])
    >>> softmax([1.0, 2.0, 3.0], where=np.array([True, True, False])).round(3)
    array([0.269, 0.731, 0.   ])
    """
    check_positive_finite(temperature, "temperature")
    return _run(_SOFTMAX, x, axis, where, temperature=float(temperature))


@_doc
def log_softmax(
    x: ArrayLike,
    axis: int = -1,
    *,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Logarithm of the softmax along ``axis``, accurate to the last bits.

    Parameters
    ----------
{X_PARAM}
    axis : int, default -1
        The class axis.
    temperature : float, default 1.0
        Divides the logits: ``log_softmax(x / temperature)``. Must be finite and > 0.
    where : array_like of bool, optional
        Entries to include; excluded entries get -inf. Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        Log-probabilities, same shape and floating dtype as ``x``, all <= 0.

{RAISES}

    Notes
    -----
    With :math:`m = \max_k x_k` attained at index :math:`k^*`,

    .. math::

        \log S_i(x) = \frac{x_i - m}{\tau} - \operatorname{log1p}\Big(
            \sum_{k \ne k^*} e^{(x_k - m)/\tau}\Big).

    Summing without the maximal term and using ``log1p`` keeps the small remainder exact: at the
    maximum the result is the tiny negative number it should be, where ``log(sum)`` returns 0
    (scipy issue gh-19521). With ``temperature=1``, every entry is within 2 ulp of the exact
    value. For float64 input the rounding of :math:`x_k - m` would otherwise cost up to
    :math:`|x_k - m|/2` ulp in each term: rows of 256 entries or more with :math:`m` in
    [-700, 600] avoid it by summing :math:`e^{x_k}` unshifted and scaling by :math:`e^{-m}`
    computed in double-double; other rows recover the rounding error with TwoSum.

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import log_softmax
    >>> log_softmax([1.0, 2.0, 3.0]).round(4)
    array([-2.4076, -1.4076, -0.4076])

    At a dominant entry the answer is tiny but not zero:

    >>> float(log_softmax([0.0, 40.0])[1])
    -4.248354255291589e-18
    """
    check_positive_finite(temperature, "temperature")
    return _run(_LOG_SOFTMAX, x, axis, where, temperature=float(temperature))


@_doc
def logsumexp(
    x: ArrayLike,
    axis: int = -1,
    *,
    keepdims: bool = False,
    where: ArrayLike | None = None,
) -> np.ndarray:
    r"""Log-sum-exp along ``axis``: :math:`\log \sum_k e^{x_k}`, without overflow.

    Parameters
    ----------
    x : array_like
        Any shape. Integer and boolean input is computed in float64; float16, float32 and
        float64 keep their dtype.
    axis : int, default -1
        The axis to reduce.
    keepdims : bool, default False
        Keep the reduced axis with length 1, so the result broadcasts against ``x``.
    where : array_like of bool, optional
        Entries to include. Must broadcast to ``x.shape``.

    Returns
    -------
    numpy.ndarray
        ``x.shape`` without ``axis`` (or with length 1 there if ``keepdims``), same floating
        dtype as ``x``. A 1-d input gives a 0-d array. An empty axis gives -inf, as in scipy.

    Raises
    ------
    TypeError
        If ``x`` is not real and numeric, or ``where`` is not boolean.
    ValueError
        If ``axis`` is out of range or ``where`` does not broadcast to ``x``.

    Notes
    -----
    .. math::

        \operatorname{LSE}(x) = m + \operatorname{log1p}\Big(\sum_{k \ne k^*} e^{x_k - m}\Big),
        \qquad m = x_{k^*} = \max_k x_k,

    which lies between :math:`m` and :math:`m + \log N`: a smooth maximum. The result is within
    2 ulp of the exact value unless :math:`m` and the log1p term nearly cancel (a result close
    to 0 from inputs much larger in magnitude), where the error is bounded by 2 ulp of
    :math:`|m|`, the condition of the problem.

    Defined behaviour for non-finite input and masks:

{EDGE_CASES}

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg import logsumexp
    >>> float(logsumexp([1000.0, 1000.0]))  # 1000 + log 2, no overflow
    1000.6931471805599
    >>> logsumexp([[0.0, 0.0], [1.0, -np.inf]])
    array([0.69314718, 1.        ])
    """
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be True or False; got {keepdims!r}")
    return _run(_LOGSUMEXP, x, axis, where, keepdims=bool(keepdims))
