"""softmax_pkg.routes: ``plan`` says what a call does, by the rules its module docstring states."""

from __future__ import annotations

import json

import numpy as np
import pytest

import softmax_pkg as sm
from conftest import in_fresh_process
from softmax_pkg import engine, routes
from softmax_pkg.routes import plan

FUNCS = {"softmax": sm.softmax, "log_softmax": sm.log_softmax, "logsumexp": sm.logsumexp}
DIRECT = "direct" if routes.EXTENDED else "plain"  # float64 takes it where longdouble is wider

# (function, dtype, row length, keyword arguments, the route the module docstring gives)
RULES = [
    ("softmax", np.float64, 100, {}, "plain"),
    ("softmax", np.float32, 100, {}, "unshifted"),
    ("softmax", np.float16, 5, {"temperature": 3.0}, "unshifted"),
    ("softmax", np.float32, 100, {"where": True}, "plain"),
    ("log_softmax", np.float64, routes.DIRECT_MIN_N, {}, DIRECT),
    ("log_softmax", np.float64, routes.DIRECT_MIN_N - 1, {}, "plain"),
    ("log_softmax", np.float64, 1000, {"temperature": 0.5}, "plain"),
    ("log_softmax", np.float64, 1000, {"where": True}, "plain"),
    ("log_softmax", np.float32, routes.DIRECT_MIN_N, {}, "direct"),
    ("log_softmax", np.float16, routes.DIRECT_MIN_N - 1, {}, "plain"),
    ("log_softmax", np.longdouble, 1000, {}, "plain"),
    ("logsumexp", np.float64, routes.DIRECT_MIN_N, {}, DIRECT),
    ("logsumexp", np.float32, 1000, {}, "plain"),
    ("logsumexp", np.float64, 1000, {"where": True}, "plain"),
]


@pytest.mark.parametrize(("name", "dtype", "n", "kwargs", "route"), RULES)
def test_plan_gives_the_route_the_module_docstring_states(name, dtype, n, kwargs, route):
    x = np.zeros((3, n), dtype)
    if "where" in kwargs:
        kwargs = {"where": np.ones(x.shape, bool)}
    assert plan(name, x, **kwargs).route == route


@pytest.mark.skipif(not routes.EXTENDED, reason="float64 takes the direct route only where "
                    "longdouble is wider than float64")
def test_the_planned_route_is_the_one_that_runs():
    # float64 log_softmax: the direct and plain routes round differently in the last bits, so
    # the function's result tells which one ran (float16/32 round both to the same bits).
    x = np.random.default_rng(0).normal(0, 20, (200, 300))
    assert plan("log_softmax", x).route == "direct"
    direct, plain = (engine.Call("log_softmax", x, route=r).run().out for r in ("direct", "plain"))
    result = sm.log_softmax(x)
    np.testing.assert_array_equal(result, direct)
    assert not np.array_equal(result, plain)


@pytest.mark.parametrize("name", FUNCS)
def test_a_row_is_chunked_exactly_when_it_is_longer_than_a_block(name):
    long, short = plan(name, np.zeros(routes.BLOCK + 1)), plan(name, np.zeros((8, 1000)))
    assert long.chunked and long.block <= routes.BLOCK
    assert not short.chunked and short.block % 1000 == 0 and 1000 <= short.block <= 8000


