"""Things written twice (or three times) in moonpy, and a test for each pair that fails the
moment one copy changes without the other:

- field-engine op codes and flags: csrc/mp_fieldengine.h, the Cython module, fieldengine.py;
- header layouts: moonpy/proto/*.py and moonpy/lua/proto/*.lua, built both ways, same bytes;
- device.config defaults: moonpy/lua/device.lua, moonpy/device.py, moonpy/core/engine.py;
- MoonGen's counter lines: moonpy/lua/stats.lua and moonpy/stats.py against one snapshot of
  the text MoonGen prints (tests/snapshots/moongen_stats.txt).
"""

from __future__ import annotations

import inspect
import io
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "moonpy"
SNAPSHOTS = ROOT / "tests" / "snapshots"


# ---- field-engine op codes ----------------------------------------------------------------


def c_field_engine_defines() -> dict[str, int]:
    text = (PKG / "csrc" / "mp_fieldengine.h").read_text()
    return {
        name: int(value, 0)
        for name, value in re.findall(
            r"^#define MP_FE_(\w+)\s+(0x[0-9a-fA-F]+|\d+)u?\b", text, re.M
        )
    }


def python_name(c_name: str) -> str:
    """fieldengine.py's name for MP_FE_<c_name>: FE_RANDOM, F_UDP, MAX_OPS."""
    if c_name.startswith("F_") or c_name == "MAX_OPS":
        return c_name
    return f"FE_{c_name}"


def test_op_codes_are_the_same_in_c_cython_and_python():
    from moonpy import _dpdk
    from moonpy import fieldengine as fe

    c = c_field_engine_defines()
    assert {"RANDOM", "INC", "LIST_BYTES", "OFFLOAD", "F_TCP", "MAX_OPS"} <= set(c), c
    for name, value in c.items():
        assert getattr(_dpdk, f"FE_{name}") == value, f"_dpdk.FE_{name} != MP_FE_{name}"
        assert getattr(fe, python_name(name)) == value, f"fieldengine.{python_name(name)}"
    # and nothing in fieldengine.py that C does not have
    py_codes = {n for n in vars(fe) if re.fullmatch(r"(FE|F)_[A-Z0-9_]+|MAX_OPS", n)}
    assert py_codes == {python_name(n) for n in c}, py_codes ^ {python_name(n) for n in c}


# ---- device.config defaults ---------------------------------------------------------------


def lua_config_defaults() -> dict[str, int]:
    """The defaults device.lua's mod.config passes to the host, read from its source."""
    text = (PKG / "lua" / "device.lua").read_text()
    found = dict(re.findall(r"args\.(\w+) or (\d+)\b", text))
    (nb,) = re.findall(r"args\.numBufs or math\.max\((\d+), (\d+) \* rxDescs - (\d+)\)", text)
    return {
        "rx_queues": int(found["rxQueues"]),
        "tx_queues": int(found["txQueues"]),
        "rx_descs": int(found["rxDescs"]),
        "tx_descs": int(found["txDescs"]),
        "buf_size": int(found["bufSize"]),
        "rss_queues": int(found["rssQueues"]),
        "rss_base_queue": int(found["rssBaseQueue"]),
        "num_bufs": tuple(int(x) for x in nb),  # max(a, b * rx_descs - c)
    }


def num_bufs_rule(path: Path, var: str) -> tuple[int, ...]:
    (nb,) = re.findall(rf"max\((\d+), (\d+) \* {var} - (\d+)\)", path.read_text())
    return tuple(int(x) for x in nb)


def signature_defaults(fn, names: dict[str, str]) -> dict[str, int]:
    params = inspect.signature(fn).parameters
    return {ours: params[theirs].default for ours, theirs in names.items()}


def test_device_config_defaults_agree_in_lua_python_and_the_engine():
    from moonpy import device
    from moonpy.core.engine import Engine

    keys = ("rx_queues", "tx_queues", "rx_descs", "tx_descs", "buf_size", "rss_queues")
    lua = lua_config_defaults()
    py = signature_defaults(
        device.config, {k: k for k in keys} | {"rss_base_queue": "rss_base_queue"}
    )
    eng = signature_defaults(
        Engine.configure_port, {k: k for k in keys} | {"rss_base_queue": "rss_base"}
    )
    assert {k: v for k, v in lua.items() if k != "num_bufs"} == py == eng
    assert lua["rx_descs"] == 512 and lua["tx_descs"] == 1024  # MoonGen's own
    # num_bufs None in Python means the engine's rule, which must be Lua's rule
    assert inspect.signature(device.config).parameters["num_bufs"].default is None
    assert num_bufs_rule(PKG / "core" / "engine.py", "rx_descs") == lua["num_bufs"] == (2047, 2, 1)


# ---- header layouts: built by proto/*.py and by lua/proto/*.lua ------------------------------

