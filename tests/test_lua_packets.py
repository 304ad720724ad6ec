"""packet.lua, proto/*.lua, moonpy/addr.lua and moonpy/offload.lua of the Lua library: the
mbuf and the module, createStack, mbuf methods (offloads, vlan, timestamps, free), a property
test of values set from Lua read back in scapy, and the globals the library defines.
Headers filled one by one: test_lua_headers.py; dump() and decoding: test_lua_packet_dump.py.

Packets are filled from Lua into a stand-in mbuf (DPDK 22.11 layout, lua_packet_rig.py) and
the bytes are parsed with scapy.
"""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")
scapy_all = pytest.importorskip("scapy.all")

from lua_packet_rig import (  # noqa: E402
    FAKE_MBUF_CDEF,
    HELPERS,
    LUA_PATH,
    MBUF_OFFSETS,
    Lua,
    inet_checksum,
)
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


@pytest.fixture(scope="module")
def lua():
    return Lua()


# -------------------------------------------------------------------------------------------------
# the mbuf and the module
# -------------------------------------------------------------------------------------------------


def test_fake_mbuf_layout_matches_dpdk_2211(lua):
    for field, offset in MBUF_OFFSETS.items():
        assert lua.run(f'return require("ffi").offsetof("struct rte_mbuf", "{field}")') == offset
    assert lua.run('return require("ffi").sizeof("struct rte_mbuf")') == 128


def test_get_data_is_buf_addr_plus_data_off(lua):
    buf = lua.buf()
    base = lua.run(
        'local b = ...; return tonumber(require("ffi").cast("uintptr_t", b.buf_addr))', buf
    )
    assert lua.T.addr(buf) == base + 128
    assert lua.run(
        'local b = ...; local ffi = require "ffi"\n'
        'return ffi.cast("uintptr_t", b:getBytes()) == ffi.cast("uintptr_t", b:getData())\n'
        '  and ffi.istype("uint8_t*", b:getBytes()) and ffi.istype("void*", b:getData())',
        buf,
    )
    assert (
        lua.run(
            "local b = ...; return tonumber(require('ffi').cast('uintptr_t', b:getUdpPacket()))",
            buf,
        )
        == base + 128
    )


def test_set_size_and_raw_packet(lua):
    buf = lua.buf()
    lua.run("local b = ...; b:setSize(77)", buf)
    assert lua.run("local b = ...; return b.pkt_len, b.data_len, b:getSize()", buf) == (77, 77, 77)
    lua.run('local b = ...; b:setRawPacket("\\1\\2\\3\\0\\5")', buf)
    assert lua.run("local b = ...; return b:getSize()", buf) == 5
    assert lua.bytes(buf, 6) == b"\x01\x02\x03\x00\x05\x00"


def test_module_is_loaded_once_and_defines_moongen_globals(lua):
    assert lua.run('return require "packet" == select(1, ...)', lua.pkt)
    for name in ("createStack", "packetCreate", "getHeaderData", "packetSetLength",
                 "listPacketStructs", "initHeader"):  # fmt: skip
        assert lua.run(f"return type({name})") == "function", name
    # a second load of the files (package.loaded cleared) must not redefine cdefs or metatypes
    lua.run(
        'for _, m in ipairs{"packet", "proto.proto", "proto.ip4", "proto.udp", "proto.esp",'
        ' "proto.ah", "proto.lacp", "proto.sflow", "proto.ipfix", "moonpy.addr",'
        ' "proto.template"} do package.loaded[m] = nil end'
    )
    assert lua.run('return require "packet" == select(1, ...)', lua.pkt)
    buf = lua.buf()
    lua.run("local b = ...; b:getUdpPacket():fill{}", buf)


