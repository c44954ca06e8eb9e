"""The row engine behind softmax, log_softmax and logsumexp. Internal: no stability promise.

This module is the one place that ``softmax_pkg._softmax``, ``softmax_pkg._losses``, the
benchmark and the tests reach into; the book does not. What a call does, its three routes and
their limits, is described, and its constants are defined, in the public ``softmax_pkg.routes``,
which chapters 6 and 7 read. The threads (the pool, the lock, ``set_num_threads``) live in
``softmax_pkg._threads``.

Every function takes *rows*: a 2-d array ``x`` of shape (m, n), the class axis last. The rows are
walked in blocks of whole rows (at most ``BLOCK`` numbers), so that the maximum, the
exponentials, the sum and the final scaling of a block all happen while it sits in the CPU cache,
and the temporaries stay a small fraction of the output. A row longer than a block is walked in
sweeps over chunks of a block (maximum, sum, result: ``Call.long_row``) on the same route, the
chunks of one row shared out to threads where it is big enough. float16 and float32 are
computed in float64 and rounded once at the end. On the plain route the float64 log variants add the exact rounding
error of ``x - m`` (TwoSum), without which a term's relative error is ``|x - m| u``: hundreds of
ulps at the maximum. The direct route's ``exp(-m)`` is computed in ``np.longdouble``.
"""

from __future__ import annotations

import math

import numpy as np

from ._threads import (  # noqa: F401
    BUFSIZE, DEFAULT_THREADS, THREAD_COST, num_threads, parallel_map, quiet, set_num_threads,
)
from .routes import (  # noqa: F401  (the limits, public there)
    BLOCK, DIRECT_HI, DIRECT_LO, DIRECT_MIN_N, DIRECT_MIN_SUM, EXTENDED, PARALLEL_MIN,
    UNSHIFTED_MIN_SUM,
)

SOFTMAX, LOG_SOFTMAX, LOGSUMEXP = KINDS = ("softmax", "log_softmax", "logsumexp")

MIN_CHUNK = 256  # fewest numbers in a chunk of a long row
PARALLEL_BLOCK = 1 << 15  # a thread's blocks hold at least this many numbers
ROW_COST = 128  # bytes of the per-row arrays of a block (maxima, sums, ...) for each row


# -- the block kernels -------------------------------------------------------------------------


