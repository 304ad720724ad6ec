"""moonpy's math.random in every VM: MoonGen semantics, uniform, seedable."""

from __future__ import annotations

from pathlib import Path

import pytest

luajit = pytest.importorskip("lupa.luajit21")
pytestmark = pytest.mark.lua
LUA = Path(__file__).parents[1] / "moonpy" / "lua"


@pytest.fixture
def lua():
    rt = luajit.LuaRuntime()
    rt.execute(f"package.path = '{LUA}/?.lua;' .. package.path")
    rt.execute("require('moonpy.random').install()")
    return rt


def test_ranges_and_errors(lua):
    lo, hi, ints, unit = lua.execute("""
        local lo, hi, ints, unit = math.huge, -math.huge, true, true
        for i = 1, 200000 do
            local v = math.random(-3, 3)
            lo, hi = math.min(lo, v), math.max(hi, v)
            ints = ints and v == math.floor(v)
            local u = math.random()
            unit = unit and u >= 0 and u < 1
        end
        return lo, hi, ints, unit""")
    assert (lo, hi, ints, unit) == (-3, 3, True, True)
    assert lua.execute("local v = math.random(0, 2^32 - 1) return v >= 0 and v <= 2^32 - 1")
    assert lua.execute(
        "for i = 1, 1000 do local v = math.random(6) "
        "if v < 1 or v > 6 then return false end end return true"
    )
    ok, err = lua.execute("return pcall(math.random, 5, 1)")
    assert not ok and "interval is empty" in err


def test_uniform_and_seedable(lua):
    counts = lua.execute("""
        local c = {0, 0, 0, 0, 0, 0, 0, 0}
        for i = 1, 80000 do local v = math.random(1, 8); c[v] = c[v] + 1 end
        return c""")
    values = [counts[i] for i in range(1, 9)]
    assert all(9000 < v < 11000 for v in values), values
    a = lua.execute("math.randomseed(42) return math.random(1, 1e9), math.random(1, 1e9)")
    b = lua.execute("math.randomseed(42) return math.random(1, 1e9), math.random(1, 1e9)")
    c = lua.execute("math.randomseed(43) return math.random(1, 1e9), math.random(1, 1e9)")
    assert a == b and a != c
