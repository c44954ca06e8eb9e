"""The benchmark script runs and prints its table (timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys

from softmax_pkg import benchmark


def test_small_benchmark_prints_every_case():
    rows = benchmark.main(["--small", "--repeats", "1"])
    assert {r["function"] for r in rows} == {"softmax", "log_softmax", "logsumexp", "cross_entropy"}
    assert {r["dtype"] for r in rows} == {"float32", "float64"}
    for row in rows:
        assert row["ours_ms"] > 0 and row["scipy_ms"] > 0 and row["mem_ours"] >= 0


def test_peak_memory_of_softmax_is_its_output():
    # Memory is deterministic, unlike time: the blocked kernel allocates the output and
    # block-sized scratch only. scipy allocates two full-size arrays.
    import numpy as np

    x = np.ones((512, 4096))
    ours = benchmark.peak_memory(lambda a: benchmark.sm.softmax(a), x) / x.nbytes
    lse = benchmark.peak_memory(lambda a: benchmark.sm.logsumexp(a), x) / x.nbytes
    assert ours <= 1.1
    assert lse <= 0.1


def test_command_line_prints_a_markdown_table():
    out = subprocess.run(
        [sys.executable, "-m", "softmax_pkg.benchmark", "--small", "--repeats", "1", "--markdown",
         "--only", "softmax"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("| function |") and out.count("\n| softmax |") == 8
