"""What the Lua packet tests share: one LuaJIT VM with packet.lua loaded over a stand-in
mbuf (DPDK 22.11 layout), and helpers to fill, read and write its buffers."""

import ctypes
import struct
from pathlib import Path

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")
scapy_all = pytest.importorskip("scapy.all")


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


def bswap16(x):
    return ((x & 0xFF) << 8) | (x >> 8)


def inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# every stack getter: fill() arguments with non-default values, and the header size
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
