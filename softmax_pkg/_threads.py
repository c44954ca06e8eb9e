"""The engine's threads: one pool, one lock, and the thread count (``set_num_threads``).

NumPy releases the GIL inside its loops, so blocks run in parallel on several cores. Calls of
fewer than ``routes.PARALLEL_MIN`` numbers (4 MiB of float64) run in the calling thread: the
hand-off costs more than it buys.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._validate import check_int

BUFSIZE = 2048  # numbers in NumPy's buffer for broadcasting operations, in the engine's threads
THREAD_COST = 40 << 10  # bytes a thread allocates beside its blocks: that buffer, small arrays
_lock = threading.Lock()  # guards _num_threads and _pool
_pool: ThreadPoolExecutor | None = None


def check_num_threads(n: object, name: str = "n") -> int:
    return check_int(n, name, 1)


def _threads_from_environment(default: int) -> int:
    """SOFTMAX_PKG_NUM_THREADS, checked like set_num_threads; unset or empty: ``default``."""
    text = os.environ.get("SOFTMAX_PKG_NUM_THREADS", "").strip()
    if not text:
        return default
    try:
        return check_num_threads(int(text) if text.lstrip("+-").isdigit() else text,
                                 "SOFTMAX_PKG_NUM_THREADS")
    except (TypeError, ValueError) as exc:
        warnings.warn(f"{exc}; using the default, {default} threads", RuntimeWarning, stacklevel=2)
        return default


DEFAULT_THREADS = min(os.cpu_count() or 1, 8)
_num_threads = _threads_from_environment(DEFAULT_THREADS)


def set_num_threads(n: int) -> int:
    """Set how many threads softmax, log_softmax and logsumexp may use; return the old count.

    Parameters
    ----------
    n : int
        At least 1. ``set_num_threads(1)`` makes every call single-threaded.

    Returns
    -------
    int
        The previous thread count.

    Notes
    -----
    The default is the CPU count, at most 8. The environment variable
    ``SOFTMAX_PKG_NUM_THREADS`` sets it at import and is checked by the same rule: an integer
    >= 1. An empty value counts as unset; any other value (``2.5``, ``0``, ``-1``, ``abc``) is
    ignored with a ``RuntimeWarning`` that names the variable, and the default is used.
    Calls on arrays of fewer than 2^19 numbers always run in the calling thread. Safe to call
    while other threads compute: a running call uses no more threads than were set when it
    started (its memory is planned for them), a lower count from its next sweep on, and its
    result is the same either way.

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` < 1.

    Examples
    --------
    >>> import softmax_pkg
    >>> old = softmax_pkg.set_num_threads(1)
    >>> softmax_pkg.set_num_threads(old)
    1
    """
    global _num_threads
    n = check_num_threads(n)
    with _lock:
        previous, _num_threads = _num_threads, n
    return previous


@contextlib.contextmanager
def quiet():
    """NumPy's state for the engine's work in this thread: no floating-point warnings (the
    engine handles every special value), and a buffer of BUFSIZE numbers rather than NumPy's
    8192 for operations that broadcast, which keeps each thread's hidden temporaries small
    (a row-wise ``y *= 1 / s`` otherwise allocates 64 KiB however short the rows)."""
    old = np.setbufsize(BUFSIZE)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        np.setbufsize(old)


def num_threads() -> int:
    """The thread count set now."""
    return _num_threads


def parallel_map(func, items, make_scratch, threads=1):
    """[func(*item, scratch) for item in items], on at most ``threads`` threads (and at most the
    count set now). Items go one at a time to whichever thread is free; each thread makes its
    scratch once and works in ``quiet()`` (NumPy's state is per thread)."""
    global _pool
    results = [None] * len(items)
    counter = itertools.count()  # next() is atomic under the GIL

    def worker():
        with quiet():
            scratch = make_scratch()
            for j in iter(counter.__next__, None):
                if j >= len(items):
                    return
                results[j] = func(*items[j], scratch)

    with _lock:
        threads = min(threads, _num_threads, len(items))
        if threads > 1 and _pool is None:
            _pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="softmax_pkg")
        helpers = [_pool.submit(worker) for _ in range(threads - 1)]
    worker()
    for helper in helpers:
        helper.result()
    return results
