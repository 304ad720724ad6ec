"""packet.lua, proto/*.lua, moonpy/addr.lua and moonpy/offload.lua of the Lua library.

Packets are filled from Lua into a stand-in mbuf (DPDK 22.11 layout) and the bytes are parsed
with scapy; raw bytes built by scapy are decoded by buf:get() / buf:dump().
"""

import ctypes
import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")
scapy_all = pytest.importorskip("scapy.all")

from scapy.contrib.lacp import LACP  # noqa: E402
from scapy.contrib.ptp_v2 import PTP  # noqa: E402
from scapy.contrib.slowprot import SlowProtocol  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import AH, ESP  # noqa: E402
from scapy.layers.l2 import ARP, GRE, Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.layers.netflow import NetflowHeader  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

LUA_DIR = Path(__file__).parents[1] / "moonpy" / "lua"
LUA_PATH = f"{LUA_DIR}/?.lua;{LUA_DIR}/?/init.lua;"

ESC = "\x1b"
TIME_RE = r"\d\d:\d\d:\d{1,2}\.\d{6}"

# struct rte_mbuf as the runtime defines it (DPDK 22.11 offsets of the fields scripts use)
FAKE_MBUF_CDEF = """
struct rte_mbuf {
    void     *buf_addr;
    uint64_t  buf_iova;
    uint16_t  data_off;
    uint16_t  refcnt;
    uint16_t  nb_segs;
    uint16_t  port;
    uint64_t  ol_flags;
    uint32_t  packet_type;
    uint32_t  pkt_len;
    uint16_t  data_len;
    uint16_t  vlan_tci;
    union { uint32_t rss; struct { uint32_t lo, hi; } sched; } hash;
    uint16_t  vlan_tci_outer;
    uint16_t  buf_len;
    void     *pool;
    void     *next;
    uint64_t  tx_offload;
    void     *shinfo;
    uint16_t  priv_size;
    uint16_t  timesync;
    uint64_t  udata64;
    uint64_t  timestamp;
    uint32_t  seqn;
    uint8_t   tail_reserved[12];
};
"""

MBUF_OFFSETS = {
    "buf_addr": 0, "buf_iova": 8, "data_off": 16, "refcnt": 18, "nb_segs": 20, "port": 22,
    "ol_flags": 24, "packet_type": 32, "pkt_len": 36, "data_len": 40, "vlan_tci": 42, "hash": 44,
    "vlan_tci_outer": 52, "buf_len": 54, "pool": 56, "next": 64, "tx_offload": 72, "shinfo": 80,
    "priv_size": 88, "timesync": 90, "udata64": 96, "timestamp": 104, "seqn": 112,
}  # fmt: skip

HELPERS = """
local ffi = require "ffi"
ffi.cdef(...)
T = { keep = {} }
function T.newBuf()
    local buf = ffi.new("struct rte_mbuf")
    local data = ffi.new("uint8_t[2048]")
    buf.buf_addr = data
    buf.buf_len = 2048
    buf.data_off = 128
    T.keep[#T.keep + 1] = buf
    T.keep[#T.keep + 1] = data
    return buf
end
function T.addr(buf)
    return tonumber(ffi.cast("uintptr_t", buf:getData()))
end
-- a stream for dump(): collects what is written
function T.collector()
    local c = { parts = {} }
    function c:write(...)
        for i = 1, select("#", ...) do self.parts[#self.parts + 1] = tostring((select(i, ...))) end
    end
    function c:text() return table.concat(self.parts) end
    return c
end
"""


class Lua:
    """One LuaJIT VM with the packet library loaded over the fake mbuf."""

    def __init__(self):
        self.rt = luajit21.LuaRuntime()
        self.rt.execute(f"package.path = {LUA_PATH!r} .. package.path")
        self.rt.execute(HELPERS, FAKE_MBUF_CDEF)
        self.pkt = self.rt.execute('return require "packet"')
        self.T = self.rt.eval("T")

    def run(self, code, *args):
        return self.rt.execute(code, *args)

    def buf(self):
        return self.T.newBuf()

    def bytes(self, buf, n):
        return ctypes.string_at(int(self.T.addr(buf)), n)

    def write(self, buf, data):
        data = bytes(data)
        ctypes.memmove(int(self.T.addr(buf)), data, len(data))
        self.run("local b, n = ...; b:setSize(n)", buf, len(data))

    def filled(self, getter, args_lua, size, extra=""):
        """fill a fresh buffer with `buf:<getter>():fill(<args_lua>)`, return (buf, bytes)."""
        buf = self.buf()
        self.run(f"local buf = ...; local p = buf:{getter}(); p:fill({args_lua}); {extra}", buf)
        return buf, self.bytes(buf, size)

    def table(self, code, *args):
        return dict(self.run(code, *args).items())


@pytest.fixture(scope="module")
def lua():
    return Lua()


def bswap16(x):
    return ((x & 0xFF) << 8) | (x >> 8)


def inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


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
# headers: fill with non-default values, parse with scapy
# -------------------------------------------------------------------------------------------------


