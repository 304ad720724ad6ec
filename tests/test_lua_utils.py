"""utils.lua, colors.lua and log.lua of the Lua compatibility library."""

import os
import platform
import random
import re
import statistics
import struct
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")

LUA_DIR = Path(__file__).parents[1] / "moonpy" / "lua"
LUA_PATH = f"{LUA_DIR}/?.lua;{LUA_DIR}/?/init.lua;"

ESC = "\x1b"

UTILS_GLOBALS = {
    "printf", "errorf", "mapVarArg", "map", "tostringall", "tonumberall", "toCsv", "printCsv",
    "trim", "strSplit", "poissonDelay", "rateToByteDelay", "timeToByteDelay", "imixSize",
    "bswap16", "hton16", "ntoh16", "bswap", "hton", "ntoh", "gettimeofday", "time", "wallTime",
    "getMonotonicTime", "timevalSpan", "getTimeMicros", "checksum", "dumpHex", "mergeTables",
    "concatArrays", "range", "incAndWrap", "unpackAll", "deepCopy", "getOS", "fileExists",
    "strError", "checkDpdkError", "waitForFunc", "voidPtrType", "parseMacAddress",
    "parseIPAddress", "parseIP4Address", "parseIP6Address", "ip4ToString",
}  # fmt: skip
COLOR_GLOBALS = {"getColorCode", "getColorizedString", "red", "bred", "yellow", "green", "white"}


def new_runtime():
    runtime = luajit21.LuaRuntime()
    runtime.execute(f"package.path = {LUA_PATH!r} .. package.path")
    return runtime


@pytest.fixture
def lua():
    runtime = new_runtime()
    runtime.execute('require "utils"')
    # print() output goes to the Lua table `printed`
    runtime.execute(
        """printed = {}
        print = function(...)
            local parts = {}
            for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
            printed[#printed + 1] = table.concat(parts, "\\t")
        end"""
    )
    return runtime


def printed(lua):
    return list(lua.eval("printed").values())


def multi(lua, expr):
    """All return values of a Lua expression, as a Python list (nils kept)."""
    packed = lua.eval(f"(function() local t = {{n = select('#', {expr}), {expr}}} return t end)()")
    return [packed[i] for i in range(1, packed["n"] + 1)]


def collect(lua, expr, count):
    """Evaluate a Lua expression `count` times, in one Lua loop."""
    code = f"(function() local t = {{}} for i = 1, {count} do t[i] = {expr} end return t end)()"
    return list(lua.eval(code).values())


# --- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("colors", COLOR_GLOBALS),
        ("utils", UTILS_GLOBALS | COLOR_GLOBALS),
        ("log", UTILS_GLOBALS | COLOR_GLOBALS),
        ("histogram", set()),
        ("argparse", set()),
    ],
)
def test_modules_only_define_intended_globals(module, allowed):
    runtime = new_runtime()
    keys = "function() local t = {} for k in pairs(_G) do t[#t + 1] = k end return t end"
    before = set(runtime.eval(keys)().values())
    runtime.execute(f'assert(require "{module}")')
    added = set(runtime.eval(keys)().values()) - before
    assert added <= allowed
    if module == "utils":
        assert added == allowed


def test_utils_loads_twice_and_address_module_lazily(lua):
    lua.execute('package.loaded.utils = nil; require "utils"')
    assert lua.eval('package.loaded["moonpy.addr"]') is None
    lua.execute(
        """package.loaded["moonpy.addr"] = {
            parseIP4Address = function(s) return "v4:" .. s end,
            ip4ToString = function(n) return "str:" .. n end,
        }"""
    )
    assert lua.eval('parseIP4Address("10.0.0.1")') == "v4:10.0.0.1"
    assert lua.eval("ip4ToString(7)") == "str:7"


# --- formatting and varargs ------------------------------------------------------------------


def test_printf_and_errorf(lua):
    lua.execute('printf("%s=%d", "x", 42)')
    assert printed(lua) == ["x=42"]
    ok, err = lua.eval(
        """pcall(function()
            local function f() errorf("bad %s", "thing") end
            f()
        end)"""
    )
    assert ok is False
    assert err.endswith(":2: bad thing")  # the position of the errorf call