def test_every_stack_getter_and_alias(lua):
    sizes = {
        "getRawPacket": 0, "getEthernetPacket": 14, "getEthPacket": 14,
        "getEthernetVlanPacket": 18, "getEthVlanPacket": 18, "getEthernetQinQPacket": 22,
        "getEthQinQPacket": 22, "getIP4Packet": 34, "getIP6Packet": 54, "getIPPacket": 34,
        "getArpPacket": 42, "getIcmp4Packet": 38, "getIcmp6Packet": 58, "getIcmpPacket": 38,
        "getUdp4Packet": 42, "getUdp6Packet": 62, "getUdpPacket": 42, "getTcp4Packet": 54,
        "getTcp6Packet": 74, "getTcpPacket": 54, "getPtpPacket": 48, "getUdpPtpPacket": 76,
        "getVxlanPacket": 50, "getVxlanEthernetPacket": 64, "getEsp4Packet": 50,
        "getEsp6Packet": 70, "getEspPacket": 50, "getAH4Packet": 70, "getAHPacket": 70,
        "getDns4Packet": 54, "getDns6Packet": 74, "getDnsPacket": 54, "getSFlowPacket": 70,
        "getIpfixPacket": 58, "getLacpPacket": 124, "getGre4Packet": 38, "getGre6Packet": 58,
        "getGrePacket": 38, "getGre4QinQPacket": 80, "getGre6QinQPacket": 120,
        "getGreQinQPacket": 80, "getGreQinQArpPacket": 88, "getGre4QinQUdpPacket": 88,
        "getGre6QinQUdpPacket": 128, "getGreQinQUdpPacket": 88,
    }  # fmt: skip
    buf = lua.buf()
    for getter, size in sizes.items():
        got = lua.run(f"local b = ...; return require('ffi').sizeof(b:{getter}():getName())", buf)
        assert got == size, getter
    assert lua.run("return (select(1, ...)).getAH6Packet == nil", lua.pkt)
    # aliases and the ip4 switch
    assert lua.run("local p = ...; return p.getEthPacket == p.getEthernetPacket", lua.pkt)
    for generic, v6 in [("getUdpPacket", "getUdp6Packet"), ("getTcpPacket", "getTcp6Packet"),
                        ("getIPPacket", "getIP6Packet"), ("getIcmpPacket", "getIcmp6Packet"),
                        ("getEspPacket", "getEsp6Packet"), ("getDnsPacket", "getDns6Packet"),
                        ("getGrePacket", "getGre6Packet"),
                        ("getGreQinQPacket", "getGre6QinQPacket"),
                        ("getGreQinQUdpPacket", "getGre6QinQUdpPacket")]:  # fmt: skip
        assert lua.run(
            f"local b = ...; return b:{generic}(false):getName() == b:{v6}():getName()"
            f" and b:{generic}(true):getName() ~= b:{v6}():getName()",
            buf,
        ), generic
    members = lua.run(
        "local b = ...; local r = {}; for i, v in ipairs(b:getGre4QinQUdpPacket():getArgs()) do "
        "r[i] = getHeaderData(v).name end; return table.concat(r, ',')",
        buf,
    )
    assert members == "eth,ip4,gre,etherQinQ,nestedIp4,udp"
    # sflow has no payload member, others have one
    ok, _ = lua.run("local b = ...; return pcall(function() return b:getSFlowPacket().payload end)",
                    buf)  # fmt: skip
    assert ok is False
    assert lua.run("local b = ...; return b:getUdpPacket().payload.uint8 ~= nil", buf)


# -------------------------------------------------------------------------------------------------
# createStack, stack methods
# -------------------------------------------------------------------------------------------------