def test_ethernet_fill_defaults_and_values(lua):
    _, raw = lua.filled("getEthernetPacket", "", 14)
    eth = Ether(raw)
    assert (eth.src, eth.dst, eth.type) == ("01:02:03:04:05:06", "07:08:09:0a:0b:0c", 0x0800)
    _, raw = lua.filled(
        "getEthernetPacket",
        '{ethSrc = "aa:BB:cc:dd:ee:0f", ethDst = "10-20-30-40-50-60", ethType = 0x1234}',
        14,
    )
    eth = Ether(raw)
    assert (eth.src, eth.dst, eth.type) == ("aa:bb:cc:dd:ee:0f", "10:20:30:40:50:60", 0x1234)
    # number, union and device-like table forms
    _, raw = lua.filled(
        "getEthernetPacket",
        "{ethSrc = 0x060504030201, ethDst = {id = 3, getMacString = function() "
        'return "AA:00:00:00:00:01" end}}',
        14,
    )
    eth = Ether(raw)
    assert (eth.src, eth.dst) == ("01:02:03:04:05:06", "aa:00:00:00:00:01")
    _, raw = lua.filled(
        "getEthernetPacket",
        '{ethSrc = require("moonpy.addr").parseMacAddress("de:ad:be:ef:00:01"),'
        ' ethDst = {dev = {getMacString = function() return "00:00:00:00:00:02" end}, id = 0}}',
        14,
    )
    eth = Ether(raw)
    assert (eth.src, eth.dst) == ("de:ad:be:ef:00:01", "00:00:00:00:00:02")


def test_ethernet_vlan_and_qinq(lua):
    _, raw = lua.filled("getEthernetVlanPacket", "{ethVlan = 0x6123, ethType = 0x86dd}", 18)
    pkt = Ether(raw)
    assert pkt.type == 0x8100
    assert (pkt[Dot1Q].prio, pkt[Dot1Q].dei, pkt[Dot1Q].vlan) == (3, 0, 0x123)
    assert pkt[Dot1Q].type == 0x86DD
    _, raw = lua.filled("getEthernetVlanPacket", "", 18)
    assert Ether(raw)[Dot1Q].vlan == 1
    buf, raw = lua.filled(
        "getEthernetQinQPacket",
        "{ethouterVlanId = 0x88a8, ethouterVlanTag = 0x2064, ethinnerVlanTag = 0x00c8,"
        " ethType = 0x0806}",
        22,
    )
    pkt = Ether(raw)
    assert pkt.type == 0x88A8
    assert (pkt[Dot1AD].prio, pkt[Dot1AD].vlan, pkt[Dot1AD].type) == (1, 0x64, 0x8100)
    assert (pkt[Dot1Q].vlan, pkt[Dot1Q].type) == (0xC8, 0x0806)
    assert lua.run(
        "local b = ...; local e = b:getEthQinQPacket().eth;"
        " return e:getOuterVlanTag(), e:getInnerVlanTag(), e:getOuterVlanId()",
        buf,
    ) == (0x64, 0xC8, 0x88A8)


def test_ip4_udp_fill_and_checksum(lua):
    args = (
        '{ethSrc = "02:00:00:00:00:01", ethDst = "02:00:00:00:00:02", ip4Src = "10.1.2.3",'
        ' ip4Dst = "172.16.254.1", ip4TOS = 0xb8, ip4ID = 4242, ip4Flags = 2, ip4Fragment = 77,'
        " ip4TTL = 17, udpSrc = 5555, udpDst = 6666, udpChecksum = 0xbeef, pktLength = 124}"
    )
    _, raw = lua.filled("getUdpPacket", args, 124, extra="p:calculateChecksums()")
    pkt = Ether(raw)
    assert (pkt.src, pkt.dst) == ("02:00:00:00:00:01", "02:00:00:00:00:02")
    ip, udp = IP(raw[14:34]), UDP(raw[34:42])  # a fragment: scapy would not decode UDP itself
    assert (ip.version, ip.ihl, ip.tos, ip.len, ip.id) == (4, 5, 0xB8, 110, 4242)
    assert (int(ip.flags), ip.frag, ip.ttl, ip.proto) == (2, 77, 17, 17)
    assert (ip.src, ip.dst) == ("10.1.2.3", "172.16.254.1")
    assert ip.chksum == inet_checksum(raw[14:34][:10] + b"\0\0" + raw[26:34])
    assert (udp.sport, udp.dport, udp.len, udp.chksum) == (5555, 6666, 90, 0xBEEF)
    # the same checksum through the stack's named method and the header method
    buf, raw2 = lua.filled("getUdpPacket", args, 124, extra="p:calculateIp4Checksum()")
    assert raw2[24:26] == raw[24:26]


def test_ip4_defaults_and_ip6_udp(lua):
    _, raw = lua.filled("getUdpPacket", "", 42)
    ip, udp = Ether(raw)[IP], Ether(raw)[UDP]
    assert (ip.len, ip.ttl, ip.src, ip.dst, ip.chksum) == (48, 64, "192.168.1.1", "192.168.1.2", 0)
    assert (udp.sport, udp.dport, udp.len) == (1024, 1025, 28)
    buf = lua.buf()
    lua.run(
        'local b = ...; b:getUdpPacket(false):fill{ip6Src = "2001:db8::1:2",'
        ' ip6Dst = "fe80::abcd:1.2.3.4", ip6TrafficClass = 0xa5, ip6FlowLabel = 0x12345,'
        " ip6TTL = 3, udpSrc = 1, udpDst = 65535, pktLength = 100}",
        buf,
    )
    pkt = Ether(lua.bytes(buf, 100))
    ip6, udp = pkt[IPv6], pkt[UDP]
    assert pkt.type == 0x86DD
    assert (ip6.version, ip6.tc, ip6.fl, ip6.plen, ip6.nh, ip6.hlim) == (
        6,
        0xA5,
        0x12345,
        46,
        17,
        3,
    )
    assert (ip6.src, ip6.dst) == ("2001:db8::1:2", "fe80::abcd:102:304")
    assert (udp.sport, udp.dport, udp.len) == (1, 65535, 46)
    _, raw = lua.filled("getUdp6Packet", "", 62)
    ip6 = Ether(raw)[IPv6]
    assert (ip6.src, ip6.dst, ip6.plen, ip6.hlim) == ("fe80::1", "fe80::2", 8, 64)