# Python stack -> the Lua getter that builds the same headers
STACK_PAIRS = [
    ("ETH", "getEthernetPacket", 60),
    ("IP4", "getIP4Packet", 60),
    ("IP6", "getIP6Packet", 78),
    ("ARP4", "getArpPacket", 60),
    ("ICMP4", "getIcmp4Packet", 60),
    ("UDP4", "getUdp4Packet", 60),
    ("UDP6", "getUdp6Packet", 78),
    ("TCP4", "getTcp4Packet", 60),
    ("TCP6", "getTcp6Packet", 78),
    ("PTP_L2", "getPtpPacket", 60),
    ("UDP_PTP", "getUdpPtpPacket", 90),
    ("VXLAN4", "getVxlanEthernetPacket", 110),
]


@pytest.fixture(scope="module")
def lua_packets():
    pytest.importorskip("lupa.luajit21")
    from test_lua_packets import Lua

    return Lua()


@pytest.mark.parametrize(("stack", "getter", "length"), STACK_PAIRS)
def test_headers_built_in_python_and_lua_are_the_same_bytes(lua_packets, stack, getter, length):
    from moonpy import proto

    st = getattr(proto, stack)
    py = st.build(length)
    _, lua = lua_packets.filled(getter, f"{{ pktLength = {length} }}", len(py))
    n = st.header_length
    assert len(py) >= n
    for i in range(n):
        if py[i] != lua[i]:
            raise AssertionError(
                f"{stack} vs buf:{getter}(): byte {i} of {n} differs "
                f"(python {py[:n].hex()}, lua {lua[:n].hex()})"
            )


@pytest.mark.parametrize(("stack", "getter", "length"), STACK_PAIRS)
def test_header_sizes_agree(lua_packets, stack, getter, length):
    from moonpy import proto

    st = getattr(proto, stack)
    size = lua_packets.run(
        f"local b = ...; local p = b:{getter}(); return require('ffi').sizeof(p[0] or p)",
        lua_packets.buf(),
    )
    # MoonGen's icmp_header is type, code, checksum; Python's ICMP also holds id and seq
    # (Scapy's fields), which MoonGen reads from the ICMP body
    extra = {"ICMP4": 4}.get(stack, 0)
    assert size + extra == st.header_length, (stack, size, st.header_length)


# ---- MoonGen's counter lines ---------------------------------------------------------------

# the samples both formatters get: a manual TX counter fed 1.5 M packets of 64 B every 1.5 s
CLOCK = [100.0, 101.5, 103.0, 104.5, 106.0]
WALL = 1700000000.9
SNAPSHOT = SNAPSHOTS / "moongen_stats.txt"


def python_lines(fmt: str, color: bool, monkeypatch) -> str:
    from moonpy import log, stats

    clock = iter(CLOCK)
    monkeypatch.setattr(stats, "get_time", lambda: next(clock))
    monkeypatch.setattr(log, "COLOR", color)
    monkeypatch.setattr(time, "time", lambda: WALL)
    out = io.StringIO()
    ctr = stats.ManualTxCounter("Port 42", fmt, out)
    ctr.update(0, 0)
    for _ in range(3):
        ctr.update(1_500_000, 96_000_000)
    ctr.finalize(0)
    return out.getvalue()


def lua_lines(fmt: str, color: bool) -> str:
    pytest.importorskip("lupa.luajit21")
    from test_lua_stats import new_runtime

    lua = new_runtime()
    lua.execute('stats = require "stats"')
    lua.execute(f"time = function() return {WALL} end")
    if not color:
        lua.execute("MOONPY_LOG_COLOR = false")  # what `moonpy --no-color` sets
    clock = ", ".join(str(t) for t in CLOCK)
    lua.execute(
        f"""local times = {{ {clock} }}
        clock.now = times[1]
        ctr = stats:newManualTxCounter("Port 42", "{fmt}")
        ctr:update(0, 0)
        for i = 2, 4 do
            clock.now = times[i]
            ctr:update(1500000, 96000000)
        end
        clock.now = times[5]
        ctr:finalize(0)"""
    )
    return str(lua.eval("output()"))


def snapshot() -> dict[str, str]:
    """Sections ``== name ==`` of the snapshot file; \\e stands for ESC."""
    out: dict[str, str] = {}
    name = None
    for line in SNAPSHOT.read_text().splitlines(keepends=True):
        m = re.fullmatch(r"== (\S+) ==\n", line)
        if m:
            name = m.group(1)
            out[name] = ""
        elif name is not None and not line.startswith("#"):
            out[name] += line.replace("\\e", "\x1b")
    return out


@pytest.mark.parametrize(
    ("section", "fmt", "color"),
    [("plain-color", "plain", True), ("plain", "plain", False), ("csv", "CSV", False)],
)
def test_counter_lines_match_moongens_text_in_python_and_lua(monkeypatch, section, fmt, color):
    want = snapshot()[section]
    assert python_lines(fmt, color, monkeypatch) == want, "moonpy/stats.py drifted"
    assert lua_lines(fmt, color) == want, "moonpy/lua/stats.lua drifted"
