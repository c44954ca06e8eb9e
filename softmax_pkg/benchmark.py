"""Speed and memory of softmax_pkg against scipy.special (and PyTorch if installed), same run.

Usage::

    python -m softmax_pkg.benchmark                  # the full grid, three runs (many minutes)
    python -m softmax_pkg.benchmark --small          # tiny shapes: a smoke test for CI
    python -m softmax_pkg.benchmark --markdown       # the table as Markdown (for the README)
    python -m softmax_pkg.benchmark --runs 5 --only softmax,log_softmax

Speed is a ratio, scipy's time over ours (above 1: we are faster), measured in the same run with
the calls taking turns; each cell of the table gives the median of the runs and, after a slash,
the lowest run. Inputs larger than the CPU's cache start out of the cache, smaller ones are timed
warm, in loops long enough for the clock. Beside the default thread count the table shows one
thread ("1 thr") and how many threads the call uses with the default count ("threads": where
that is 1, both timings run the same code, and their ratio shows the noise), PyTorch's CPU time
where torch is installed, and what each of the engine's routes buys: the time of the plain
route over the time of the route a call actually takes (``softmax_pkg.engine.route_for``),
1.00x where the plain route is the one taken. Peak memory is the largest amount allocated
during one call after a warm-up (``softmax_pkg.timing.peak_bytes``), as a multiple of the
input's size: the output of softmax is exactly that size.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import time
from dataclasses import dataclass

import numpy as np

try:
    import scipy.special as sps
except ImportError as exc:  # the benchmark's one extra
    raise ImportError(
        f'softmax_pkg.benchmark needs scipy ({exc}): pip install "softmax-pkg[benchmark]"'
    ) from exc

import softmax_pkg as sm
from softmax_pkg.timing import peak_bytes

try:  # the route columns need the engine's internal API (absent in versions before it)
    from softmax_pkg import engine
except ImportError:  # pragma: no cover - only when benchmarking an old version
    engine = None
try:  # the threads column needs routes.plan (absent before it)
    from softmax_pkg import routes
except ImportError:  # pragma: no cover - only when benchmarking an old version
    routes = None

FULL_SHAPES = [(64, 10), (256, 1000), (1024, 1000), (8, 32768),
               (4096, 4096), (65536, 64), (64, 65536), (1 << 24,)]
LARGE_SHAPES = FULL_SHAPES[4:]
SMALL_SHAPES = [(64, 10), (256, 16), (8, 1024), (4096,)]
COLD_BYTES = 4 << 20  # inputs at least this large are timed out of the cache


def _scipy_ce(logits, labels):
    logp = sps.log_softmax(logits, axis=-1)
    return -np.take_along_axis(logp, labels[..., None], axis=-1).mean()


@dataclass
class Case:
    name: str
    ours: callable
    scipy: callable
    torch: str | None = None  # the torch function's name, for a torch tensor input
    needs_labels: bool = False


CASES = [
    Case("softmax", sm.softmax, lambda x: sps.softmax(x, axis=-1), "softmax"),
    Case("log_softmax", sm.log_softmax, lambda x: sps.log_softmax(x, axis=-1), "log_softmax"),
    Case("logsumexp", sm.logsumexp, lambda x: sps.logsumexp(x, axis=-1), "logsumexp"),
    Case("cross_entropy", sm.cross_entropy, _scipy_ce, "cross_entropy", needs_labels=True),
]


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_func(torch, name):
    if name == "cross_entropy":
        return lambda t, labels: torch.nn.functional.cross_entropy(t, labels)
    return lambda t: getattr(torch, name)(t, dim=-1)


def median_times(funcs, args_list, *, repeats, cold):
    """Median wall time of each ``funcs[k](*args_list[k])`` over ``repeats`` rounds.

    The functions take turns within each round (in alternating order), so that a slow spell of
    this shared machine hits them alike. With ``cold`` each call starts with its input in main
    memory; otherwise each sample is a loop of calls lasting about a millisecond or more. The
    garbage collector is paused during the runs.
    """
    loops = []
    for func, args in zip(funcs, args_list):
        start = time.perf_counter()
        func(*args)  # warm up: page in the inputs, load code
        elapsed = time.perf_counter() - start
        loops.append(1 if cold else max(1, min(1000, int(2e-3 / max(elapsed, 1e-7)))))
    gc.collect(1)  # the young generations: a full collection costs ~0.1 s in a large process
    enabled = gc.isenabled()
    gc.disable()
    try:
        times = [[] for _ in funcs]
        for round_ in range(repeats):
            order = range(len(funcs)) if round_ % 2 == 0 else reversed(range(len(funcs)))
            for k in order:
                if cold:
                    _flush_caches()
                start = time.perf_counter()
                for _ in range(loops[k]):
                    funcs[k](*args_list[k])
                times[k].append((time.perf_counter() - start) / loops[k])
    finally:
        if enabled:
            gc.enable()
    return [statistics.median(t) for t in times]


@functools.cache
def _flush_buffer() -> np.ndarray:
    return np.zeros(1 << 23)  # 64 MiB: more than this machine's caches per core


def _flush_caches():
    buf = _flush_buffer()
    np.add(buf, 1.0, out=buf)


def _route_speedup(case, x, repeats, cold):
    """Time of the plain route over time of the route the call takes, or None."""
    if engine is None or case.name not in engine.KINDS:
        return None
    rows = x.reshape(-1, x.shape[-1])
    taken = engine.route_for(case.name, rows.dtype, rows.shape[1], False, 1.0)
    if taken == "plain":
        return 1.0
    t_taken, t_plain = median_times(
        [lambda: engine.Call(case.name, rows, route=taken).run(),
         lambda: engine.Call(case.name, rows, route="plain").run()],
        [(), ()], repeats=repeats, cold=cold)
    return t_plain / t_taken


def threads_used(case, x):
    """How many threads the call uses with the count set now (None if the package cannot say)."""
    if routes is None or case.name not in ("softmax", "log_softmax", "logsumexp", "cross_entropy"):
        return None
    kind = "logsumexp" if case.name == "cross_entropy" else case.name  # it runs lse_parts
    return routes.plan(kind, x).threads


def run(shapes, dtypes, repeats, cases, memory=True):
    """One full run over the grid: a list of dicts, one per (function, shape, dtype)."""
    torch = _torch()
    rng = np.random.default_rng(0)
    rows = []
    for shape in shapes:
        for dtype in dtypes:
            x = (rng.standard_normal(shape) * 4).astype(dtype)
            labels = rng.integers(0, shape[-1], size=shape[:-1])
            cold = x.nbytes >= COLD_BYTES
            for case in cases:
                if case.needs_labels and len(shape) == 1:
                    continue
                args = (x, labels) if case.needs_labels else (x,)
                funcs, arglist = [case.ours, case.scipy], [args, args]
                if torch is not None and case.torch:
                    t_args = (torch.from_numpy(x),) + (
                        (torch.from_numpy(labels),) if case.needs_labels else ())
                    funcs.append(_torch_func(torch, case.torch))
                    arglist.append(t_args)
                times = median_times(funcs, arglist, repeats=repeats, cold=cold)
                threads = sm.set_num_threads(1)
                try:
                    t_one, t_ref_one = median_times(
                        [case.ours, case.scipy], [args, args], repeats=repeats, cold=cold)
                finally:
                    sm.set_num_threads(threads)
                row = dict(
                    function=case.name, shape="x".join(map(str, shape)),
                    dtype=np.dtype(dtype).name, ours_ms=times[0] * 1e3,
                    scipy_ms=times[1] * 1e3, speedup=times[1] / times[0],
                    speedup_one=t_ref_one / t_one, threads=threads_used(case, x),
                    threads_gain=t_one / times[0],
                    torch_ms=times[2] * 1e3 if len(times) > 2 else float("nan"),
                    vs_torch=times[2] / times[0] if len(times) > 2 else float("nan"),
                    route_gain=_route_speedup(case, x, repeats, cold),
                )
                if memory:
                    row["mem_ours"] = peak_bytes(lambda: case.ours(*args)) / x.nbytes
                    row["mem_scipy"] = peak_bytes(lambda: case.scipy(*args)) / x.nbytes
                rows.append(row)
    return rows


RATIOS = ["speedup", "speedup_one", "threads_gain", "vs_torch", "route_gain"]


def combine(runs):
    """Cells over several runs: each ratio as (median, lowest); times as medians."""
    out = []
    for cells in zip(*runs):
        row = dict(cells[0])
        for key, value in row.items():
            values = [c[key] for c in cells]
            if key in RATIOS:
                finite = [v for v in values if v is not None and v == v]
                row[key] = (statistics.median(finite), min(finite)) if finite else None
            elif isinstance(value, float):
                row[key] = statistics.median(values)
        out.append(row)
    return out


COLUMNS = [
    ("function", "function"), ("shape", "shape"), ("dtype", "dtype"),
    ("ours_ms", "ours (ms)"), ("scipy_ms", "scipy (ms)"),
    ("speedup", "vs scipy"), ("speedup_one", "vs scipy, 1 thr"),
    ("threads", "threads"), ("threads_gain", "threads gain"),
    ("torch_ms", "torch (ms)"), ("vs_torch", "vs torch"),
    ("route_gain", "route vs plain"), ("mem_ours", "mem ours"), ("mem_scipy", "mem scipy"),
]


def _fmt(key, value):
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return f"{value[0]:.2f}x / {value[1]:.2f}x"
    if key in RATIOS:
        return f"{value:.2f}x"
    if key.startswith("mem"):
        return f"{value:.2f}x"
    if isinstance(value, float):
        return "-" if value != value else f"{value:.3g}"
    return str(value)


def format_table(rows, markdown=False):
    cols = [(k, t) for k, t in COLUMNS if k in rows[0]]
    header = [t for _, t in cols]
    body = [[_fmt(k, row.get(k)) for k, _ in cols] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    fmt_row = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in body])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny shapes, for a CI smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per case")
    parser.add_argument("--runs", type=int, default=None, help="full runs (median, lowest)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", default=None, help="comma-separated function names")
    parser.add_argument("--shapes", default=None, help="e.g. 64x10,256x1000")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--json", default=None, help="also write every run's rows to this file")
    args = parser.parse_args(argv)
    shapes = SMALL_SHAPES if args.small else FULL_SHAPES
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    repeats = args.repeats or (3 if args.small else 7)
    n_runs = args.runs or (1 if args.small else 3)
    cases = CASES if not args.only else [c for c in CASES if c.name in args.only.split(",")]
    dtypes = [np.dtype(d) for d in args.dtypes.split(",")]
    runs = [run(shapes, dtypes, repeats, cases) for _ in range(n_runs)]
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump(runs, f)
    rows = combine(runs)
    print(format_table(rows, markdown=args.markdown), flush=True)
    return rows


if __name__ == "__main__":
    main()
