"""histogram.lua of the Lua compatibility library."""

import json
import math
import statistics
from pathlib import Path

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")

LUA_DIR = Path(__file__).parents[1] / "moonpy" / "lua"
LUA_PATH = f"{LUA_DIR}/?.lua;{LUA_DIR}/?/init.lua;"


@pytest.fixture
def lua():
    runtime = luajit21.LuaRuntime()
    runtime.execute(f"package.path = {LUA_PATH!r} .. package.path")
    runtime.execute(
        """require "utils"
        hist = require "histogram"
        printed = {}
        print = function(s) printed[#printed + 1] = tostring(s) end"""
    )
    return runtime


def printed(lua):
    return list(lua.eval("printed").values())


def make(lua, values):
    """A histogram fed with `values` in this order."""
    h = lua.eval("hist()")
    for v in values:
        h.update(h, v)
    return h


def call(lua, h, method, *args):
    """All return values of h:method(...), as a list."""
    packed = lua.eval(
        "function(h, m, ...) "
        "local function pack(...) return {n = select('#', ...), ...} end "
        "return pack(h[m](h, ...)) end"
    )(h, method, *args)
    return [packed[i] for i in range(1, packed["n"] + 1)]


def to_py(value):
    if luajit21.lua_type(value) != "table":
        return value
    return {k: to_py(v) for k, v in value.items()}


def is_nan(x):
    return isinstance(x, float) and math.isnan(x)


def test_constructors_are_independent(lua):
    assert lua.eval(
        """(function()
            local a, b, c = hist:new(), hist:create(), hist()
            a:update(1); b:update(2); b:update(2)
            return getmetatable(a) == hist and getmetatable(c) == hist
                and a:totals() == 1 and b:totals() == 2 and c:totals() == 0
        end)()"""
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (None, None, None)),
        ([5], (None, None, None)),
        ([7, 3], (7, None, None)),
        ([4, 1, 3, 2], (2, 3, 4)),
        (list(range(100, 0, -1)), (26, 51, 76)),
        ([10] * 3 + [20] * 5, (10, 20, 20)),
    ],
)
def test_quartile_walk(lua, values, expected):
    h = make(lua, values)
    quartiles = call(lua, h, "quartiles")
    assert [None if is_nan(q) else q for q in quartiles] == list(expected)
    median = h.median(h)
    assert (median if not is_nan(median) else None) == expected[1]


def test_nil_samples_are_ignored(lua):
    h = make(lua, [3, None, 5, None])
    assert call(lua, h, "totals") == [2, 8, 4.0]


def test_statistics(lua):
    values = [12, 7, 7, 30, 5, 18, 7, 11, 2, 40]
    h = make(lua, values)
    assert h.average(h) == pytest.approx(statistics.fmean(values))
    assert h.standardDeviation(h) == pytest.approx(statistics.stdev(values))  # n - 1
    assert (h.min(h), h.max(h)) == (2, 40)
    assert call(lua, h, "totals") == [10, sum(values), pytest.approx(13.9)]
    cells = lua.eval(
        "function(h) local t = {} for c in h:samples() do t[#t + 1] = {c.k, c.v} end return t end"
    )(h)
    assert [tuple(c.values()) for c in cells.values()] == [
        (2, 1),
        (5, 1),
        (7, 3),
        (11, 1),
        (12, 1),
        (18, 1),
        (30, 1),
        (40, 1),
    ]
    # lazily recomputed after more samples
    h.update(h, 100)
    assert h.max(h) == 100
    assert h.numSamples == 11


def test_percentile(lua):
    h = make(lua, range(1, 101))
    assert [h.percentile(h, p) for p in (0, 1, 50, 90, 99, 99.5)] == [1, 2, 51, 91, 100, None]
    assert h.percentile(h, 100) is None  # MoonGen's walk never reaches position N
    for bad in (-1, 100.5):
        ok, err = lua.eval("function(h, p) return pcall(h.percentile, h, p) end")(h, bad)
        assert ok is False and "invalid argument" in err
    assert lua.eval("hist():percentile(50)") is None