def test_create_stack_renames_lengths_and_no_payload(lua):
    r = lua.table(
        """
        local ffi = require 'ffi'
        local get = createStack('eth', {'ip4', 'outer'}, {'ip4', name = 'inner', length = 8},
                                {'udp', 'u'}, 'noPayload')
        local buf = ...
        local p = get(buf)
        p:fill{innerSrc = '7.7.7.7', outerTTL = 3, uDst = 99, pktLength = 100}
        local r = {size = ffi.sizeof(p:getName()), again = createStack('eth', {'ip4', 'outer'},
            {'ip4', name = 'inner', length = 8}, {'udp', 'u'}, 'noPayload')(buf):getName()
            == p:getName()}
        r.headers = #p:getHeaders()
        r.hdr = p:getHeader({'ip4', 'inner'}):getSrcString()
        r.name = p:getName()
        r.payload = pcall(function() return p.payload end)
        r.dup = select(2, pcall(createStack, 'eth', 'ip4', 'ip4'))
        r.unknown = select(2, pcall(createStack, 'eth', 'nope'))
        r.checksum = type(p.calculateOuterChecksum) == 'function'
            and type(p.calculateInnerChecksum) == 'function'
        return r
        """,
        lua.buf(),
    )
    assert r["size"] == 14 + 20 + 28 + 8 and r["again"] and r["headers"] == 4
    assert r["hdr"] == "7.7.7.7" and r["payload"] is False and r["checksum"]
    assert "member name" in r["dup"] and "ip4" in r["dup"]
    assert "unknown protocol" in r["unknown"]
    buf = lua.buf()
    lua.run(
        "local b = ...; createStack('eth', {'ip4', 'outer'}, {'ip4', name = 'inner', length = 8},"
        " {'udp', 'u'}, 'noPayload')(b):fill{innerSrc = '7.7.7.7', outerTTL = 3, uDst = 99,"
        " pktLength = 100}",
        buf,
    )
    raw = lua.bytes(buf, 100)
    outer = IP(raw[14:34])
    assert (outer.ttl, outer.proto, outer.len, outer.ihl) == (3, 17, 86, 5)
    inner = IP(raw[34:62])
    assert (inner.src, inner.ihl, inner.len) == ("7.7.7.7", 7, 66)
    assert struct.unpack("!HHH", raw[62:68]) == (1024, 99, 38)


def test_packet_create_warns_and_set_length(lua, capfd):
    capfd.readouterr()
    buf = lua.buf()
    lua.run("local b = ...; packetCreate('eth', 'ip6', 'udp')(b):fill{}", buf)
    captured = capfd.readouterr()
    assert "deprecated" in captured.out + captured.err
    lua.run("local b = ...; b:getUdpPacket():setLength(200); b:getUdp6Packet()", buf)
    raw = lua.bytes(buf, 42)
    assert struct.unpack("!H", raw[16:18])[0] == 186 and struct.unpack("!H", raw[38:40])[0] == 166
    lua.run("local b = ...; b:getUdp6Packet():setLength(300)", buf)
    raw = lua.bytes(buf, 62)
    assert struct.unpack("!H", raw[18:20])[0] == 246 and struct.unpack("!H", raw[58:60])[0] == 246
    lua.run("local b = ...; b:getUdpPtpPacket():setLength(100); b:getIpfixPacket()", buf)
    raw = lua.bytes(buf, 48)
    assert struct.unpack("!H", raw[44:46])[0] == 58  # ptp.len = 100 - 42
    lua.run("local b = ...; packetSetLength({'eth', 'ip4'})(b:getIP4Packet(), 99)", buf)
    assert struct.unpack("!H", lua.bytes(buf, 18)[16:18])[0] == 85


def test_fill_mutates_named_args_like_moongen(lua):
    r = lua.table(
        "local b = ...; local t = {pktLength = 70}; b:getUdpPacket():fill(t); return t", lua.buf()
    )
    assert r["ip4Length"] == 56 and r["udpLength"] == 36 and r["ethSrc"] == "01:02:03:04:05:06"
    assert r["ip4Protocol"] == 17 and r["ethType"] == 0x0800 and r["ip4HeaderLength"] == 5


# -------------------------------------------------------------------------------------------------
# mbuf methods: offloads, vlan, timestamps, free, task stubs
# -------------------------------------------------------------------------------------------------