def test_tcp4_and_tcp6_fill_and_checksum(lua):
    buf, raw = lua.filled(
        "getTcpPacket",
        '{ip4Src = "1.2.3.4", ip4Dst = "5.6.7.8", tcpSrc = 443, tcpDst = 51000,'
        " tcpSeqNumber = 0xdeadbeef, tcpAckNumber = 0x80000001, tcpReserved = 0x2a,"
        " tcpSyn = 1, tcpAck = true, tcpFin = 0, tcpWindow = 1234, tcpUrgentPointer = 9,"
        " pktLength = 80}",
        80,
        extra="p:calculateChecksums()",
    )
    pkt = Ether(raw)
    ip, tcp = pkt[IP], pkt[TCP]
    assert (ip.proto, ip.len) == (6, 66)
    assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack) == (443, 51000, 0xDEADBEEF, 0x80000001)
    assert (tcp.dataofs, tcp.window, tcp.urgptr) == (5, 1234, 9)
    assert int(tcp.flags) & 0x3F == 0x12
    reserved6 = ((tcp.reserved << 1 | (int(tcp.flags) >> 8)) << 2) | ((int(tcp.flags) >> 6) & 3)
    assert reserved6 == 0x2A
    fresh = IP(bytes(ip))
    del fresh[TCP].chksum
    assert tcp.chksum == IP(bytes(fresh))[TCP].chksum
    assert ip.chksum == IP(bytes(fresh)).chksum  # ip4 checksum computed too
    values = lua.table("local b = ...; return b:getTcpPacket():get()", buf)
    assert values["tcpSeqNumber"] == 0xDEADBEEF and values["tcpAckNumber"] == 0x80000001
    assert values["tcpSyn"] is True and values["tcpFin"] is False and values["tcpReserved"] == 0x2A
    buf = lua.buf()
    lua.run(
        "local b = ...; local p = b:getTcpPacket(false);"
        ' p:fill{ip6Src = "2001::1", ip6Dst = "2001::2", tcpPsh = 1, tcpRst = 1, pktLength = 90};'
        " p:calculateChecksums()",
        buf,
    )
    pkt = Ether(lua.bytes(buf, 90))
    assert pkt[IPv6].nh == 6 and int(pkt[TCP].flags) == 0x0C
    fresh = IPv6(bytes(pkt[IPv6]))
    del fresh[TCP].chksum
    assert pkt[TCP].chksum == IPv6(bytes(fresh))[TCP].chksum
    # defaults: ports 1025 > 1024, window 29200, data offset 5
    _, raw = lua.filled("getTcpPacket", "", 54)
    tcp = Ether(raw)[TCP]
    assert (tcp.sport, tcp.dport, tcp.window, tcp.dataofs) == (1025, 1024, 29200, 5)


def test_icmp4_and_icmp6(lua):
    buf, raw = lua.filled(
        "getIcmpPacket",
        "{icmpType = 0, icmpCode = 0, pktLength = 60}",
        60,
        extra="p.icmp.body[0] = 0xab; p.icmp.body[5] = 0x17; p.ip4:calculateChecksum();"
        " p.icmp:calculateChecksum(p.ip4:getLength() - p.ip4:getHeaderLength() * 4)",
    )
    pkt = Ether(raw)
    assert (pkt[IP].proto, pkt[ICMP].type, pkt[ICMP].code) == (1, 0, 0)
    assert inet_checksum(raw[34:60]) == 0
    assert inet_checksum(raw[14:34]) == 0
    assert lua.run("local b = ...; return b:getIcmpPacket().icmp:getString()", buf) == (
        f"ICMP type 0 (echo reply) code 0 (correct) cksum 0x{pkt[ICMP].chksum:04x}"
        " body <some data> "
    )
    _, raw = lua.filled("getIcmp6Packet", "{icmpType = 128, pktLength = 70}", 70)
    pkt = Ether(raw)
    assert pkt[IPv6].nh == 58 and raw[54] == 128 and pkt[IPv6].plen == 16
    # default checksum length is the header struct (4 bytes), as in MoonGen
    buf, raw = lua.filled("getIcmpPacket", "", 38, extra="p.icmp:calculateChecksum()")
    assert inet_checksum(raw[34:38]) == 0


def test_arp(lua):
    buf, raw = lua.filled(
        "getArpPacket",
        '{arpOperation = 2, arpHardwareSrc = "aa:bb:cc:00:11:22", arpProtoSrc = "10.0.0.1",'
        ' arpHardwareDst = "ff:ee:dd:cc:bb:aa", arpProtoDst = "10.0.0.254"}',
        42,
    )
    pkt = Ether(raw)
    arp = pkt[ARP]
    assert pkt.type == 0x0806
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen, arp.op) == (1, 0x0800, 6, 4, 2)
    assert (arp.hwsrc, arp.psrc) == ("aa:bb:cc:00:11:22", "10.0.0.1")
    assert (arp.hwdst, arp.pdst) == ("ff:ee:dd:cc:bb:aa", "10.0.0.254")
    assert lua.run("local b = ...; return b:getArpPacket().arp:getString()", buf) == (
        "ARP hrd Ethernet (hln 6) pro 0x0800 (pln 4) op Reply 10.0.0.1 is-at aa:bb:cc:00:11:22"
        " (for 10.0.0.254 @ ff:ee:dd:cc:bb:aa)"
    )
    buf, raw = lua.filled("getArpPacket", "", 42)
    arp = Ether(raw)[ARP]
    assert (arp.op, arp.psrc, arp.pdst, arp.hwsrc) == (1, "0.1.2.3", "4.5.6.7", "01:02:03:04:05:06")
    assert lua.run("local b = ...; return b:getArpPacket().arp:getString()", buf) == (
        "ARP hrd Ethernet (hln 6) pro 0x0800 (pln 4) op Request who-has 4.5.6.7"
        " (07:08:09:0a:0b:0c) tell 0.1.2.3 (01:02:03:04:05:06)"
    )


