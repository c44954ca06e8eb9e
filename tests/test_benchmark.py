"""The benchmark script runs and prints its table (timings are reported, never asserted), and
the engine's memory stays at the output plus a small fixed allowance (memory is deterministic)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import softmax_pkg as sm
from conftest import in_fresh_process
from softmax_pkg import benchmark


def test_small_benchmark_prints_every_case():
    rows = benchmark.main(["--small", "--repeats", "1"])
    assert {r["function"] for r in rows} == {"softmax", "log_softmax", "logsumexp", "cross_entropy"}
    assert {r["dtype"] for r in rows} == {"float32", "float64"}
    for row in rows:
        assert row["ours_ms"] > 0 and row["scipy_ms"] > 0 and row["mem_ours"] >= 0
        assert row["speedup"][0] >= row["speedup"][1] > 0  # (median, lowest) over the runs
        assert row["threads"] == 1  # the small shapes run in the calling thread
        if row["function"] != "cross_entropy":
            assert row["route_gain"][0] > 0


def test_runs_are_combined_as_median_and_lowest():
    runs = [[{"function": "f", "speedup": v, "ours_ms": v}] for v in (1.0, 3.0, 2.0)]
    (row,) = benchmark.combine(runs)
    assert row["speedup"] == (2.0, 1.0) and row["ours_ms"] == 2.0


def _allowance(name, shape, dtype):
    """The memory contract: 1.1x the result + 64 KiB (logsumexp: the result + 0.1x the input)."""
    nbytes = np.prod(shape) * np.dtype(dtype).itemsize
    if name == "logsumexp":
        return nbytes // shape[-1] + 0.1 * nbytes + (64 << 10)
    return 1.1 * nbytes + (64 << 10)


# Measured in a fresh process (conftest.in_fresh_process): tracemalloc also counts what the
# session's background threads allocate meanwhile.
PEAKS = """
import json, sys
import numpy as np
import softmax_pkg as sm
from softmax_pkg.timing import peak_bytes

shape, dtype, threads = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(0, 4, shape).astype(dtype)
w = rng.random(shape) > 0.3
bad = x.copy()  # rows with NaN or +inf take the edge-case path
bad.flat[::97], bad.flat[50::97] = np.nan, np.inf
high = x + np.dtype(dtype).type(1000)  # rows the direct and unshifted routes decline: redone plain
sm.set_num_threads(threads)
peaks = []
for name in ("softmax", "log_softmax", "logsumexp"):
    f = getattr(sm, name)
    calls = {"": lambda: f(x), "where": lambda: f(x, where=w), "non-finite": lambda: f(bad),
             "declined": lambda: f(high)}
    if name != "logsumexp":
        calls["temperature"] = lambda: f(x, temperature=2.0)
    peaks += [(name, how, peak_bytes(call)) for how, call in calls.items()]
print(json.dumps(peaks))
"""


@pytest.mark.parametrize("threads", [1, 2, 8, 16])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 10), (256, 1000), (8, 32768), (512, 4096), (1, 1 << 20),
                                   (1 << 20, 1), (131072, 8), (64, 65536)])
def test_peak_memory_is_the_output_plus_a_small_allowance(shape, dtype, threads):
    # However many threads are set, with a mask, a temperature, non-finite entries or rows the
    # route declines, for wide and narrow rows (whose per-row arrays are as large as the
    # block), and long single rows.
    peaks = in_fresh_process(PEAKS, json.dumps([shape, dtype, threads]))
    assert len(peaks) == 14
    for name, how, peak in peaks:
        nbytes = np.prod(shape) * np.dtype(dtype).itemsize
        assert peak <= _allowance(name, shape, dtype), (name, how, peak / nbytes)


def test_a_thread_count_raised_after_a_call_is_planned_keeps_its_memory():
    # The call's blocks are sized for the threads set when it is planned; more threads set
    # before it runs must not each take a block of that size.
    code = """
import json
import numpy as np
import softmax_pkg as sm
from softmax_pkg import engine
from softmax_pkg.timing import peak_bytes

x = np.random.default_rng(1).normal(0, 4, (2000, 1000)).astype(np.float32)
sm.set_num_threads(1)
call = engine.Call("softmax", x)
sm.set_num_threads(16)
print(json.dumps([peak_bytes(call.run), x.nbytes]))
"""
    peak, nbytes = in_fresh_process(code)
    assert peak <= 0.1 * nbytes + (64 << 10), peak / nbytes  # the result exists already


def test_the_threads_column_counts_the_threads_a_call_uses():
    x = np.zeros((1 << 22,))
    old = sm.set_num_threads(2)
    try:
        for case in benchmark.CASES:
            if not case.needs_labels:
                assert benchmark.threads_used(case, x) == 2, case.name
        assert benchmark.threads_used(benchmark.CASES[0], np.zeros((4, 10))) == 1
    finally:
        sm.set_num_threads(old)


def test_command_line_prints_a_markdown_table():
    out = subprocess.run(
        [sys.executable, "-m", "softmax_pkg.benchmark", "--small", "--repeats", "1", "--markdown",
         "--only", "softmax"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("| function |") and out.count("\n| softmax |") == 8
