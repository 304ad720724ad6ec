"""ARP over Ethernet/IPv4 (28 bytes), Scapy's field names and MoonGen's defaults."""

from __future__ import annotations

from moonpy.proto.base import Header
from moonpy.proto.fields import Field, IPv4Field, MacField

OP_REQUEST = 1
OP_REPLY = 2


class ARP(Header):
    """``hwtype``, ``ptype``, ``hwlen``, ``plen``, ``op``, ``hwsrc``, ``psrc``,
    ``hwdst``, ``pdst``."""

    member = "arp"
    size = 28

    hwtype = Field(0, 2, 1, doc="hardware type (1: Ethernet)")
    ptype = Field(2, 2, 0x0800, doc="protocol type (IPv4)")
    hwlen = Field(4, 1, 6)
    plen = Field(5, 1, 4)
    op = Field(6, 2, OP_REQUEST, doc="1: request, 2: reply")
    hwsrc = MacField(8, "01:02:03:04:05:06")
    psrc = IPv4Field(14, "0.1.2.3")
    hwdst = MacField(18, "07:08:09:0a:0b:0c")
    pdst = IPv4Field(24, "4.5.6.7")