def test_ptp_l2_and_udp(lua):
    args = (
        "{ptpMessageType = 9, ptpVersion = 2, ptpDomain = 4, ptpReserved = 1, ptpFlags = 0x0208,"
        " ptpCorrection = {high = 0x01020304, low = 0xa0b0c0d0}, ptpReserved2 = 0xfeedface,"
        " ptpOui = 0x123456, ptpUuid = {high = 0x77, low = 0x89abcdef}, ptpNodePort = 7,"
        " ptpSequenceID = 0xfffe, ptpControl = 3, ptpLogMessageInterval = 0xfd, pktLength = 60}"
    )
    buf, raw = lua.filled("getPtpPacket", args, 60)
    assert Ether(raw).type == 0x88F7
    ptp = PTP(raw[14:48] + bytes(10))
    assert (ptp.messageType, ptp.version, ptp.messageLength, ptp.domainNumber) == (9, 2, 46, 4)
    assert (ptp.reserved2, ptp.correctionField, ptp.reserved3) == (
        1,
        0x01020304A0B0C0D0,
        0xFEEDFACE,
    )
    assert ptp.clockIdentity == 0x1234567789ABCDEF
    assert (ptp.portNumber, ptp.sequenceId, ptp.controlField) == (7, 0xFFFE, 3)
    assert raw[14 + 6 : 14 + 8] == b"\x02\x08" and raw[14 + 33] == 0xFD
    values = lua.table("local b = ...; return b:getPtpPacket():get()", buf)
    assert values["ptpSequenceID"] == 0xFFFE and values["ptpMessageType"] == 9
    _, raw = lua.filled("getUdpPtpPacket", "{pktLength = 90}", 90)
    pkt = Ether(raw)
    assert pkt[UDP].dport == 319 and pkt[UDP].len == 56
    ptp = PTP(raw[42:76] + bytes(10))
    assert (ptp.messageLength, ptp.portNumber, ptp.logMessageInterval) == (48, 1, 0x7F)


def test_vxlan_and_inner_ethernet(lua):
    _, raw = lua.filled(
        "getVxlanEthernetPacket",
        '{vxlanVNI = 0xabcdef, vxlanFlags = 0x08, innerEthSrc = "12:34:56:78:9a:bc",'
        ' innerEthDst = "ff:ff:ff:ff:ff:ff", innerEthType = 0x0806, pktLength = 64}',
        64,
    )
    pkt = Ether(raw)
    assert pkt[UDP].dport == 4789 and pkt[UDP].len == 30
    vx = pkt[VXLAN]
    assert (vx.vni, int(vx.flags)) == (0xABCDEF, 0x08)
    inner = Ether(bytes(raw[50:64]))
    assert (inner.src, inner.dst, inner.type) == ("12:34:56:78:9a:bc", "ff:ff:ff:ff:ff:ff", 0x0806)
    _, raw = lua.filled("getVxlanPacket", "{vxlanReserved = 0x010203, vxlanReserved2 = 9}", 50)
    assert raw[42:50] == b"\x08\x01\x02\x03\x00\x00\x00\x09"


def test_esp_and_ah(lua):
    buf, raw = lua.filled(
        "getEspPacket",
        "{espSPI = 0xc0ffee01, espSQN = 0x10203, espIV = 0x0102030405060708ULL, pktLength = 70}",
        70,
    )
    pkt = Ether(raw)
    assert pkt[IP].proto == 50
    esp = ESP(raw[34:70])
    assert (esp.spi, esp.seq) == (0xC0FFEE01, 0x10203)
    assert bytes(esp.data)[:8] == bytes.fromhex("0102030405060708")
    assert lua.run("local b = ...; return b:getEspPacket().esp:getString()", buf) == (
        "ESP spi 0xc0ffee01 sqn 66051 iv 0x0102030405060708"
    )
    # default IV is random
    _, a = lua.filled("getEspPacket", "", 50)
    _, b = lua.filled("getEspPacket", "", 50)
    assert a[42:50] != b[42:50]
    _, raw = lua.filled(
        "getAHPacket", "{ahSPI = 77, ahSQN = 3, ahIV = 5, ahNextHeader = 17, pktLength = 90}", 90
    )
    pkt = Ether(raw)
    assert pkt[IP].proto == 51
    ah = AH(raw[34:70])
    assert (ah.nh, ah.payloadlen, ah.spi, ah.seq) == (17, 7, 77, 3)
    assert bytes(ah.icv)[:24] == bytes(7) + b"\x05" + bytes(16)


def test_gre_and_qinq_nesting(lua):
    _, raw = lua.filled("getGre4Packet", "{greProto = 0x0800, greFlags = 0x0000}", 38)
    pkt = Ether(raw)
    assert pkt[IP].proto == 0x2F and pkt[GRE].proto == 0x0800
    _, raw = lua.filled(
        "getGre4QinQUdpPacket",
        "{etherQinQouterVlanTag = 5, etherQinQinnerVlanTag = 6, etherQinQType = 0x0800,"
        ' nestedIp4Src = "9.9.9.9", nestedIp4Protocol = 17, udpDst = 7, pktLength = 120}',
        120,
    )
    pkt = Ether(raw)
    assert pkt[GRE].proto == 0x6558
    inner = Ether(raw[38:])
    assert inner[Dot1Q].vlan == 5 and inner.getlayer(Dot1Q, 2).vlan == 6
    assert inner[IP].src == "9.9.9.9" and inner[UDP].dport == 7
    assert inner[IP].len == 120 - 38 - 22