@pytest.mark.parametrize("name", FUNCS)
def test_threads_only_from_parallel_min_numbers_and_never_more_than_set(name):
    old = sm.set_num_threads(4)
    try:
        assert plan(name, np.zeros((routes.PARALLEL_MIN // 1000, 999))).threads == 1
        assert plan(name, np.zeros((4096, 4096))).threads == 4
        sm.set_num_threads(1)
        assert plan(name, np.zeros((4096, 4096))).threads == 1
    finally:
        sm.set_num_threads(old)


# What a call did, seen from a profiling hook in a fresh process (nothing in the package is
# replaced): the route of the top-level engine call, the threads each parallel_map shared its
# work among (with the route of the call it worked for, and whether it ran inside another's
# worker), the most numbers in one block or chunk, and whether rows were swept in chunks.
OBSERVE = """
import json, sys, threading
import numpy as np
import softmax_pkg as sm
from softmax_pkg.routes import plan
name, shape, dtype, threads, top, kwargs = json.loads(sys.argv[1])
sm.set_num_threads(threads)
x = np.random.default_rng(0).normal(top, 1.0, shape).astype(dtype)
if "where" in kwargs:  # the mask's shape, to broadcast
    kwargs["where"] = np.random.default_rng(1).random(kwargs["where"]) < 0.9
if isinstance(kwargs.get("axis"), list):
    kwargs["axis"] = tuple(kwargs["axis"])
seen = {"route": None, "threads": 1, "block": 0, "chunked": False, "maps": []}
depth, lock = {}, threading.Lock()

def caller_route(frame):
    while frame is not None:
        if type(frame.f_locals.get("self")).__name__ == "Call":
            return frame.f_locals["self"].route
        frame = frame.f_back

def hook(frame, event, arg):
    code = frame.f_code
    if event not in ("call", "return") or not code.co_filename.endswith(
            ("engine.py", "_threads.py")):
        return
    f, call, me = code.co_name, event == "call", threading.get_ident()
    with lock:
        if f == "run" and call and seen["route"] is None:
            seen["route"] = frame.f_locals["self"].route
        elif f == "parallel_map" and not call:  # the threads it used: set in its body
            used = frame.f_locals["threads"]
            seen["threads"] = max(seen["threads"], used)
            seen["maps"].append([caller_route(frame), used, depth.get(me, 0) > 0])
        elif f == "worker":
            depth[me] = depth.get(me, 0) + (1 if call else -1)
        elif f == "rows" and call:
            n = frame.f_locals["self"].x.shape[1]
            seen["block"] = max(seen["block"], (frame.f_locals["i1"] - frame.f_locals["i0"]) * n)
        elif f == "chunk" and call:
            seen["block"] = max(seen["block"], frame.f_locals["c1"] - frame.f_locals["c0"])
        elif f == "long_row" and call:
            seen["chunked"] = True

planned = plan(name, x, **kwargs)._asdict()
threading.setprofile(hook)
sys.setprofile(hook)
getattr(sm, name)(x, **kwargs)
sys.setprofile(None)
print(json.dumps([planned, seen]))
"""


def observe(name, shape, dtype, threads, top=0.0, **kwargs):
    """(plan's Plan as a dict, what the call did) for ``name(x, **kwargs)``, ``x`` of ``shape``
    around ``top``, with ``threads`` set, in a fresh process."""
    return in_fresh_process(OBSERVE, json.dumps([name, shape, dtype, threads, top, kwargs]))


@pytest.mark.parametrize(("name", "shape", "dtype", "threads", "kwargs", "expected"), [
    ("softmax", (4096, 4096), "float64", 2, {}, 2),  # blocks of rows
    ("log_softmax", (1, 1 << 22), "float64", 2, {}, 2),  # one long row's chunks
    ("softmax", (64, 65536), "float32", 2, {}, 1),  # whole rows on one thread, though big
    ("logsumexp", (1000, 100), "float64", 2, {}, 1),  # below PARALLEL_MIN: the caller alone
    ("softmax", (3, 1 << 20), "float64", 8, {}, 3),  # three long rows: three threads of eight
    ("log_softmax", (1, 65536), "float64", 2, {}, 1),  # a small budget: chunks of a BLOCK row
    ("softmax", (1, 65536), "float64", 2, {}, 1),  # the result as work space: one whole block
    ("softmax", (2000, 300), "float16", 2, {}, 1),
    ("softmax", (2048, 1024), "float64", 2, {"where": [1024]}, 2),  # a broadcast mask
    ("log_softmax", (2048, 1024), "float32", 2, {"where": [2048, 1]}, 1),
    ("softmax", (1024, 2048), "float32", 3, {"temperature": 2.0}, 1),
    ("log_softmax", (64, 16, 1024), "float64", 2, {"axis": [0, 2]}, 1),
    ("logsumexp", (16, 512, 256), "float64", 2, {"axis": [0, 2]}, 1),
    ("softmax", (2048, 1024), "int32", 2, {}, 2),  # computed in float64: the plain route
    ("log_softmax", (2048, 1024), "int16", 2, {"axis": 0}, 2),
    ("logsumexp", (2, 600000), "longdouble", 2, {}, 1),  # wider: a smaller budget
    ("log_softmax", (1, 2000000), "float16", 2, {}, 1),
    ("softmax", (1, 3000000), "float64", 2, {"axis": None}, 2),
    ("log_softmax", (4, 300000), "float32", 2, {"where": [4, 300000]}, 1),
    ("softmax", (8192, 256), "float16", 1, {"temperature": 0.5}, 1),
])
def test_plan_says_what_the_call_does(name, shape, dtype, threads, kwargs, expected):
    planned, seen = observe(name, shape, dtype, threads, **kwargs)
    assert planned["threads"] == expected
    assert planned == {key: seen[key] for key in planned}, (planned, seen)


def test_plan_of_an_empty_call_is_one_thread_and_no_block():
    for shape in [(0, 100_000), (0, 5)]:
        assert plan("softmax", np.zeros(shape)) == routes.Plan("plain", 1, 0, False)
    assert plan("logsumexp", np.zeros((3, 0))).block == 0


def test_a_declined_long_row_of_several_is_redone_in_its_thread_and_an_only_one_on_all():
    # Maxima of 650 lie beyond DIRECT_HI: the direct route declines every row (float32 takes it
    # everywhere). With several rows, a row is redone inside the thread that took it, on that
    # thread alone (it used to share its chunks with threads of its own: four threads computed
    # with two set); the call's only row is redone on the call's threads.
    _, seen = observe("log_softmax", (2, 1 << 23), "float32", 2, top=650.0)
    assert seen["route"] == "direct" and seen["threads"] == 2, seen
    redone = [used for route, used, nested in seen["maps"] if route == "plain"]
    assert redone and all(used == 1 for used in redone), seen["maps"]
    _, seen = observe("log_softmax", (1, 1 << 23), "float32", 2, top=650.0)
    redone = [used for route, used, nested in seen["maps"] if route == "plain"]
    assert redone and all(used == 2 for used in redone), seen["maps"]


# The peak memory of plan and of the call itself, in a fresh process: plan takes no memory to
# speak of, for integer input (which the call converts) and for a non-trailing axis (which the
# call copies) too.
PEAKS = """
import json, tracemalloc
import numpy as np
from softmax_pkg import log_softmax
from softmax_pkg.routes import plan
cases = [(np.ones((20, 2000, 500)), (0, 2)), (np.ones((4000, 4000), np.int32), -1)]
plan("log_softmax", np.zeros(3))
peaks = []
tracemalloc.start()
for x, axis in cases:
    for func in (plan, lambda *a, **k: log_softmax(*a[1:], **k)):
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        func("log_softmax", x, axis=axis)
        peaks.append([tracemalloc.get_traced_memory()[1] - base, x.size * 8])
print(json.dumps(peaks))
"""


def test_plan_computes_nothing_and_takes_no_memory():
    peaks = in_fresh_process(PEAKS)
    for (planned, _), (called, result) in zip(peaks[::2], peaks[1::2]):
        assert called >= result  # the call makes its result (the measure works)
        assert planned < 1 << 20


@pytest.mark.parametrize("name", FUNCS)
def test_plan_follows_axis(name):
    x = np.zeros((5, 300, 7))
    moved = np.moveaxis(x, (0, 2), (1, 2)).reshape(300, 35)
    assert plan(name, x, axis=(0, 2)) == plan(name, moved)
    assert plan(name, x, axis=1) == plan(name, np.zeros((35, 300)))
    assert plan(name, x, axis=None) == plan(name, x.ravel())


BAD = [
    ({"x": "abc"}, TypeError, "x"),
    ({"x": np.zeros(3), "axis": 1}, ValueError, "axis"),
    ({"x": np.zeros(3), "axis": 1.5}, TypeError, "axis"),
    ({"x": np.zeros((3, 0))}, ValueError, "empty class axis"),
    ({"x": np.zeros(3), "temperature": 0.0}, ValueError, "temperature"),
    ({"x": np.zeros(3), "temperature": "hot"}, TypeError, "temperature"),
    ({"x": np.zeros(3), "where": np.ones(4, bool)}, ValueError, "where"),
    ({"x": np.zeros(3), "where": np.ones(3)}, TypeError, "where"),
]


@pytest.mark.parametrize(("kwargs", "error", "named"), BAD)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_plan_checks_its_arguments_as_the_function_does(name, kwargs, error, named):
    with pytest.raises(error, match=named) as planned:
        plan(name, **kwargs)
    with pytest.raises(error) as called:
        FUNCS[name](**kwargs)
    assert str(planned.value) == str(called.value)


@pytest.mark.parametrize("function", ["Softmax", "sum", sm.softmax, None])
def test_plan_names_the_functions_it_knows(function):
    with pytest.raises(ValueError, match="function must be one of"):
        plan(function, np.zeros(3))


@pytest.mark.parametrize("temperature", [2.0, 0.5, np.array([1.0]), True])
def test_plan_refuses_a_temperature_for_logsumexp(temperature):
    with pytest.raises(ValueError, match="logsumexp takes no temperature"):
        plan("logsumexp", np.zeros(3), temperature=temperature)
    assert plan("logsumexp", np.zeros(3), temperature=1) == plan("logsumexp", np.zeros(3))
