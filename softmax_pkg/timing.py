"""Timing calls fairly, and measuring their memory: the helpers the chapters use to compare
implementations.

Candidates are timed in interleaved rounds (a, b, c, a, b, c, ...), so that a burst of load on a
shared machine slows all of them alike, and each is reported as the median over the rounds with
the slowest round beside it, never the best round.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from ._validate import check_int, check_real

__all__ = ["Timing", "time_calls", "peak_bytes"]


class Timing(NamedTuple):
    """Seconds per call: the median over the rounds, and the slowest round."""

    median: float
    worst: float


def _seconds_per_call(func: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number


def time_calls(
    candidates: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 7,
    min_time: float = 5e-4,
) -> dict[str, Timing]:
    """Time each zero-argument callable in ``candidates``, in interleaved rounds.

    Parameters
    ----------
    candidates : mapping of str to callable
        ``{name: func}``; each ``func()`` is one call to time (wrap arguments in a lambda).
    rounds : int, default 7
        How many rounds; each round times every candidate once.
    min_time : float, default 5e-4
        A sample repeats its call until it lasts at least this many seconds, so that the clock's
        resolution does not dominate short calls.

    Returns
    -------
    dict of str to Timing
        ``{name: Timing(median, worst)}``, seconds per call.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones(1000)
    >>> t = time_calls({"sum": lambda: x.sum(), "cumsum": lambda: x.cumsum()}, rounds=3)
    >>> sorted(t), t["sum"].median <= t["sum"].worst
    (['cumsum', 'sum'], True)
    """
    rounds = check_int(rounds, "rounds", minimum=1)
    min_time = check_real(min_time, "min_time", low=0.0, low_open=True)
    if not isinstance(candidates, Mapping) or not candidates:
        raise TypeError("candidates must be a non-empty mapping of names to callables")
    for name, func in candidates.items():
        if not callable(func):
            raise TypeError(f"candidates[{name!r}] must be callable, got {type(func).__name__}")
    numbers = {}
    for name, func in candidates.items():
        func()  # warm-up: first-call costs are not what we measure
        number = 1
        while _seconds_per_call(func, number) * number < min_time:
            number *= 4
        numbers[name] = number
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    was_enabled = gc.isenabled()
    gc.disable()  # a collection landing in one sample would be charged to that candidate alone
    try:
        for _ in range(rounds):
            for name, func in candidates.items():
                samples[name].append(_seconds_per_call(func, numbers[name]))
    finally:
        if was_enabled:
            gc.enable()
    return {name: Timing(float(np.median(s)), float(np.max(s))) for name, s in samples.items()}


def peak_bytes(func: Callable[[], object]) -> int:
    """The most memory (bytes) that Python and NumPy held at once during one call of ``func()``.

    ``func`` is called once first, so that one-time costs (imports, caches) are not counted, then
    once under ``tracemalloc``. Unlike a time, this count does not depend on the machine's
    load, so the chapters may assert on it.

    Examples
    --------
    >>> import numpy as np
    >>> peak_bytes(lambda: np.ones(1_000_000)) >= 8_000_000
    True
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    func()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not already:
            tracemalloc.stop()
    return peak - base