def test_dns(lua):
    buf, raw = lua.filled(
        "getDnsPacket",
        "{dnsId = 0x1234, dnsResp = 1, dnsQueryType = 2, dnsAuthAnswer = 1, dnsRecDesired = 1,"
        " dnsRCode = 3, pktLength = 60}",
        60,
    )
    pkt = Ether(raw)
    assert pkt[UDP].dport == 53
    dns = scapy_all.DNS(raw[42:54])
    assert (dns.id, dns.qr, dns.opcode, dns.aa, dns.tc, dns.rd, dns.ra, dns.rcode) == (
        0x1234, 1, 2, 1, 0, 1, 0, 3,
    )  # fmt: skip
    lua.run(
        "local b = ...; local p = b:getDnsPacket(); p:fill{dnsQDCount = 1, dnsANCount = 2,"
        " dnsNSCount = 3, dnsARCount = 4, dnsMessageContent = '\\3www\\0'}",
        buf,
    )
    raw = lua.bytes(buf, 60)
    assert struct.unpack("!4H", raw[46:54]) == (1, 2, 3, 4) and raw[54:59] == b"\x03www\x00"
    assert 10000 <= struct.unpack("!H", raw[42:44])[0] <= 65335


def test_ipfix_lacp_sflow(lua):
    _, raw = lua.filled(
        "getIpfixPacket",
        "{ipfixExportTime = 0x5f000001, ipfixSeq = 0xfffffff0, ipfixObservationDomain = 42,"
        " pktLength = 100}",
        100,
    )
    pkt = Ether(raw)
    assert pkt[UDP].dport == 4739
    hdr = NetflowHeader(raw[42:58])
    v10 = hdr.payload
    assert hdr.version == 10 and v10.length == 58
    assert (v10.ExportTime, v10.flowSequence, v10.ObservationDomainID) == (
        0x5F000001, 0xFFFFFFF0, 42,
    )  # fmt: skip
    buf, raw = lua.filled(
        "getLacpPacket",
        '{ethDst = "11:11:11:11:11:11", lacpActorSysPriority = 0x8000, lacpActorKey = 13,'
        " lacpActorPortPriority = 255, lacpActorPortId = 1001, lacpActorState = 0x3d,"
        ' lacpActorSysId = "00:1b:21:aa:bb:cc", lacpPartnerKey = 99, lacpPartnerState = 0x3f}',
        124,
    )
    pkt = Ether(raw)
    assert pkt.dst == "01:80:c2:00:00:02" and pkt.type == 0x8809  # lacp overrides ethDst
    slow = SlowProtocol(raw[14:])
    lacp = slow[LACP]
    assert slow.subtype == 1 and lacp.version == 1
    assert (lacp.actor_system_priority, lacp.actor_key, lacp.actor_port_priority) == (
        0x8000,
        13,
        255,
    )
    assert (lacp.actor_port_number, lacp.actor_state) == (1001, 0x3D)
    assert lacp.actor_system == "00:1b:21:aa:bb:cc"
    assert (lacp.partner_key, lacp.partner_state, lacp.collector_max_delay) == (99, 0x3F, 0)
    values = lua.table("local b = ...; return b:getLacpPacket():get()", buf)
    assert values["lacpActorSysId"] == "00:1b:21:aa:bb:cc" and values["lacpPartnerKey"] == 99
    buf, raw = lua.filled(
        "getSFlowPacket",
        '{sflowVersion = 5, sflowAgentIp = "10.0.0.9", sflowSubAgentId = 2, sflowSeq = 100,'
        " sflowUptime = 0x80000000, sflowNumSamples = 0, pktLength = 70}",
        70,
    )
    assert Ether(raw)[UDP].dport == 6343
    assert struct.unpack("!II4sIIII", raw[42:70]) == (
        5, 1, bytes([10, 0, 0, 9]), 2, 100, 0x80000000, 0,
    )  # fmt: skip
    assert lua.run("local b = ...; return b:getSFlowPacket().sflow:getString()", buf) == (
        "sFlowv5, agent IP 10.0.0.9, sub agent id 2, seq 100, uptime 2147483648, samples 0 "
    )


# -------------------------------------------------------------------------------------------------
# get() / fill() round trips, raw access, number quirks
# -------------------------------------------------------------------------------------------------

