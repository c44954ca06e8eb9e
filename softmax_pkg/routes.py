"""How softmax, log_softmax and logsumexp compute a call: the routes, their limits, ``plan``.

Read-only and descriptive: nothing here changes a result. The values describe this version and
may change in any release; the accuracy and edge-case promises of the functions' docstrings do
not depend on them. Chapters 6 and 7 of the book glue these values into their prose and assert
``plan`` against it.

The rows (the class axis last) are walked in blocks of whole rows, so that a block's maximum,
exponentials, sum and result are all computed while it sits in the CPU cache. A call's block holds
at most ``BLOCK`` numbers, and fewer where its share of the call's memory budget is smaller (the
budget: 32 KiB plus 1/16 of the result, for logsumexp of the input, shared by the threads that
take part); ``plan(...).block`` gives it. A row longer than the call's block is swept in
chunks on the same route: the maximum (not on the unshifted route), the sum, the result (not for
logsumexp). float16 and float32 are computed in float64 and rounded once at the end. Each call
takes one of three routes:

``plain``
    m = max x, y = (x - m) / T, e = exp(y), then ``e / sum e``, ``y - log1p(r)`` or
    ``m + log1p(r)``, with r the sum of e without one maximal term. Always valid; every other
    route falls back to it. The log variants at T = 1 in float64 (and longdouble) add the exact
    rounding error of ``x - m`` (TwoSum).
``direct``
    log_softmax, and float64 logsumexp, on rows of at least ``DIRECT_MIN_N`` numbers, at T = 1
    and without ``where``: sum ``exp(x)`` unshifted, without one maximal term, and scale the sum
    by ``exp(-m)``. float64 takes it only where ``EXTENDED`` (``exp(-m)`` in a ``longdouble`` of
    at least 64 significant bits); float16 and float32 log_softmax everywhere; longdouble never.
    A row whose maximum lies outside [``DIRECT_LO``, ``DIRECT_HI``], or whose sum overflows or
    is below ``n * DIRECT_MIN_SUM`` (where its subnormal exponentials would matter), is redone
    on the plain route.
``unshifted``
    float16/32 softmax without ``where``: ``exp(x / T) / sum`` in float64, no maximum at all. A
    row whose sum lies outside [``UNSHIFTED_MIN_SUM``, inf) is redone on the plain route: above
    that bound a subnormal exponential gives a probability that rounds to 0 in float32 anyway.

On every route, a row whose maximum is not finite takes its value from the edge-case table of
the functions' docstrings.

Threads share a call's blocks, the chunks of its one long row, or its long rows, and only from
``PARALLEL_MIN`` numbers on: smaller calls run in the calling thread. Even then the memory
budget must give each of two threads blocks of at least 32K numbers (so float32, float16, the
log variants and calls with ``where`` start later), and rows that one thread's block holds whole
but two threads' blocks would cut run whole on one thread. At most the count
``set_num_threads`` sets take part; ``plan(...).threads`` says how many do.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

__all__ = [
    "plan", "Plan", "BLOCK", "PARALLEL_MIN", "DIRECT_MIN_N", "DIRECT_LO", "DIRECT_HI",
    "DIRECT_MIN_SUM", "UNSHIFTED_MIN_SUM", "EXTENDED",
]

#: Most numbers in a block of whole rows, or in a chunk of a longer row (512 KiB of float64).
BLOCK = 1 << 16
#: Fewest numbers in a call that threads share (4 MiB of float64).
PARALLEL_MIN = 1 << 19
#: Fewest numbers in a row on the direct route.
DIRECT_MIN_N = 64
#: Lowest maximum m of a row on the direct route, where its scale e^-m is still finite
#: (it overflows below -709.78).
DIRECT_LO = -700.0
#: Highest maximum of a row on the direct route, a margin below 709.78 (where exponentials
#: overflow) so that long rows' sums stay finite and e^-m keeps its digits in float64.
DIRECT_HI = 600.0
#: On the direct route a row of n numbers needs an unshifted sum of at least n times this, so
#: that the error of its subnormal exponentials (at most 2^-1075 each) stays below 2^-56 of it.
DIRECT_MIN_SUM = 2.0**-1019
#: Smallest float64 sum the unshifted route keeps (e^-590).
UNSHIFTED_MIN_SUM = math.exp(-590.0)
#: Whether ``np.longdouble`` has at least 64 significant bits, as on x86-64 Linux (not on
#: Windows or Apple arm64); float64 takes the direct route only if so.
EXTENDED = bool(np.finfo(np.longdouble).nmant >= 63)


class Plan(NamedTuple):
    """How a call is computed (see the module docstring). A call with nothing to compute (an
    empty array) plans as ``Plan(route, 1, 0, False)``."""

    route: str
    """``"plain"``, ``"direct"`` or ``"unshifted"``: the route the call's rows take."""
    threads: int
    """How many threads share the call, with the thread count set now."""
    block: int
    """Most numbers in one block of whole rows, or in one chunk of a long row."""
    chunked: bool
    """True if the rows are longer than a block, so each is swept in chunks."""


def plan(function: str, x, axis=-1, *, temperature: float = 1.0, where=None) -> Plan:
    """How ``function(x, axis, temperature=temperature, where=where)`` would be computed.

    Checks the arguments as the function does and computes nothing. A row that the route
    declines at run time (see the module docstring) is redone on the plain route; ``plan`` does
    not look at the values, so it cannot say which rows those are.

    Parameters
    ----------
    function : {"softmax", "log_softmax", "logsumexp"}
        The function's name.
    x, axis, temperature, where
        As for the function. logsumexp takes no temperature (leave it at 1), and ``plan`` takes
        no ``keepdims``, which does not change how a call is computed.

    Returns
    -------
    Plan
        ``route``, ``threads``, ``block`` and ``chunked``.

    Raises
    ------
    ValueError
        If ``function`` is not one of the three names, ``temperature`` is given for logsumexp,
        or an argument is invalid for the function (with the function's message).
    TypeError
        As the function raises it.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_pkg.routes import plan
    >>> plan("softmax", np.zeros((2, 3), np.float32)).route
    'unshifted'
    >>> p = plan("log_softmax", np.zeros((4, 100_000)))
    >>> p.chunked, p.block <= 65536
    (True, True)
    """
    from . import _softmax  # here: the engine imports this module's constants

    names = ("softmax", "log_softmax", "logsumexp")
    if not isinstance(function, str) or function not in names:
        raise ValueError(f"function must be one of {names}; got {function!r}")
    if function == "logsumexp" and not (isinstance(temperature, numbers.Real)
                                        and not isinstance(temperature, bool) and temperature == 1):
        raise ValueError(f"logsumexp takes no temperature; got temperature={temperature!r}")
    call = _softmax.prepare(function, x, axis, where, temperature, run=False)[0]
    if call.x.size == 0:  # nothing to compute
        return Plan(call.route, 1, 0, False)
    return Plan(call.route, call.threads_used(), call.tasks()[1], call.x.shape[1] > call.block)
