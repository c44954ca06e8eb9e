"""Speed and memory of softmax_pkg against scipy.special, measured in the same run.

Usage::

    python -m softmax_pkg.benchmark            # the full table (a few minutes)
    python -m softmax_pkg.benchmark --small    # tiny shapes: a smoke test for CI
    python -m softmax_pkg.benchmark --markdown # print the table as Markdown (for the README)

Every time is the median of ``--repeats`` runs, ours and scipy's taking turns, each starting with
its input out of the CPU caches. Speed is reported as a ratio: scipy's time divided by ours (above
1 means we are faster), once with our default number of threads and once with one thread (scipy
uses one), and a plain ``np.copy`` of the input as the memory-bandwidth floor. Peak memory is the largest amount of memory allocated during one call (tracemalloc, which
sees NumPy's allocations), as a multiple of the input's size: the output of softmax is exactly that
size, so ~1.0 means "the output and nothing else".
"""

from __future__ import annotations

import argparse
import functools
import gc
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np
import scipy.special as sps

import softmax_pkg as sm
from softmax_pkg._softmax import clear_scratch

FULL_SHAPES = [(4096, 4096), (65536, 64), (64, 65536), (1 << 24,)]
SMALL_SHAPES = [(64, 64), (256, 16), (8, 1024), (4096,)]


def _scipy_ce(logits, labels):
    logp = sps.log_softmax(logits, axis=-1)
    return -np.take_along_axis(logp, labels[..., None], axis=-1).mean()


def _ours_ce(logits, labels):
    return sm.cross_entropy(logits, labels)


@dataclass
class Case:
    name: str
    ours: callable
    reference: callable
    needs_labels: bool = False


CASES = [
    Case("softmax", lambda x: sm.softmax(x), lambda x: sps.softmax(x, axis=-1)),
    Case("log_softmax", lambda x: sm.log_softmax(x), lambda x: sps.log_softmax(x, axis=-1)),
    Case("logsumexp", lambda x: sm.logsumexp(x), lambda x: sps.logsumexp(x, axis=-1)),
    Case("cross_entropy", _ours_ce, _scipy_ce, needs_labels=True),
]


def median_times(funcs, *args, repeats):
    """Median wall time of each ``func(*args)`` over ``repeats`` rounds, after one warm-up run.

    The functions take turns within each round (in alternating order), so that a slow spell of
    this shared machine hits them alike, and each call starts with its input in main memory,
    not in the cache. The garbage collector is run once before and paused
    during the runs, so that neither its pauses nor a full collection per run (slow in a
    notebook with many live objects) are timed.
    """
    for func in funcs:
        func(*args)  # warm up: page in the inputs, load code
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        times = [[] for _ in funcs]
        for round_ in range(repeats):
            order = range(len(funcs)) if round_ % 2 == 0 else reversed(range(len(funcs)))
            for k in order:
                _flush_caches()
                start = time.perf_counter()
                funcs[k](*args)
                times[k].append(time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return [float(np.median(t)) for t in times]


@functools.cache
def _flush_buffer() -> np.ndarray:
    return np.zeros(1 << 23)  # 64 MiB, twice this machine's last-level cache


def _flush_caches():
    """Evict the input from the CPU caches, so that every timed call starts from main memory
    (otherwise whichever function runs after the other finds the input still cached)."""
    buf = _flush_buffer()
    np.add(buf, 1.0, out=buf)


def median_time(func, *args, repeats):
    """Median wall time of ``func(*args)`` over ``repeats`` runs, after one warm-up run."""
    return median_times([func], *args, repeats=repeats)[0]


def peak_memory(func, *args):
    """Peak memory allocated during ``func(*args)``, from cold: softmax_pkg's per-thread
    scratch buffers are freed first, so they are counted."""
    clear_scratch()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = func(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del result
    return peak


def run(shapes, dtypes, repeats, cases):
    rng = np.random.default_rng(0)
    rows = []
    for shape in shapes:
        for dtype in dtypes:
            x = (rng.standard_normal(shape) * 4).astype(dtype)
            n = shape[-1]
            labels = rng.integers(0, n, size=shape[:-1])
            t_copy = median_time(np.copy, x, repeats=repeats)
            for case in cases:
                if case.needs_labels and len(shape) == 1:
                    continue
                args = (x, labels) if case.needs_labels else (x,)
                t_ours, t_ref = median_times([case.ours, case.reference], *args, repeats=repeats)
                threads = sm.set_num_threads(1)
                try:
                    t_one, t_ref_one = median_times(
                        [case.ours, case.reference], *args, repeats=repeats
                    )
                finally:
                    sm.set_num_threads(threads)
                rows.append(
                    dict(
                        function=case.name,
                        shape="x".join(map(str, shape)),
                        dtype=np.dtype(dtype).name,
                        ours_ms=t_ours * 1e3,
                        scipy_ms=t_ref * 1e3,
                        speedup=t_ref / t_ours,
                        ours_one_ms=t_one * 1e3,
                        speedup_one=t_ref_one / t_one,
                        copy_fraction=t_copy / t_ours,
                        mem_ours=peak_memory(case.ours, *args) / x.nbytes,
                        mem_scipy=peak_memory(case.reference, *args) / x.nbytes,
                    )
                )
    return rows


COLUMNS = [
    ("function", "function", "{}"),
    ("shape", "shape", "{}"),
    ("dtype", "dtype", "{}"),
    ("ours_ms", "ours (ms)", "{:.2f}"),
    ("scipy_ms", "scipy (ms)", "{:.2f}"),
    ("speedup", "speed-up vs scipy", "{:.2f}x"),
    ("ours_one_ms", "ours, 1 thread (ms)", "{:.2f}"),
    ("speedup_one", "speed-up, 1 thread", "{:.2f}x"),
    ("copy_fraction", "copy time / ours", "{:.2f}"),
    ("mem_ours", "peak mem ours", "{:.2f}x"),
    ("mem_scipy", "peak mem scipy", "{:.2f}x"),
]


def format_table(rows, markdown=False):
    header = [title for _, title, _ in COLUMNS]
    body = [[fmt.format(row[key]) for key, _, fmt in COLUMNS] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    fmt_row = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in body])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny shapes, for a CI smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", default=None, help="comma-separated function names")
    args = parser.parse_args(argv)
    shapes = SMALL_SHAPES if args.small else FULL_SHAPES
    repeats = args.repeats or (3 if args.small else 15)
    cases = CASES if not args.only else [c for c in CASES if c.name in args.only.split(",")]
    rows = run(shapes, [np.float64, np.float32], repeats, cases)
    print(format_table(rows, markdown=args.markdown))
    return rows


if __name__ == "__main__":
    main()
