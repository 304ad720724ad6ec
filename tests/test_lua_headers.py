"""The protocol headers of the Lua library (proto/*.lua): each filled with non-default values
and parsed with scapy, get()/fill() round trips, raw network-order access and number quirks.
"""

import struct

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")
scapy_all = pytest.importorskip("scapy.all")

from lua_packet_rig import (  # noqa: E402
    ROUND_TRIP,
    Lua,
    bswap16,
    inet_checksum,
)
from scapy.contrib.lacp import LACP  # noqa: E402
from scapy.contrib.ptp_v2 import PTP  # noqa: E402
from scapy.contrib.slowprot import SlowProtocol  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import AH, ESP  # noqa: E402
from scapy.layers.l2 import ARP, GRE, Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.layers.netflow import NetflowHeader  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402


@pytest.fixture(scope="module")
def lua():
    return Lua()


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