ROUND_TRIP = {
    "getEthernetPacket": ('{ethSrc = "0a:0b:0c:0d:0e:0f", ethType = 0x9000}', 14),
    "getEthernetVlanPacket": ("{ethVlan = 0x234}", 18),
    "getEthernetQinQPacket": ("{ethouterVlanTag = 3, ethinnerVlanTag = 4}", 22),
    "getUdpPacket": ('{ip4Src = "1.1.1.1", ip4TTL = 9, udpSrc = 7, pktLength = 80}', 80),
    "getUdp6Packet": ('{ip6Dst = "::ffff:1.2.3.4", ip6FlowLabel = 99, pktLength = 90}', 90),
    "getTcpPacket": ("{tcpSyn = 1, tcpSeqNumber = 4000000000, tcpReserved = 3}", 60),
    "getIcmpPacket": ("{icmpType = 3, icmpCode = 3}", 60),
    "getArpPacket": ('{arpOperation = 2, arpProtoSrc = "192.168.7.7"}', 42),
    "getPtpPacket": ("{ptpSequenceID = 5, ptpUuid = {high = 1, low = 2}}", 60),
    "getVxlanEthernetPacket": ("{vxlanVNI = 12345}", 64),
    "getEspPacket": ("{espSPI = 3000000000}", 60),
    "getAHPacket": ("{ahSPI = 5}", 80),
    "getDnsPacket": ("{dnsId = 9, dnsResp = 1, dnsRCode = 2, dnsQDCount = 1}", 60),
    "getIpfixPacket": ("{ipfixSeq = 3}", 60),
    "getGre4QinQUdpPacket": ("{greFlags = 0, etherQinQinnerVlanTag = 77}", 90),
    "getLacpPacket": ('{lacpActorKey = 5, lacpPartnerSysId = "01:02:03:04:05:06"}', 124),
    "getSFlowPacket": ("{sflowSeq = 4}", 70),
}


@pytest.mark.parametrize("getter", sorted(ROUND_TRIP))
def test_get_after_fill_round_trips(lua, getter):
    args, size = ROUND_TRIP[getter]
    src, raw = lua.filled(getter, args, size)
    dst = lua.buf()
    lua.run(f"local a, b = ...; local t = a:{getter}():get(); b:{getter}():fill(t)", src, dst)
    assert lua.bytes(dst, size) == raw


def test_raw_network_order_fields(lua):
    buf, _ = lua.filled("getUdpPacket", "{udpSrc = 0x1234}", 42)
    assert lua.run(
        "local b = ...; local p = b:getUdpPacket();"
        " return p.eth.type == bit.rshift(bit.bswap(0x0800), 16), p.udp.src.uint16, p.ip4.ttl",
        buf,
    ) == (True, bswap16(0x1234), 64)
    lua.run("local b = ...; local p = b:getUdpPacket(); p.ip4.ttl = 3; p.udp.dst = 0x3412", buf)
    raw = lua.bytes(buf, 42)
    assert raw[22] == 3 and raw[36:38] == b"\x12\x34"
    lua.run("local b = ...; b:getUdpPacket().payload.uint64[0] = 0x0102030405060708ULL", buf)
    assert lua.bytes(buf, 50)[42:50] == bytes.fromhex("0807060504030201")


def test_ip4_number_quirks(lua):
    addr = "local a = require 'moonpy.addr';"
    assert lua.run(addr + " return a.parseIPAddress('192.168.1.1')") == (-1062731519, True)
    assert lua.run(addr + " return a.parseIP4Address('255.255.255.255')") == -1
    assert lua.run(addr + " return a.parseIP4Address('256.1.1.1')") is None
    assert lua.run(addr + " return a.ip4ToString(-1062731519)") == "192.168.1.1"
    buf, _ = lua.filled("getUdpPacket", "", 42)
    assert lua.run(
        "local b = ...; local ip = b:getUdpPacket().ip4; return ip:getSrc(), ip.src:get()", buf
    ) == (-1062731519, -1062731519)
    # set accepts signed and unsigned forms, add wraps, + and - give numbers, == compares bytes
    lua.run(
        "local b = ...; local ip = b:getUdpPacket().ip4; ip.src:set(0xC0A80101);"
        " ip.dst:set(-1062731519); ip.src:add(255)",
        buf,
    )
    raw = lua.bytes(buf, 34)
    assert raw[26:30] == bytes([192, 168, 2, 0]) and raw[30:34] == bytes([192, 168, 1, 1])
    assert lua.run(
        "local b = ...; local ip = b:getUdpPacket().ip4;"
        " return ip.dst + 1, 1 + ip.dst, ip.dst - 1, ip.src == ip.dst, ip.dst == ip.dst",
        buf,
    ) == (-1062731518, -1062731518, -1062731520, False, True)
    lua.run("local b = ...; local ip = b:getUdpPacket().ip4; ip.src:set(-1); ip.src:add(1)", buf)
    assert lua.bytes(buf, 30)[26:30] == bytes(4)


def test_mac_number_quirks_and_invalid_strings(lua, capfd):
    addr = "local a = require 'moonpy.addr';"
    assert lua.run(addr + " return a.parseMacAddress('01:02:03:04:05:06', true)") == 0x060504030201
    assert lua.run(addr + " return a.parseMacAddress('ff-ee-dd-cc-bb-aa', true)") == 0xAABBCCDDEEFF
    assert lua.run(addr + " return a.parseMacAddress('01:02:03:04:05')") is None
    assert lua.run(addr + " return a.parseMacAddress('01:02:03:04:05:100')") is None
    assert lua.run(addr + " return a.parseMacAddress('0a:0b:0c:0d:0e:0f'):getString()") == (
        "0a:0b:0c:0d:0e:0f"
    )
    buf, _ = lua.filled("getEthernetPacket", '{ethSrc = "a0:b1:c2:d3:e4:f5"}', 14)
    assert lua.run("local b = ...; return b:getEthPacket().eth:getSrc()", buf) == 0xF5E4D3C2B1A0
    lua.run("local b = ...; b:getEthPacket().eth:setDst(0xFFEEDDCCBBAA)", buf)
    assert lua.bytes(buf, 6) == bytes.fromhex("aabbccddeeff")
    lua.run("local b = ...; b:getEthPacket().eth.dst:set(0x010203040506ULL)", buf)
    assert lua.bytes(buf, 6) == bytes.fromhex("060504030201")
    assert lua.run(
        "local b = ...; local e = b:getEthPacket().eth; local s = e.src;"
        " return e.src == s, e.src == e.dst",
        buf,
    ) == (True, False)
    capfd.readouterr()
    for _ in range(3):
        lua.run('local b = ...; b:getEthPacket().eth:setSrcString("01:02:03")', buf)
    assert lua.bytes(buf, 12)[6:12] == bytes(6)  # MoonGen quirk: zeros
    err = capfd.readouterr().err
    assert err.count('"01:02:03"') == 1 and "invalid MAC" in err


