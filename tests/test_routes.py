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


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_planned_route_gives_the_functions_result(name, dtype):
    x = np.random.default_rng(0).normal(0, 20, (200, 300)).astype(dtype)
    planned = engine.Call(name, x, route=plan(name, x).route).run().out
    np.testing.assert_array_equal(FUNCS[name](x), planned)


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


# A fresh process (its thread pool empty) with two threads set: after one call, the pool has
# started one thread for each thread the call used beside the caller.
POOL_THREADS = """
import json, sys, threading
import numpy as np
import softmax_pkg as sm
from softmax_pkg.routes import plan
name, shape, dtype = json.loads(sys.argv[1])
sm.set_num_threads(2)
x = np.zeros(shape, dtype)
planned = plan(name, x).threads
getattr(sm, name)(x)
started = sum(t.name.startswith("softmax_pkg") for t in threading.enumerate())
print(json.dumps([planned, started]))
"""


@pytest.mark.parametrize(("name", "shape", "dtype"), [
    ("softmax", (4096, 4096), "float64"),  # blocks of rows: two threads
    ("log_softmax", (1, 1 << 22), "float64"),  # one long row's chunks: two threads
    ("softmax", (64, 65536), "float32"),  # whole rows on one thread, though big
    ("logsumexp", (1000, 100), "float64"),  # below PARALLEL_MIN: the caller alone
])
def test_plan_says_how_many_threads_the_call_starts(name, shape, dtype):
    planned, started = in_fresh_process(POOL_THREADS, json.dumps([name, shape, dtype]))
    assert started == planned - 1


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


def test_plan_leaves_its_input_alone_and_computes_nothing():
    x = np.full((2, 100), np.nan)
    x.flags.writeable = False  # an attempt to write would raise
    before = x.copy()
    assert plan("log_softmax", x, where=x == x) == plan("log_softmax", x, where=x == x)
    np.testing.assert_array_equal(x, before)