def test_vararg_helpers_keep_nils(lua):
    assert multi(lua, "tostringall(1, nil, true)") == ["1", "nil", "true"]
    assert multi(lua, 'tonumberall("1", "x", "0x10")') == [1, None, 16]
    assert multi(lua, "mapVarArg(function(v) return v and v * 2 end, 1, nil, 3)") == [2, None, 6]
    assert list(lua.eval("map({1, 2, 3}, function(v) return v + 1 end)").values()) == [2, 3, 4]


def test_csv(lua):
    line = lua.eval('toCsv("a", \'b"c\', "d,e", "x\\ny", "p\\rq", 1.5, 10000, 1/3, nil)')
    assert line == 'a,"b""c","d,e","x\ny","p\rq",1.5,10000,0.33333333333333,nil'
    lua.execute('printCsv("h", 1)')
    assert printed(lua) == ["h,1"]


def test_trim_and_split(lua):
    assert lua.eval('trim("  \\t a b \\n")') == "a b"
    cases = {
        '"a,b,c", ","': ["a", "b", "c"],
        '"a,,b", ","': ["a", "", "b"],
        '",a,", ","': ["a"],
        '"a  b   c", " +"': ["a", "b", "c"],
        '"abc", ","': ["abc"],
        '"", ","': [],
    }
    for args, expected in cases.items():
        assert list(lua.eval(f"strSplit({args})").values()) == expected, args


# --- rates and delays ------------------------------------------------------------------------


def test_poisson_delay_statistics(lua):
    lua.execute("math.randomseed(1234)")
    samples = collect(lua, "poissonDelay(200)", 40000)
    assert all(isinstance(s, int) and s >= 0 for s in samples)
    assert statistics.fmean(samples) == pytest.approx(200, rel=0.03)
    # exponential distribution: standard deviation equals the mean
    assert statistics.pstdev(samples) == pytest.approx(200, rel=0.05)
    assert lua.eval("poissonDelay(0)") == 0


def test_byte_delays(lua):
    assert lua.eval("rateToByteDelay(1000)") == pytest.approx(1.25 - 84)
    assert lua.eval("rateToByteDelay(10, 100)") == pytest.approx(1.0)
    assert lua.eval("timeToByteDelay(1000)") == pytest.approx(1166)
    assert lua.eval("timeToByteDelay(1000, 1000, 100)") == pytest.approx(1.0)


def test_imix_size_distribution(lua):
    lua.execute("math.randomseed(99)")
    sizes = collect(lua, "imixSize()", 24000)
    counts = {s: sizes.count(s) for s in set(sizes)}
    assert set(counts) == {68, 574, 1518}
    assert counts[68] / len(sizes) == pytest.approx(7 / 12, abs=0.02)
    assert counts[574] / len(sizes) == pytest.approx(4 / 12, abs=0.02)
    assert counts[1518] / len(sizes) == pytest.approx(1 / 12, abs=0.01)


# --- byte order ------------------------------------------------------------------------------


def test_byte_swaps(lua):
    assert lua.eval("bswap16(0x1234)") == 0x3412
    assert lua.eval("hton16(0xABCD) == ntoh16(0xABCD)") is True
    assert lua.eval("hton16(0x00FF)") == 0xFF00
    assert lua.eval("bswap(0x01020304)") == 0x04030201
    assert lua.eval("hton(0x80)") == -(2**31)  # signed 32-bit result, like bit.bswap
    assert lua.eval("ntoh(hton(123456))") == 123456


# --- clocks ----------------------------------------------------------------------------------