def test_ip6_address_semantics(lua):
    code = """
    local a = require 'moonpy.addr'
    local ffi = require 'ffi'
    local x = a.parseIP6Address('2001:db8::ffff:ffff:ffff:ffff')
    local r = {}
    r.low = tostring(x.uint64[0]); r.high = tostring(x.uint64[1])
    local y = x + 1
    r.carry = tostring(y.uint64[1]) .. ' ' .. tostring(y.uint64[0])
    local z = y - 1
    r.back = z == x
    r.lt = x < y
    r.le = x <= x
    r.notlt = y < x
    local buf = ...
    local p = buf:getUdp6Packet()
    p.ip6.src:set(x)
    r.str = p.ip6.src:getString()
    p.ip6.src:add(1)
    r.added = p.ip6.src:getString()
    p.ip6.src:add(-1)
    r.sub = p.ip6.src:getString()
    r.got = p.ip6.src:get() == x
    r.swapped = p.ip6.src:getString(true)
    r.bad = a.parseIP6Address('1::2::3') == nil and a.parseIP6Address('12345::') == nil
    r.v4 = select(2, a.parseIPAddress('::1'))
    return r
    """
    buf = lua.buf()
    r = lua.table(code, buf)
    assert r["low"] == "18446744073709551615ULL" and r["high"] == "2306139568115548160ULL"
    assert r["carry"] == "2306139568115548161ULL 0ULL"
    assert r["back"] and r["lt"] and r["le"] and not r["notlt"]
    assert r["str"] == "2001:0db8:0000:0000:ffff:ffff:ffff:ffff"
    assert r["added"] == "2001:0db8:0000:0001:0000:0000:0000:0000"
    assert r["sub"] == r["str"] and r["got"]
    assert r["swapped"] == "ffff:ffff:ffff:ffff:0000:0000:b80d:0120"
    assert r["bad"] and r["v4"] is False


def test_parse_ip6_forms(lua):
    import ipaddress

    for text in ["::", "::1", "fe80::1", "1:2:3:4:5:6:7:8", "1::8", "::ffff:10.1.2.3",
                 "2001:DB8:0:0:8:800:200C:417A", "1:2:3:4:5:6:7::"]:  # fmt: skip
        got = lua.run(
            "local a = require 'moonpy.addr'; local x = a.parseIP6Address(...);"
            " return tostring(x.uint64[1]) .. ' ' .. tostring(x.uint64[0])",
            text,
        )
        value = int(ipaddress.IPv6Address(text))
        assert got == f"{value >> 64}ULL {value & (2**64 - 1)}ULL", text
    for bad in ["", ":", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "::1.2.3", "1::2::3"]:
        assert lua.run("return require('moonpy.addr').parseIP6Address(...)", bad) is None, bad


# -------------------------------------------------------------------------------------------------
# dump()
# -------------------------------------------------------------------------------------------------

GOLDEN_UDP_DUMP = (
    "TIME ETH 01:02:03:04:05:06 > 07:08:09:0a:0b:0c type 0x0800 (IP4)\n"
    "IP4 192.168.1.1 > 192.168.1.2 ver 4 ihl 5 tos 0 len 46 id 0 flags 0 frag 0 ttl 64"
    " proto 0x11 (UDP) cksum 0x0000 [-]\n"
    "UDP 1024 > 1025 len 26 cksum 0x0000\n"
    "  0x0000:   0708 090a 0b0c 0102 0304 0506 0800 4500 \n"
    "  0x0010:   002e 0000 0000 4011 0000 c0a8 0101 c0a8 \n"
    "  0x0020:   0102 0400 0401 001a 0000 0000 0000 0000 \n"
    "  0x0030:   0000 0000 0000 0000 0000 0000 \n"
    "\n"
)


def dump_text(lua, buf, call):
    return lua.run(f"local b = ...; local c = T.collector(); {call}; return c:text()", buf)


def test_dump_golden_udp_packet(lua):
    buf = lua.buf()
    lua.run("local b = ...; b:getUdpPacket():fill{pktLength = 60}; b:setSize(60)", buf)
    text = dump_text(lua, buf, "b:dump(nil, c, false)")
    assert re.match(TIME_RE + " ETH", text)
    assert re.sub("^" + TIME_RE, "TIME", text) == GOLDEN_UDP_DUMP
    # the stream may also come first; stack dump defaults to the struct size
    assert re.sub("^" + TIME_RE, "TIME", dump_text(lua, buf, "b:dump(c, false)")) == (
        GOLDEN_UDP_DUMP
    )
    stack = re.sub("^" + TIME_RE, "TIME", dump_text(lua, buf, "b:getUdpPacket():dump(c, false)"))
    assert (
        stack == GOLDEN_UDP_DUMP.split("  0x0020")[0] + "  0x0020:   0102 0400 0401 001a 0000 \n\n"
    )