def row_max(x: np.ndarray, work=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each row (the first NaN if any), in the working dtype, and where it is."""
    idx = x.argmax(axis=1)  # argmax and a gather beat max() on short rows
    return x[np.arange(len(x)), idx].astype(work), idx


def row_sums(e, t=None):
    """Sums of the rows of ``e`` >= 0; with scratch ``t``, to within one rounding.

    NumPy's pairwise sum can be off by a few ulp, which the 2-ulp log variants cannot afford.
    With ``t``: sigma, a power of two >= 2 sum(e), splits each term exactly into
    ``q = (e + sigma) - sigma``, a multiple of ulp(sigma) whose sum is exact, and ``r = e - q``,
    whose rounding errors are ~n u of ulp(sigma) (Rump, Ogita and Oishi's ExtractVector).
    """
    s = np.add.reduce(e, axis=1)
    if t is None:
        return s
    if len(s) == 1:  # a chunk of a long row: the same power of two, without array calls
        if not s[0] < 2.0**1022:  # sigma would overflow: a row its route declines anyway
            return s
        sigma = math.ldexp(1.0, math.frexp(s[0])[1] + 1)
    else:
        sigma = np.ldexp(1.0, np.frexp(s)[1] + 1)[:, None]
    np.add(e, sigma, out=t)
    t -= sigma
    hi = np.add.reduce(t, axis=1)
    np.subtract(e, t, out=t)
    return hi + np.add.reduce(t, axis=1)


def shift(x, a, temperature, y):
    """``y = (x - a) / T``. A subnormal T gives -inf, never NaN. If ``x - a`` overflows, the
    quotient is formed from halves, so that for T > 1 a representable result stays finite."""
    if x.dtype == y.dtype:
        np.subtract(x, a, out=y)
    else:  # float16/32: widen first (exact), then subtract in float64: faster than mixed types
        np.copyto(y, x)
        y -= a
    if temperature != 1.0:
        y /= temperature
        if temperature > 1.0 and not np.isfinite(np.add.reduce(y, axis=None)):  # rare: no
            # temporaries otherwise (a sum of numbers <= 0 is finite unless one is -inf or NaN,
            # or it overflows, which only costs this check)
            over = np.isinf(y) & np.isfinite(x)
            halves = (np.broadcast_to(x, y.shape)[over] * 0.5
                      - np.broadcast_to(a, y.shape)[over] * 0.5)
            y[over] = halves / temperature * 2.0
    return y


def plain_sums(x, a, idx, temperature, y, e, lo=None):
    """Fill ``y = (x - a) / T`` (``a``: the rows' maxima as a column) and ``e = exp(y)``;
    return each row's sum of ``e``, without the entry at ``idx`` unless it is None (the log
    variants leave the maximal term out). With ``lo`` (two scratch arrays: float64 log
    variants, T = 1) the sum includes the rounding error of ``x - a``:
    ``exp(y + lo) = e (1 + lo)`` to working precision."""
    shift(x, a, temperature, y)
    if lo is not None:  # lo = (x - a) - y exactly (Knuth's TwoSum; t is scratch)
        lo, t = lo
        np.subtract(y, x, out=lo)  # b' = y - x
        np.subtract(y, lo, out=t)  # a' = y - b'
        np.subtract(x, t, out=t)  # x - a'
        np.subtract(-a, lo, out=lo)  # -a - b'
        lo += t
    np.exp(y, out=e)
    if idx is not None:
        e[np.arange(len(e)), idx] = 0.0
    if lo is None:
        return row_sums(e)
    correction = np.einsum("ij,ij->i", e, lo)
    if np.isnan(correction).any():  # -inf entries: e = 0, lo = NaN; their terms are 0
        np.copyto(lo, 0.0, where=e == 0)
        correction = np.einsum("ij,ij->i", e, lo)
    return row_sums(e, t) + correction


def exp_sums(x, idx, e, t=None):
    """Fill ``e = exp(x)`` (float64, unshifted) and return each row's sum without the entry at
    ``idx`` (if not None); ``t`` is scratch for an accurate sum."""
    if x.dtype == e.dtype:
        np.exp(x, out=e)
    else:  # widen first: a mixed-type ufunc would allocate casting buffers
        np.copyto(e, x)
        np.exp(e, out=e)
    if idx is not None:
        e[np.arange(len(e)), idx] = 0.0
    return row_sums(e, t)


def direct_scale(s, a, dtype, n):
    """``exp(-a) s`` for unshifted sums ``s`` of rows of ``n`` entries with maxima ``a``, and
    which rows may use it (see ``DIRECT_LO``): the same rows for every dtype, since a sum that
    overflows or whose exponentials are subnormal is no more accurate for a float16/32 result."""
    ok = (a >= DIRECT_LO) & (a <= DIRECT_HI) & (s >= n * DIRECT_MIN_SUM) & (s < np.inf)
    if dtype != np.float64:  # float64 is far more precise than a float16/32 result
        return s * np.exp(-np.asarray(a, dtype=np.float64)), ok
    scale = np.exp(-np.asarray(a, dtype=np.longdouble))
    hi = scale.astype(np.float64)
    return s * hi + s * (scale - hi).astype(np.float64), ok


def edge_counts(x: np.ndarray, w: np.ndarray | None):
    """For rows (or a piece of them): whether an unmasked entry is NaN, how many are +inf, and
    whether any entry is unmasked."""
    valid = np.True_ if w is None else w
    any_valid = np.full(len(x), x.shape[1] > 0) if w is None else w.any(axis=1)
    return (np.isnan(x) & valid).any(axis=1), ((x == np.inf) & valid).sum(axis=1), any_valid


def edge_values(kind, x, w, has_nan, n_pinf, any_valid):
    """The edge-case table's result for rows (or a piece of them) whose maximum is not finite,
    from their ``edge_counts`` over the whole rows: (k, n), or (k,) for logsumexp."""
    if kind == LOGSUMEXP:
        out = np.where(n_pinf > 0, np.inf, -np.inf)
        out[has_nan] = np.nan
        return out
    with np.errstate(divide="ignore"):
        prob = ((x == np.inf) & (np.True_ if w is None else w)) / np.maximum(n_pinf, 1)[:, None]
        out = np.log(prob) if kind == LOG_SOFTMAX else prob
    out[has_nan | (any_valid & (n_pinf == 0))] = np.nan  # a NaN, or every entry -inf
    return out


def nonfinite_rows(kind: str, x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Rows whose maximum is not finite, by the edge-case table: (k, n), or (k,) for logsumexp."""
    return edge_values(kind, x, w, *edge_counts(x, w))


# -- a call: its route, its blocks -------------------------------------------------------------


def route_for(kind, dtype, n, masked, temperature) -> str:
    """The route a call takes (see the module docstring): chosen once per call."""
    if kind == SOFTMAX:
        return "unshifted" if dtype.itemsize < 8 and not masked else "plain"
    if masked or temperature != 1.0 or n < DIRECT_MIN_N or dtype.itemsize > 8:
        return "plain"  # longdouble too: its scale would need more than extended precision
    if dtype.itemsize < 8:  # float16/32 logsumexp: direct bought at most 1.08x (benchmark)
        return "direct" if kind == LOG_SOFTMAX else "plain"
    return "direct" if EXTENDED else "plain"


class Call:
    """One call of the engine: the rows, the result, and how the work is split.

    ``out`` is the result in the input's dtype: (m, n), or (m,) for logsumexp. With
    ``parts=True`` (logsumexp) it holds the rows' maxima instead, in the working dtype, with
    ``rest = log1p(sum without the maximal term)`` beside it (LSE = out + rest).
    """

    def __init__(self, kind, x, w=None, temperature=1.0, route=None, out=None, parts=False,
                 threads=None):
        self.kind, self.x, self.w, self.temperature = kind, x, w, float(temperature)
        self.work = np.result_type(x.dtype, np.float64)  # longdouble stays longdouble
        m, n = x.shape
        if out is not None:  # (out, rest) of another call: a row it redoes
            self.out, self.rest = out
        elif kind != LOGSUMEXP:
            self.out, self.rest = np.empty((m, n), dtype=x.dtype), None
        elif parts:
            self.out, self.rest = np.empty(m, self.work), np.empty(m, self.work)
        else:
            self.out, self.rest = np.empty(m, x.dtype), None
        self.route = route or route_for(kind, x.dtype, n, w is not None, self.temperature)
        # TwoSum's correction: float64 log variants at T = 1 on the plain route.
        self.twosum = (self.route == "plain" and kind != SOFTMAX and self.temperature == 1.0
                       and x.dtype == self.work)
        self.block, self.row_block, self.threads, self.parallel, least = self.split(m, n, threads)
        # Rows the route declines or whose maximum is not finite are taken in pieces of this
        # many numbers (copies, masks and results: about 32 bytes a number) beside the blocks:
        # a third of a thread's share at the most threads the budget holds (``least``).
        self.piece = max(MIN_CHUNK, least // 96)

    def split(self, m, n, cap=None):
        """How the work is split: ``(block, row_block, threads, parallel, least)``.

        Memory: the call's scratch, its block-sized arrays and the per-row arrays of its blocks
        (ROW_COST a row), comes to at most 32 KiB + 1/16 of the result (logsumexp: of the
        input), shared by its threads; each thread beyond the first costs THREAD_COST. So the
        call stays within 1.1x the result (logsumexp: the result + 0.1x the input) + 64 KiB
        however many threads are set (tests/test_benchmark.py). Threads pay only on
        PARALLEL_MIN numbers or more, in blocks of PARALLEL_BLOCK or more, and not when they
        would cut rows that one thread's block holds whole (``parallel``).
        ``block``, the widest chunk of a long row, is then sized for two threads, so that the
        thread count changes neither which rows are long nor how they are cut, nor the result.
        ``row_block``, the numbers in a block of whole rows, is each thread's share of the
        budget when ``threads`` (the count set now, within what the budget holds and ``cap``)
        take part.
        ``least`` is a thread's share at the most threads the budget holds, the same for any
        count set: the pieces are sized from it, so that how declined rows are grouped, and so
        their results, do not depend on the thread count either.
        """
        budget = (32 << 10) + (self.x if self.kind == LOGSUMEXP else self.out).nbytes // 16
        item = self.work.itemsize * self.buffers()  # scratch bytes per number of a block
        item += (1 if self.twosum else 0) + (3 if self.temperature > 1.0 else 0)  # masks
        per_number = item + ROW_COST / max(n, 1)
        two = min(BLOCK, int((budget - THREAD_COST) / 2 / per_number))
        one = min(BLOCK, max(MIN_CHUNK, int(budget / per_number)))
        # Rows whole in one thread's block but not in two threads' go whole on one thread: that
        # beat three sweeps on two threads by 1.4-1.6x (64x65536 float32).
        if m * n < PARALLEL_MIN or two < PARALLEL_BLOCK or two < n <= one:
            return one, one, 1, False, budget
        most = int((budget + THREAD_COST) // (two * per_number + THREAD_COST))  # >= 2
        threads = min(num_threads(), most, cap or most)
        share = (budget - (threads - 1) * THREAD_COST) // threads
        least = (budget - (most - 1) * THREAD_COST) // most  # the share at the most threads
        return two, min(BLOCK, max(two, int(share / per_number))), threads, True, least

    def buffers(self) -> int:
        """How many block-sized scratch arrays a worker needs."""
        count = 0 if self.kind != LOGSUMEXP and self.x.dtype == self.work else 1  # y
        if self.route == "plain" and self.kind == LOG_SOFTMAX:
            count += 1  # e beside y, which the result needs again
        if self.twosum:
            count += 2  # TwoSum's lo, and scratch for row_sums
        elif self.route == "direct" and self.x.dtype == self.work:
            count += 1  # scratch for row_sums
        return count + (self.w is not None)  # the masked copy of x

    def scratch(self, size):
        return [np.empty(size, self.work) for _ in range(self.buffers())]

    def views(self, x, w, out, bufs):
        """The block's x (masked entries -inf), y, e and TwoSum scratch, from flat ``bufs``."""
        bufs = [b[: x.size].reshape(x.shape) for b in bufs]
        if w is not None:
            xm = bufs.pop()
            xm.fill(-np.inf)
            np.copyto(xm, x, where=w)
            x = xm
        y = out if out is not None and out.dtype == self.work else bufs.pop()
        e = bufs.pop() if self.route == "plain" and self.kind == LOG_SOFTMAX else y
        return x, y, e, bufs  # what is left: TwoSum's or row_sums' scratch

    def sums(self, x, a, idx, y, e, extra):
        """Each row's sum of exponentials on the call's route (without the entry at ``idx``
        unless None), leaving in ``y`` and ``e`` what the route leaves there."""
        if self.route == "unshifted":  # y = exp(x / T), widened first (no casting buffers)
            np.copyto(y, x)
            if self.temperature != 1.0:
                y /= self.temperature
            return row_sums(np.exp(y, out=y))
        if self.route == "direct":
            return exp_sums(x, idx, e, *extra)
        return plain_sums(x, a, idx, self.temperature, y, e, extra if self.twosum else None)

    def result(self, x, a, s, y, dest, fresh):
        """The rows' result from their sums ``s`` (scaled to the maximum), made in ``y`` and
        narrowed into ``dest`` unless None; ``fresh``: ``y`` holds what ``sums`` left there."""
        if self.kind == SOFTMAX:
            if not fresh:  # the exponentials are gone: again
                self.sums(x, a, None, y, y, [])
            y *= (1.0 / s)[:, None]
        else:
            if not fresh or self.route == "direct":
                shift(x, a, self.temperature, y)
            y -= np.log1p(s)[:, None]
        if dest is not None:
            np.copyto(dest, y, casting="same_kind")

    def rows(self, i0, i1, bufs):
        """Rows i0:i1, whole: the maximum, the sums, the result."""
        kind, route = self.kind, self.route
        out = None if kind == LOGSUMEXP else self.out[i0:i1]
        w = None if self.w is None else self.w[i0:i1]
        x, y, e, extra = self.views(self.x[i0:i1], w, out, bufs)
        idx = None
        if route == "unshifted":
            a = np.zeros((len(x), 1))
        elif kind == SOFTMAX:
            a = x.max(axis=1, keepdims=True)
        else:
            a, idx = row_max(x, self.work)
            a = a[:, None]
        s, ok = self.sums(x, a, idx, y, e, extra), None
        if route == "direct":
            s, ok = direct_scale(s, a[:, 0], x.dtype, x.shape[1])
        elif route == "unshifted":  # rows outside [e^-590, inf), non-finite ones too
            ok = (s >= UNSHIFTED_MIN_SUM) & (s < np.inf)
        if kind == LOGSUMEXP:
            self.put_lse(slice(i0, i1), a[:, 0], np.log1p(s))
        else:
            self.result(x, a, s, y, None if y is out else out, True)
        bad = None if np.isfinite(a).all() else ~np.isfinite(a[:, 0])
        if ok is not None and not ok.all():
            self.redo(i0 + np.flatnonzero(~ok if bad is None else ~ok & ~bad))
        if bad is not None:
            self.nonfinite(i0 + np.flatnonzero(bad))

    def redo(self, rows):
        """``rows`` (indices) again on the plain route, which the call's route declined: one row
        in place, several narrow ones in groups of copies of at most ``piece`` numbers. A row
        uses the call's threads only if it is the call's one row: otherwise it is redone inside
        one of them, alone."""
        parts, n = self.rest is not None, self.x.shape[1]
        if len(rows) == 1 or 2 * n > self.piece:  # wide rows: each in place, no copies
            for i in rows:
                i = slice(i, i + 1)
                out = (self.out[i], self.rest[i] if parts else None)
                Call(self.kind, self.x[i], None if self.w is None else self.w[i],
                     self.temperature, "plain", out,
                     threads=self.threads if len(self.x) == 1 else 1).run()
            return
        group = self.piece // n
        for g in range(0, len(rows), group):
            r = rows[g : g + group]
            call = Call(self.kind, self.x[r], None if self.w is None else self.w[r],
                        self.temperature, "plain", parts=parts).run()
            self.out[r] = call.out
            if parts:
                self.rest[r] = call.rest

    def put_lse(self, rows, a, rest):
        """Store logsumexp's parts (``parts=True``) or their sum for ``rows``."""
        if self.rest is None:
            self.out[rows] = a + rest
        else:
            self.out[rows], self.rest[rows] = a, rest

    def nonfinite(self, rows):
        """Rows whose maximum is not finite (``rows``: their indices), by the edge-case table, in
        pieces of ``piece`` numbers, so that their temporaries stay within the budget."""
        n = self.x.shape[1]
        width = min(n, self.piece)
        group = max(1, self.piece // width)
        for g in range(0, len(rows), group):
            r = rows[g : g + group]

            def piece(c0):  # a copy of the rows' columns from c0 on, and their mask
                c1 = min(c0 + width, n)
                return self.x[r, c0:c1], None if self.w is None else self.w[r, c0:c1]

            nan, pinf, valid = edge_counts(*piece(0))
            for c0 in range(width, n, width):
                more = edge_counts(*piece(c0))
                nan, pinf, valid = nan | more[0], pinf + more[1], valid | more[2]
            if self.kind == LOGSUMEXP:
                self.put_lse(r, edge_values(LOGSUMEXP, None, None, nan, pinf, valid), 0.0)
                continue
            for c0 in range(0, n, width):
                self.out[r, c0 : c0 + width] = edge_values(self.kind, *piece(c0), nan, pinf, valid)

    def long_row(self, i, shared):
        """Row ``i``, longer than a block, in sweeps over its chunks: the maximum (not on the
        unshifted route), the sum, the result (not for logsumexp). The chunks' sums are added
        exactly (fsum; longdouble ones in longdouble), so who sums a chunk cannot change the
        result.
        ``shared``: each sweep's chunks are shared out to the call's threads."""
        chunks = self.chunks()
        kind, x = self.kind, self.x[i : i + 1]
        out = None if kind == LOGSUMEXP else self.out[i : i + 1]
        w = None if self.w is None else self.w[i : i + 1]

        def sweep(func):
            """[func(x, y, e, scratch, c0, c1) for each chunk], from the chunk's ``views``."""
            def chunk(c0, c1, bufs):
                wc, oc = None if w is None else w[:, c0:c1], None if out is None else out[:, c0:c1]
                return func(*self.views(x[:, c0:c1], wc, oc, bufs), c0, c1)

            if shared:
                return parallel_map(chunk, chunks, lambda: self.scratch(self.block), self.threads)
            bufs = self.scratch(self.block)
            return [chunk(c0, c1, bufs) for c0, c1 in chunks]

        def chunk_max(xc, y, e, extra, c0, c1):
            value, j = row_max(xc, self.work)
            return value[0], c0 + int(j[0])

        a, at = np.zeros((1, 1)), -1
        if self.route != "unshifted":
            maxima = sweep(chunk_max)
            nans = [p for p in maxima if np.isnan(p[0])]
            value, at = nans[0] if nans else max(maxima, key=lambda p: (p[0], -p[1]))
            if not np.isfinite(value):
                return self.nonfinite(np.array([i]))
            if self.route == "direct" and not DIRECT_LO <= value <= DIRECT_HI:
                return self.redo([i])  # declined before its sum is swept
            a = np.array([[value]], dtype=self.work)

        def chunk_sum(xc, y, e, extra, c0, c1):
            idx = None if kind == SOFTMAX or not c0 <= at < c1 else np.array([at - c0])
            return self.sums(xc, a, idx, y, e, extra)[0]

        sums = sweep(chunk_sum)
        try:  # float64 exactly; longdouble in its own precision
            total = math.fsum(sums) if self.work == np.float64 else np.add.reduce(sums)
        except OverflowError:  # finite chunk sums, infinite total: the route declines it
            total = math.inf
        if self.route == "direct":
            total, ok = direct_scale(total, a[0, 0], x.dtype, x.shape[1])
        else:
            ok = self.route == "plain" or UNSHIFTED_MIN_SUM <= total < np.inf
        if not ok:
            return self.redo([i])
        if kind == LOGSUMEXP:
            return self.put_lse(i, a[0, 0], np.log1p(total))
        in_place = out.dtype == self.work  # the sum left exp(x - a) of softmax in the result

        def chunk_write(xc, y, e, extra, c0, c1):
            self.result(xc, a, np.array([total]), y, None if in_place else out[0, c0:c1],
                        in_place and kind == SOFTMAX)

        sweep(chunk_write)

    def chunks(self):
        """The chunks ``(c0, c1)`` of a row longer than a block."""
        n = self.x.shape[1]
        return [(c, min(c + self.block, n)) for c in range(0, n, self.block)]

    def tasks(self):
        """What ``run`` shares out to threads, and the most numbers in one: blocks of whole rows
        ``(i0, i1)``; for rows longer than a block, a single row's chunks, or the rows ``(i,)``."""
        m, n = self.x.shape
        if n <= self.block:
            step = max(1, self.row_block // max(n, 1))
            return [(i0, min(i0 + step, m)) for i0 in range(0, m, step)], min(step, m) * n
        return (self.chunks() if m == 1 else [(i,) for i in range(m)]), self.block

    def threads_used(self) -> int:
        """How many threads share the call, with the count set now."""
        return max(1, min(self.threads, num_threads(), len(self.tasks()[0])))

    def run(self):
        m, n = self.x.shape
        if n == 0 and self.kind == LOGSUMEXP:  # the log of an empty sum
            self.put_lse(slice(None), -np.inf, 0.0)
        if m == 0 or n == 0:
            return self
        tasks, size = self.tasks()
        if n > self.block and m == 1:  # threads share the chunks of the row
            with quiet():
                self.long_row(0, self.parallel)
        elif n > self.block:  # threads share the rows
            parallel_map(lambda i, _: self.long_row(i, False), tasks, list, self.threads)
        elif len(tasks) == 1:  # one block, in this thread
            # quiet() costs microseconds; NumPy's buffer is no larger than a small block anyway
            with quiet() if m * n > BUFSIZE else np.errstate(all="ignore"):
                self.rows(0, m, self.scratch(m * n))
        else:
            parallel_map(self.rows, tasks, lambda: self.scratch(size), self.threads)
        return self


def lse_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows (m, n): each row's maximum and ``log1p`` of the rest, so LSE = max + rest.

    ``(max - x_i) + rest`` is ``-log_softmax(x)_i`` without cancellation: both terms are >= 0.
    """
    call = Call(LOGSUMEXP, x, parts=True).run()
    return call.out, call.rest