def test_clocks(lua):
    sec, usec = multi(lua, "gettimeofday()")
    assert isinstance(sec, int) and 0 <= usec < 1_000_000
    assert abs(sec + usec / 1e6 - time.time()) < 2
    assert abs(lua.eval("time()") - time.time()) < 2
    assert lua.eval("wallTime == time") is True
    first = lua.eval("getMonotonicTime()")
    assert abs(first - time.monotonic()) < 1
    assert lua.eval("getMonotonicTime()") >= first
    span = lua.eval("timevalSpan({tv_sec = 12, tv_usec = 5}, {tv_sec = 10, tv_usec = 900000})")
    assert span == 1_100_005
    assert (
        lua.eval(
            """(function()
            local ffi = require "ffi"
            local a, b = ffi.new("struct timeval"), ffi.new("struct timeval")
            a.tv_sec, a.tv_usec, b.tv_sec, b.tv_usec = 5, 1, 4, 2
            return timevalSpan(a, b)
        end)()"""
        )
        == 999_999
    )


def test_get_time_micros_format(lua):
    assert re.fullmatch(r"\d\d:\d\d:\d{1,2}\.\d{6}", lua.eval("getTimeMicros()"))
    lua.execute("package.loaded.utils.time = function() return 86400 * 3 + 3723.25 end")
    assert lua.eval("getTimeMicros()") == "01:02:3.250000"
    lua.execute("package.loaded.utils.time = function() return 45296.5 end")
    assert lua.eval("getTimeMicros()") == "12:34:56.500000"


# --- checksum and hex dump -------------------------------------------------------------------