def test_print_format(lua):
    h = make(lua, [])
    h.print(h)
    h = make(lua, [5])
    h.print(h, "one")
    h = make(lua, [1200, 1230, 1270, 1240])
    h.print(h, "Background traffic")
    h = make(lua, [7, 3])
    h.print(h)
    assert printed(lua) == [
        "Samples: 0, Average: -nan ns, StdDev: 0.0 ns, Quartiles: -nan/-nan/-nan ns",
        "[one] Samples: 1, Average: 5.0 ns, StdDev: -nan ns, Quartiles: -nan/-nan/-nan ns",
        "[Background traffic] Samples: 4, Average: 1235.0 ns, StdDev: 28.9 ns, "
        "Quartiles: 1230.0/1240.0/1270.0 ns",
        "Samples: 2, Average: 5.0 ns, StdDev: 2.8 ns, Quartiles: 7.0/-nan/-nan ns",
    ]


def test_save_to_file_and_handle(lua, tmp_path):
    h = make(lua, [1234] * 17 + [2.5, 1e15, 0.1, 7619.047619047619, -3])
    target = tmp_path / "hist.csv"
    h.save(h, str(target))
    expected = "-3,1\n0.1,1\n2.5,1\n1234,17\n7619.0476190476,1\n1e+15,1\n"
    assert target.read_text() == expected
    assert printed(lua) == [f"\x1b[1;37m[INFO]  Saving histogram to '{target}'\x1b[0m"]
    other = tmp_path / "handle.csv"
    lua.eval(
        "function(h, name) local f = io.open(name, 'w') h:save(f) f:write('end') f:close() end"
    )(h, str(other))
    assert other.read_text() == expected + "end"
    assert len(printed(lua)) == 1  # no log line for a handle


def test_jitter(lua):
    h = make(lua, [])
    assert is_nan(h.jitter(h))
    h = make(lua, [5])
    assert is_nan(h.jitter(h))
    h = make(lua, [10, 14, None, 11, 11, 20])
    assert h.jitter(h) == pytest.approx((4 + 3 + 0 + 9) / 4)


def test_percentiles_and_to_table(lua):
    h = make(lua, list(range(1, 1001)) + [None])
    p = dict(h.percentiles(h))
    assert p == {"p50": 501, "p90": 901, "p99": 991, "p999": 1000, "max": 1000}
    table = to_py(h.toTable(h))
    assert table["samples"] == 1000
    assert table["average"] == pytest.approx(500.5)
    assert table["median"] == 501
    assert table["jitter"] == 1
    assert table["percentiles"]["p99"] == 991
    assert len(table["buckets"]) == 1000
    empty = to_py(lua.eval("hist():toTable()"))
    assert empty["samples"] == 0 and empty["stdDev"] == 0
    assert "average" not in empty and "median" not in empty and "jitter" not in empty
    assert empty["percentiles"] == {}
    small = make(lua, [4, 1, 3, 2])
    assert dict(small.percentiles(small)) == {"p50": 3, "p90": 4, "p99": 4, "p999": 4, "max": 4}
    # everything in toTable() is JSON-representable
    json.dumps(empty, allow_nan=False)
    json.dumps(to_py(table), allow_nan=False)


def test_from_table_round_trips(lua):
    h = make(lua, [30, 10, 20, 20, 50])
    summary = lua.eval("function(h) return h:summary('x') end")
    assert summary(h) == (
        "[x] Samples: 5, Average: 26.0 ns, StdDev: 15.2 ns, Quartiles: 20.0/30.0/50.0 ns"
    )
    rebuilt = lua.eval("function(h) return hist.fromTable(h:toTable()) end")(h)
    assert summary(rebuilt) == summary(h)
    assert rebuilt.jitter(rebuilt) == h.jitter(h)
    # a plain copy of the fields with string keys, as JSON would give it
    from_json = lua.eval(
        """function(h)
            local t = {histo = {}, jitterSum = h.jitterSum, jitterCount = h.jitterCount}
            for k, v in pairs(h.histo) do t.histo[tostring(k)] = v end
            return hist.fromTable(t)
        end"""
    )(h)
    assert summary(from_json) == summary(h)
    from_buckets = lua.eval("hist.fromTable({{10, 1}, {20, 2}, {k = 30, v = 1}, {50, 1}})")
    assert summary(from_buckets) == summary(h)
    rebuilt.update(rebuilt, 60)
    assert rebuilt.max(rebuilt) == 60


def test_serialize_hook(lua):
    h = make(lua, [0.5, 3, 3, 1e9])
    code, ok = lua.eval("function(h) return h:__serialize() end")(h)
    assert ok is True
    copy = lua.eval("function(code) return loadstring(code)() end")(code)
    assert lua.eval("function(c) return getmetatable(c) == hist end")(copy)
    assert list(copy.quartiles(copy)) == list(h.quartiles(h))
    assert copy.average(copy) == h.average(h)
    assert copy.jitter(copy) == h.jitter(h)
