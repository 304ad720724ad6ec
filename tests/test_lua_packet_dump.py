"""buf:dump() (plain, coloured, Wireshark's hex) and decoding packets the script did not
build: raw bytes made by scapy, read back by buf:get() / buf:dump().
"""

import re

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")
scapy_all = pytest.importorskip("scapy.all")

from lua_packet_rig import (  # noqa: E402
    ESC,
    ROUND_TRIP,
    TIME_RE,
    Lua,
)
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, GRE, Dot1Q, Ether  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402


@pytest.fixture(scope="module")
def lua():
    return Lua()


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