def test_udp_and_tcp_checksum_offload(lua):
    buf, _ = lua.filled("getUdpPacket", '{ip4Src = "10.0.0.1", udpSrc = 9, pktLength = 100}', 100)
    lua.run("local b = ...; b:offloadUdpChecksum()", buf)
    flags, txo = lua.run("local b = ...; return tostring(b.ol_flags), tonumber(b.tx_offload)", buf)
    assert flags == f"{(1 << 54) | (1 << 55) | (3 << 52)}ULL" and txo == 14 + 20 * 128
    raw = bytearray(lua.bytes(buf, 100))
    # finishing the sum over the UDP segment (pseudo sum already in the field) gives scapy's
    final = inet_checksum(bytes(raw[34:100]))
    ref = IP(bytes(raw[14:100]))
    del ref[UDP].chksum
    assert final == IP(bytes(ref))[UDP].chksum
    buf, _ = lua.filled("getTcp6Packet", '{ip6Src = "2001::5", pktLength = 120}', 120)
    lua.run("local b = ...; b:offloadTcpChecksum(false)", buf)
    flags, txo = lua.run("local b = ...; return tostring(b.ol_flags), tonumber(b.tx_offload)", buf)
    assert flags == f"{(1 << 56) | (1 << 52)}ULL" and txo == 14 + 40 * 128
    raw = lua.bytes(buf, 120)
    ref = IPv6(raw[14:120])
    del ref[TCP].chksum
    assert inet_checksum(raw[54:120]) == IPv6(bytes(ref))[TCP].chksum
    buf = lua.buf()
    lua.run("local b = ...; b:offloadIPChecksum(true, 18, 24)", buf)
    flags, txo = lua.run("local b = ...; return tostring(b.ol_flags), tonumber(b.tx_offload)", buf)
    assert flags == f"{(1 << 54) | (1 << 55)}ULL" and txo == 18 + 24 * 128
    # the module the memory code uses
    assert lua.run("return tostring(require('moonpy.offload').TX_UDP_CKSUM)") == f"{3 << 52}ULL"


def test_vlan_timestamps_rate_and_delay(lua):
    buf = lua.buf()
    lua.run("local b = ...; b:setVlan(100, 5, 1)", buf)
    assert lua.run("local b = ...; return b.vlan_tci, b:getVlan()", buf) == (
        100 + (5 << 13) + (1 << 12), 100, 5, 1,
    )  # fmt: skip
    assert lua.run("local b = ...; return tostring(b.ol_flags)", buf) == f"{1 << 57}ULL"
    fresh = lua.buf()
    assert lua.run("local b = ...; return b:getVlan()", fresh) == (0, 0, 0)  # never nil
    lua.write(buf, struct.pack("<IIII", 0, 0, 7, 2) + bytes(44) + struct.pack("<II", 5, 3))
    assert lua.run("local b = ...; return b:getTimestamp(), b:hasTimestamp()", buf) == (
        2 * 2**32 + 7, True,
    )  # fmt: skip
    assert (
        lua.run(
            "local b = ...; return b:getTimestamp({embeddedTimestampAtEndOfBuffer = true})", buf
        )
        == 3 * 10**9 + 5
    )
    lua.run("local b = ...; b:enableTimestamps(); b:setDelay(1234)", buf)
    assert lua.run("local b = ...; return tostring(b.udata64)", buf) == "1234ULL"
    lua.run("local b = ...; b:setSize(60); b:setRate(10)", buf)
    assert lua.run("local b = ...; return tonumber(b.udata64)", buf) == 125 - 60 - 24 + 0
    lua.run("local b = ...; require('ffi').cast('uint64_t*', b:getData())[6] = 0xabcdULL", buf)
    assert lua.run("local b = ...; return tostring(b:getSoftwareTxTimestamp())", buf) == "43981ULL"
    assert lua.run("local b = ...; return tostring(b:getSoftwareTxTimestamp(48))", buf) == (
        "43981ULL"
    )


def test_free_uses_runtime_api(lua):
    buf = lua.buf()
    ok, err = lua.run("local b = ...; return pcall(b.free, b)", buf)
    assert ok is False and "moonpy.api" in err
    lua.run(
        "freed = {}; package.loaded['moonpy.api'] = {free_one = function(b) freed[#freed + 1] = b"
        " end}"
    )
    try:
        lua.run("local b = ...; b:free()", buf)
        assert lua.run("return #freed") == 1
    finally:
        lua.run("package.loaded['moonpy.api'] = nil")