def test_dump_colorized_and_wireshark(lua):
    buf = lua.buf()
    lua.run("local b = ...; b:getUdpPacket():fill{pktLength = 60}; b:setSize(60)", buf)
    text = dump_text(lua, buf, "b:dump(nil, c)")
    assert re.match(f"{ESC}\\[1;37m{TIME_RE}{ESC}\\[0m{ESC}\\[0;34m ETH ", text)
    assert f"\n{ESC}[1;32mIP4 192.168.1.1" in text and f"\n{ESC}[0;35mUDP 1024" in text
    assert (
        f"{ESC}[1;37m  0x0000:   {ESC}[0;34m0708 090a 0b0c 0102 0304 0506 0800 {ESC}[1;32m4500 \n"
        in text
    )
    assert (
        f"{ESC}[1;37m  0x0020:   {ESC}[1;32m0102 {ESC}[0;35m0400 0401 001a 0000 {ESC}[1;31m0000"
        in text
    )
    assert text.endswith(f"0000 {ESC}[0m\n\n")
    plain = re.sub(ESC + r"\[[0-9;]*m", "", text)
    assert re.sub("^" + TIME_RE, "TIME", plain) == GOLDEN_UDP_DUMP
    wireshark = dump_text(lua, buf, "b:dump(nil, c, false, true)")
    assert wireshark.startswith("  000000   07 08 09 0a 0b 0c 01 02 03 04 05 06 08 00 45 00 \n")
    assert wireshark.endswith("  000030   00 00 00 00 00 00 00 00 00 00 00 00 \n\n")


def test_dump_every_stack_has_a_string(lua):
    # getString of every header works (GRE, DNS, sFlow, LACP included)
    for getter in sorted(ROUND_TRIP) + [
        "getGre6QinQUdpPacket",
        "getAH4Packet",
        "getUdpPtpPacket",
        "getRawPacket",
        "getIcmp6Packet",
        "getEsp6Packet",
    ]:
        buf = lua.buf()
        text = dump_text(
            lua, buf, f"b:{getter}():fill{{pktLength = 128}}; b:{getter}():dump(c, false)"
        )
        assert text.endswith("\n\n"), getter


# -------------------------------------------------------------------------------------------------
# decoding unknown packets
# -------------------------------------------------------------------------------------------------


def decode(lua, data):
    buf = lua.buf()
    lua.write(buf, data)
    r = lua.table(
        "local b = ...; local p = b:get(); local names = {};"
        " for i, v in ipairs(p:getArgs()) do names[i] = getHeaderData(v).name end;"
        " return {name = p:getName(), members = table.concat(names, ','),"
        " size = require('ffi').sizeof(p:getName())}",
        buf,
    )
    return buf, r


def test_decode_common_stacks(lua):
    cases = [
        (Ether() / IP() / UDP(dport=9) / (b"x" * 20), "eth,ip4,udp", 42),
        (Ether() / IP() / TCP() / b"y", "eth,ip4,tcp", 54),
        (Ether() / IPv6() / UDP(dport=1) / b"z", "eth,ip6,udp", 62),
        (Ether() / IPv6() / TCP(), "eth,ip6,tcp", 74),
        (Ether() / IP() / ICMP(), "eth,ip4,icmp", 38),
        (Ether() / ARP(), "eth,arp", 42),
        (Ether() / IP() / UDP(dport=4789) / VXLAN(vni=5) / Ether() / IP() / UDP(dport=53),
         "eth,ip4,udp,vxlan,innerEth,ip42,udp2,dns", 104),
        (Ether() / IP() / UDP(sport=5, dport=320) / bytes(44), "eth,ip4,udp,ptp", 76),
        (Ether(type=0x88F7) / bytes(44), "eth,ptp", 48),
        (Ether() / IP(proto=50) / bytes(16), "eth,ip4,esp", 50),
        (Ether() / IP() / GRE(proto=0x0800) / IP() / UDP(dport=9), "eth,ip4,gre,ip42,udp", 66),
        (Ether(type=0x1234) / bytes(30), "eth", 14),
        (Ether() / IP(proto=200) / bytes(30), "eth,ip4", 34),
    ]  # fmt: skip
    for pkt, members, size in cases:
        _, r = decode(lua, bytes(pkt))
        assert (r["members"], r["size"]) == (members, size), pkt.summary()


def test_decode_vlan_options_and_dump(lua):
    _, r = decode(lua, bytes(Ether() / Dot1Q(vlan=42) / IP() / UDP(dport=9)))
    assert r["members"] == "eth,ip4,udp" and r["size"] == 46
    assert "_vlan" in r["name"]
    opts = IP(options=[IPOption(b"\x94\x04\x00\x00"), IPOption(b"\x01\x01\x01\x00")])
    buf, r = decode(lua, bytes(Ether() / opts / UDP(dport=7)))
    assert r["members"] == "eth,ip4,udp" and r["size"] == 50
    text = dump_text(lua, buf, "b:dump(c, false)")
    assert "ihl 7" in text and "[0x9404000001010100]" in text and "UDP 53 > 7" in text
    tcp = TCP(options=[("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b""),
                       ("Timestamp", (123456, 654321)), ("EOL", None)])  # fmt: skip
    buf, r = decode(lua, bytes(Ether() / IP() / tcp))
    assert r["members"] == "eth,ip4,tcp"
    assert r["size"] == 54 + (len(bytes(tcp)) - 20)
    text = dump_text(lua, buf, "b:dump(c, false)")
    assert "[MSS 1460,nop,WS 7 (x128),4 0x,TSval 123456 TSecr 654321,eol" in text
    # decoded structs are cached: the same stack comes back
    _, r2 = decode(lua, bytes(Ether() / opts / UDP(dport=7)))
    _, r3 = decode(lua, bytes(Ether() / opts / UDP(dport=7)))
    assert r2["name"] == r3["name"]


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
