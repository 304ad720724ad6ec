"""Hostile frames straight into the Lua packet parsers (no ports): hypothesis writes
random and mutated bytes into an mbuf and every decoder must cope — buf:get(),
each header's getString(), buf:dump(). A Lua error here is a crash of an RX path."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lua_packet_rig import Lua

pytestmark = pytest.mark.lua

DECODE = """
local buf, sink = ...
local pkt = buf:get()
local n = 0
if pkt then
    for _, h in ipairs(pkt:getHeaders()) do
        local s = h:getString()
        n = n + 1
    end
end
buf:dump(sink, false)
return n
"""

ETHERTYPES = [0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x88F7, 0x8809, 0x1234]
PROTOS = [1, 6, 17, 47, 50, 51, 58, 132, 0, 255]
PORTS = [319, 320, 4789, 6343, 53, 4739, 80]


@st.composite
def frames(draw):
    size = draw(st.integers(min_value=14, max_value=300))
    data = bytearray(draw(st.binary(min_size=size, max_size=size)))
    shape = draw(st.sampled_from(["noise", "ethertype", "ip4", "tcp-options", "udp", "ip6"]))
    if shape == "noise":
        return bytes(data)
    struct.pack_into("!H", data, 12, draw(st.sampled_from(ETHERTYPES)))
    if shape == "ethertype" or size < 60:
        return bytes(data)
    struct.pack_into("!H", data, 12, 0x86DD if shape == "ip6" else 0x0800)
    if shape == "ip6":
        data[14], data[20] = 0x60, draw(st.sampled_from(PROTOS))
        return bytes(data)
    data[14] = draw(st.sampled_from([0x45, 0x4F, 0x46, 0x40, 0x41]))  # IHL, options
    data[23] = draw(st.sampled_from(PROTOS))
    if shape == "udp":
        data[14], data[23] = 0x45, 17
        struct.pack_into("!H", data, 36, draw(st.sampled_from(PORTS)))
    elif shape == "tcp-options":
        data[14], data[23] = 0x45, 6
        data[46] = draw(st.integers(5, 15)) << 4  # data offset: up to 40 option bytes
        for k in range(54, min(size - 1, 94), 2):  # option kinds and (bad) lengths
            data[k] = draw(st.sampled_from([0, 1, 2, 3, 4, 8, 30]))
            data[k + 1] = draw(st.integers(0, 12))
    return bytes(data)


@pytest.fixture(scope="module")
def lua():
    return Lua()


@settings(
    # the same 3000 examples in every test run; `make fuzz` explores far more, at random
    max_examples=int(os.environ.get("MOONPY_FUZZ_EXAMPLES", "3000")),
    derandomize="MOONPY_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frame=frames())
def test_decoders_survive_hostile_frames(lua, frame):
    buf = lua.buf()
    lua.write(buf, frame)
    sink = lua.T.collector()
    headers = lua.run(DECODE, buf, sink)
    assert headers >= 0