def test_helper_tasks_need_the_runtime(lua):
    # outside moonpy (a bare LuaJIT) the ARP/ICMP/LACP tasks say what they need
    for call in ["require('proto.arp').startArpTask({})",
                 "require('proto.icmp').startIcmpTask({})"]:  # fmt: skip
        ok, err = lua.run(f"return pcall(function() return {call} end)")
        assert ok is False and "moonpy runtime" in err, (call, err)
    assert lua.run("return require('proto.arp').arpTask") == "__MG_ARP_TASK"


def test_proto_tables_and_packet_checks(lua):
    names = lua.run(
        "local t = {}; for k in pairs(require 'proto.proto') do t[#t + 1] = k end;"
        " table.sort(t); return table.concat(t, ',')"
    )
    assert (
        names == "ah,arp,dns,esp,eth,ethernet,gre,icmp,ip4,ip6,ipfix,lacp,ptp,sflow,tcp,udp,vxlan"
    )
    buf, _ = lua.filled("getTcpPacket", "", 54)
    assert lua.run(
        "local b = ...; local c = require 'proto.packetChecks'; local p = b:getTcpPacket();"
        " return c.isIP4(p), c.isTcp4(p)",
        buf,
    ) == (True, True)


# -------------------------------------------------------------------------------------------------
# property test: values set from Lua read back identically in scapy
# -------------------------------------------------------------------------------------------------

SET_FIELDS = """
local b, src, dst, ttl, tos, id, sport, dport, smac, dmac, flow = ...
local p = b:getUdpPacket()
p:fill{pktLength = 64}
p.ip4.src:set(src)
p.ip4:setDst(dst)
p.ip4:setTTL(ttl)
p.ip4:setTOS(tos)
p.ip4:setID(id)
p.udp:setSrcPort(sport)
p.udp:setDstPort(dport)
p.eth.src:set(smac)
p.eth:setDst(dmac)
p.ip4:calculateChecksum()
"""


@settings(max_examples=300, deadline=None)
@given(
    src=st.integers(0, 2**32 - 1),
    dst=st.integers(-(2**31), 2**31 - 1),
    ttl=st.integers(0, 255),
    tos=st.integers(0, 255),
    ident=st.integers(0, 2**16 - 1),
    sport=st.integers(0, 2**16 - 1),
    dport=st.integers(0, 2**16 - 1),
    smac=st.integers(0, 2**48 - 1),
    dmac=st.integers(0, 2**48 - 1),
)
def test_property_fields_read_back_in_scapy(lua, src, dst, ttl, tos, ident, sport, dport, smac,
                                            dmac):  # fmt: skip
    buf = lua.buf()
    lua.run(SET_FIELDS, buf, src, dst, ttl, tos, ident, sport, dport, smac, dmac, 0)
    raw = lua.bytes(buf, 64)
    pkt = Ether(raw)
    ip, udp = pkt[IP], pkt[UDP]
    assert ip.src == ".".join(str(b) for b in src.to_bytes(4, "big"))
    assert ip.dst == ".".join(str(b) for b in (dst & 0xFFFFFFFF).to_bytes(4, "big"))
    assert (ip.ttl, ip.tos, ip.id, udp.sport, udp.dport) == (ttl, tos, ident, sport, dport)
    assert pkt.src == ":".join(f"{b:02x}" for b in smac.to_bytes(6, "little"))
    assert pkt.dst == ":".join(f"{b:02x}" for b in dmac.to_bytes(6, "little"))
    assert inet_checksum(raw[14:34]) == 0
    back = lua.run(
        "local b = ...; local p = b:getUdpPacket();"
        " return p.ip4.src:get(), p.ip4:getDst(), p.eth:getSrc(), p.udp:getSrcPort()",
        buf,
    )
    signed = src - 2**32 if src >= 2**31 else src
    assert back == (signed, dst, smac, sport)


# -------------------------------------------------------------------------------------------------
# globals: only the ones MoonGen defines on purpose
# -------------------------------------------------------------------------------------------------