def ones_complement_le(data: bytes) -> int:
    """MoonGen's checksum: 16-bit words read little-endian, odd byte zero-padded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"<{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def lua_checksum(lua, data: bytes) -> int:
    return lua.eval(
        """function(s)
            local ffi = require "ffi"
            local buf = ffi.new("uint8_t[?]", #s + 2, 0xEE) -- junk after the data
            ffi.copy(buf, s, #s)
            return checksum(buf, #s)
        end"""
    )(data)


def test_checksum_matches_python(lua):
    rng = random.Random(7)
    for length in (0, 1, 2, 3, 20, 21, 60, 1499, 1500):
        data = bytes(rng.randrange(256) for _ in range(length))
        assert lua_checksum(lua, data) == ones_complement_le(data), length
    assert lua_checksum(lua, b"\xff" * 64) == 0


def test_checksum_of_ipv4_header_in_network_order(lua):
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    value = lua_checksum(lua, header)
    # stored as a host-order (little-endian) uint16, it is the header's checksum field
    assert struct.pack("<H", value) == bytes.fromhex("b861")
    patched = header[:10] + struct.pack("<H", value) + header[12:]
    assert lua_checksum(lua, patched) == 0


def dump(lua, data: bytes, extra: str = "") -> str:
    return lua.eval(
        """function(s, extra)
            local ffi = require "ffi"
            local out = {}
            local stream = {write = function(_, text) out[#out + 1] = text end}
            local buf = ffi.new("uint8_t[?]", #s)
            ffi.copy(buf, s, #s)
            local args = loadstring("return " .. (extra ~= "" and extra or "nil"))
            dumpHex(buf, #s, stream, args())
            return table.concat(out)
        end"""
    )(data, extra)


def test_dump_hex(lua):
    data = bytes(range(18))
    assert dump(lua, data) == (
        "  0x0000:   0001 0203 0405 0607 0809 0a0b 0c0d 0e0f \n  0x0010:   1011 \n\n"
    )
    assert lua.eval(
        """(function()
            local ffi = require "ffi"
            local out = {}
            local s = {write = function(_, t) out[#out + 1] = t end}
            dumpHex(ffi.new("uint8_t[3]", {0xde, 0xad, 0xbf}), 3, s, nil, true)
            return table.concat(out)
        end)()"""
    ) == ("  000000   de ad bf \n\n")
    colored = dump(lua, bytes(range(4)), "{2}")
    white, first, second, reset = (f"{ESC}[1;37m", f"{ESC}[0;34m", f"{ESC}[1;32m", f"{ESC}[0m")
    assert colored == f"{white}  0x0000:   {first}0001 {second}0203 {reset}\n\n"


# --- tables ----------------------------------------------------------------------------------


def test_table_helpers(lua):
    merged = lua.eval("mergeTables({a = 1, b = 2}, {b = 3}, {c = 4})")
    assert dict(merged) == {"a": 1, "b": 3, "c": 4}
    assert lua.eval("(function() local t = {} return mergeTables(t, {x = 1}) == t end)()")
    assert list(lua.eval("concatArrays({1, 2}, {3})").values()) == [1, 2, 3]
    assert multi(lua, "range(5)") == [1, 2, 3, 4, 5]
    assert multi(lua, "range(4, 2)") == [2, 3, 4]
    assert multi(lua, "range(1, 3)") == []
    assert multi(lua, "unpackAll({1, nil, 3, nil, 5})") == [1, None, 3, None, 5]


def test_inc_and_wrap(lua):
    values = lua.eval(
        """(function()
            local t = {}
            for max = 1, 9 do for v = 0, max - 1 do t[#t + 1] = incAndWrap(v, max) end end
            t[#t + 1] = incAndWrap(2^31 - 2, 2^31 - 1)
            t[#t + 1] = incAndWrap(1000, 1001)
            return t
        end)()"""
    ).values()
    expected = [(v + 1) % m for m in range(1, 10) for v in range(m)] + [0, 0]
    assert list(values) == expected


def test_deep_copy(lua):
    assert lua.eval(
        """(function()
            local mt = {__index = {answer = 42}}
            local orig = setmetatable({a = {b = {1, 2}}, n = 5}, mt)
            local copy = deepCopy(orig)
            copy.a.b[1] = 99
            return orig.a.b[1] == 1 and copy.a.b[2] == 2 and copy.n == 5
                and copy.answer == 42 and getmetatable(copy) ~= mt
                and deepCopy(7) == 7
        end)()"""
    )


# --- system ----------------------------------------------------------------------------------


def test_get_os(lua):
    name, major, minor, patch = multi(lua, "getOS()")
    assert name == platform.system()
    release = re.match(r"(\d+)\.(\d+)\.(\d+)", platform.release())
    assert (major, minor, patch) == tuple(int(x) for x in release.groups())


def test_file_exists_and_errors(lua, tmp_path):
    present = tmp_path / "f.txt"
    present.write_text("x")
    assert lua.eval(f"fileExists({str(present)!r})") is True
    assert lua.eval(f"fileExists({str(tmp_path / 'missing')!r})") is False
    assert lua.eval("strError(-22)") == os.strerror(22)
    assert lua.eval("strError(2)") == os.strerror(2)
    assert lua.eval("strError(1001)") == "Invalid call in secondary process"
    assert lua.eval("checkDpdkError(0, 'quiet')") is True
    assert printed(lua) == []
    assert lua.eval("checkDpdkError(-22, 'setting MTU')") is True
    assert lua.eval("checkDpdkError(-2, 'reading', 'error')") is True
    assert printed(lua) == [
        f"{ESC}[1;33m[WARN]  Error setting MTU: {os.strerror(22)}{ESC}[0m",
        f"{ESC}[1;31m[ERROR] Error reading: {os.strerror(2)}{ESC}[0m",
    ]


def test_wait_for_func(lua):
    lua.execute(
        """calls, slept, alive = 0, 0, true
        package.loaded.libmoon = {
            sleepMicrosIdle = function(us) slept = slept + us end,
            running = function() return alive end,
        }
        function third(x) calls = calls + 1 return calls >= 3 and x end"""
    )
    assert lua.eval("waitForFunc(1000, third, 'v')") == "v"
    assert (lua.eval("calls"), lua.eval("slept")) == (3, 20)
    assert lua.eval("waitForFunc(55, function() return false end)") is None
    assert lua.eval("slept") == 20 + 5 * 10 + 5
    lua.execute("alive, calls = false, 0")
    assert lua.eval("waitForFunc(1000, third, 'v')") is None
    assert lua.eval("calls") == 1


def test_misc_globals(lua):
    assert lua.eval('tostring(voidPtrType) == tostring(require("ffi").typeof("void*"))')
    assert lua.eval("table.getn({1, 2, 3})") == 3


# --- colors ----------------------------------------------------------------------------------


def test_colors(lua):
    assert lua.eval('getColorCode("red")') == f"{ESC}[0;31m"
    assert lua.eval('getColorCode("dblue")') == f"{ESC}[2;34m"
    assert lua.eval('getColorCode("unknown")') == f"{ESC}[0m"
    assert lua.eval("getColorCode()") == f"{ESC}[0m"
    palette = ["0;34", "1;32", "0;35", "1;31", "0;33", "1;36", "0;32", "1;33", "0;31"]
    for i, code in enumerate(palette + palette[:2], start=1):
        assert lua.eval(f"getColorCode({i})") == f"{ESC}[{code}m"
    assert lua.eval('getColorizedString("x", "cyan")') == f"{ESC}[1;36mx{ESC}[0m"
    for name, code in {
        "red": "0;31",
        "bred": "1;31",
        "yellow": "1;33",
        "green": "0;32",
        "white": "1;37",
    }.items():
        assert lua.eval(f'{name}("%d%%", 5)') == f"{ESC}[{code}m5%{ESC}[0m"
    assert lua.eval('require("colors").red == red')


# --- log -------------------------------------------------------------------------------------


def test_log_levels_and_colors(lua):
    lua.execute(
        """local log = require "log"
        log:debug("hidden %d", 0)
        log:info("rate %d", 10)
        log:warn("careful")
        log:error("broken: %s", "x")
        log:setLevel("DEBUG")
        log:debug("shown")
        log:setLevel("ERROR")
        log:warn("hidden too")
        log:error("still")"""
    )
    assert printed(lua) == [
        f"{ESC}[1;37m[INFO]  rate 10{ESC}[0m",
        f"{ESC}[1;33m[WARN]  careful{ESC}[0m",
        f"{ESC}[1;31m[ERROR] broken: x{ESC}[0m",
        f"{ESC}[0;32m[DEBUG] shown{ESC}[0m",
        f"{ESC}[1;31m[ERROR] still{ESC}[0m",
    ]
    levels = lua.eval("(function() local l = require 'log' return {l.DEBUG, l.INFO, l.WARN, "
                      "l.ERROR, l.FATAL} end)()")  # fmt: skip
    assert list(levels.values()) == [0, 1, 2, 3, 4]
    lua.execute('require("log"):setLevel("nonsense")')
    assert lua.eval('require("log").level') == 1
    lua.execute('require("log"):setLevel("WARN")')
    assert lua.eval('require("log").level') == 2


def test_log_without_color_and_warn_once(lua):
    lua.execute(
        """MOONPY_LOG_COLOR = false
        local log = require "log"
        log:info("plain")
        log:warnOnce("k", "once %d", 1)
        log:warnOnce("k", "once %d", 2)
        log:warnOnce("other")"""
    )
    assert printed(lua) == ["[INFO]  plain", "[WARN]  once 1", "[WARN]  other"]
    ok, err = lua.eval('pcall(function() require("log"):fatal("dead %d", 7) end)')
    assert ok is False
    assert err.endswith("dead 7") and ESC not in err


def test_log_fatal_raises_red_error_at_caller(lua):
    ok, err = lua.eval(
        """pcall(function()
            require("log"):fatal("Could not %s", "start") -- line 2
        end)"""
    )
    assert ok is False
    assert err.endswith(f":2: {ESC}[0;31mCould not start{ESC}[0m")


def test_log_file(lua, tmp_path):
    target = tmp_path / "debug.log"
    lua.execute(
        f"""local log = require "log"
        log.file = {str(target)!r}
        log:fileEnable()
        log:debug("to file only")
        log:fileDisable()
        log:info("screen only")"""
    )
    lines = target.read_text().splitlines()
    assert len(lines) == 2  # file logging is already off when the "Disabled" line is logged
    pattern = r"\d\d:\d\d:\d{1,2}\.\d{6} "
    assert re.fullmatch(pattern + re.escape(f"[INFO]  Enabled logging to '{target}'"), lines[0])
    assert re.fullmatch(pattern + re.escape("[DEBUG] to file only"), lines[1])
    assert printed(lua)[-2:] == [
        f"{ESC}[1;37m[INFO]  Disabled logging to {target}'{ESC}[0m",
        f"{ESC}[1;37m[INFO]  screen only{ESC}[0m",
    ]