MOONGEN_GLOBALS = {
    "createStack", "packetCreate", "getHeaderData", "packetSetLength", "listPacketStructs",
    "initHeader", "SetHeader", "InformationElement", "DataSet", "TmplSet", "TmplRecord",
    "TmplRecordHeader", "OptsTmplSet", "OptsTmplRecord", "OptsTmplRecordHeader",
    "__MG_ARP_TASK", "__LM_ICMP_TASK", "__MG_LACP_TASK",
}  # fmt: skip

STRICT = """
local allowed = ...
local seen = {}
setmetatable(_G, {
    __newindex = function(t, k, v)
        if not allowed[k] then seen[#seen + 1] = "set " .. tostring(k) end
        rawset(t, k, v)
    end,
    __index = function(_, k)
        if k ~= "jit" then seen[#seen + 1] = "get " .. tostring(k) end
        return nil
    end,
})
return seen
"""


def test_modules_leak_no_globals():
    rt = luajit21.LuaRuntime()
    rt.execute(f"package.path = {LUA_PATH!r} .. package.path")
    rt.execute('require("ffi").cdef(...)', FAKE_MBUF_CDEF)
    allowed = rt.eval("{}")
    for name in MOONGEN_GLOBALS | {"T"}:
        allowed[name] = True
    seen = rt.execute(STRICT, allowed)
    rt.execute(HELPERS.replace("ffi.cdef(...)", ""))
    rt.execute('require "packet"')
    # exercise fill / get / dump / decode of every predefined stack under the strict _G
    rt.execute(
        """
        local pkt = require "packet"
        local c = T.collector()
        for name, getter in pairs(pkt) do
            if type(name) == "string" and name:match("^get.*Packet$") then
                local b = T.newBuf()
                local p = getter(b)
                p:fill{pktLength = 128}
                p:get()
                b:setSize(128)
                p:dump(c, false)
                p:calculateChecksums(nil, 128)
                b:dump(c)
                b:get():setLength(128)
            end
        end
        local b = T.newBuf()
        b:offloadUdpChecksum(); b:offloadTcpChecksum(false); b:offloadIPChecksum()
        b:setVlan(1); b:getVlan(); b:getTimestamp(); b:setRate(1); b:getSoftwareTxTimestamp()
        """
    )
    assert list(seen.values()) == []


def test_user_protocol_with_init_header(lua):
    buf = lua.buf()
    r = lua.table(
        """
        local proto = require "proto.proto"
        local foo = {headerFormat = [[
            uint16_t a;
            uint32_t b;
            uint8_t  c[2];
            uint8_t  d;
        ]]}
        foo.metatype = initHeader(foo.headerFormat)
        function foo.metatype:getString() return "FOO " .. self:getA() end
        proto.foo = foo
        local p = createStack("eth", "foo")(...)
        p.foo:setA(0x1234); p.foo:setB(0x01020304); p.foo:setD(9)
        return {a = p.foo:getA(), b = p.foo:getB(), d = p.foo:getDString(),
                c = p.foo.setC ~= nil, s = p.foo:getString()}
        """,
        buf,
    )
    assert r == {"a": 0x1234, "b": 0x01020304, "d": "9", "c": True, "s": "FOO 4660"}
    assert lua.bytes(buf, 23)[14:23] == bytes.fromhex("1234 01020304 0000 09")


def test_udp_ports_are_views_with_set_as_in_the_fosdem_example(lua):
    # the talk's load task writes `pkt.udp.src:set(...)`; raw access must keep working
    buf, _ = lua.filled("getUdpPacket", "", 42)
    lua.run(
        "local b = ...; local p = b:getUdpPacket(); p.udp.src:set(4660); p.udp.dst:set(80)", buf
    )
    raw = lua.bytes(buf, 42)
    assert raw[34:36] == b"\x12\x34" and raw[36:38] == b"\x00\x50"
    assert lua.run(
        "local b = ...; local p = b:getUdpPacket();"
        " return p.udp.src:get(), p.udp:getDstPort(), p.udp.src == 0x3412,"
        " tostring(p.udp.dst)",
        buf,
    ) == (4660, 80, True, "80")
    lua.run("local b = ...; b:getUdpPacket().udp.src = 0x0100", buf)
    assert lua.bytes(buf, 42)[34:36] == b"\x00\x01"
