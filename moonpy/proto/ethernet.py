"""Ethernet II and 802.1Q VLAN tags (MoonGen's ``eth`` and its vlan variant)."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header, read_u16
from moonpy.proto.fields import Buffer, Field, MacField

TYPE_IP = 0x0800
TYPE_ARP = 0x0806
TYPE_IP6 = 0x86DD
TYPE_PTP = 0x88F7
TYPE_8021Q = 0x8100
TYPE_8021AD = 0x88A8
TYPE_LACP = 0x8809
BROADCAST = "ff:ff:ff:ff:ff:ff"

TYPE_OF_NEXT = {"ip4": TYPE_IP, "ip6": TYPE_IP6, "arp": TYPE_ARP, "ptp": TYPE_PTP,
                "vlan": TYPE_8021Q}  # fmt: skip
NEXT_OF_TYPE = {TYPE_IP: "ip4", TYPE_IP6: "ip6", TYPE_ARP: "arp", TYPE_PTP: "ptp",
                TYPE_8021Q: "vlan", TYPE_8021AD: "vlan"}  # fmt: skip


class Ether(Header):
    """Ethernet II: ``dst``, ``src``, ``type`` (14 bytes)."""

    member = "eth"
    size = 14

    dst = MacField(0, "07:08:09:0a:0b:0c", doc="destination MAC")
    src = MacField(6, "01:02:03:04:05:06", doc="source MAC")
    type = Field(12, 2, TYPE_IP, doc="EtherType (set from the next header by fill)")

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        return {"type": TYPE_OF_NEXT[nxt]} if nxt in TYPE_OF_NEXT else {}

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return NEXT_OF_TYPE.get(read_u16(buf, offset + 12))


class Dot1Q(Header):
    """An 802.1Q tag after the Ethernet addresses: ``prio``, ``dei``, ``vlan``
    (the 12-bit id), ``tci`` (all 16 bits), ``type`` (the inner EtherType).

    The Ethernet header's ``type`` is the TPID (0x8100), as in Scapy's
    ``Ether()/Dot1Q()``; MoonGen's ``ethVlan`` is ``vlan_tci`` here.
    """

    member = "vlan"
    size = 4

    prio = Field(0, 2, 0, shift=13, bits=3, doc="priority code point")
    dei = Field(0, 2, 0, shift=12, bits=1, doc="drop eligible")
    vlan = Field(0, 2, 1, bits=12, doc="VLAN id (MoonGen's default: 1)")
    tci = Field(0, 2, None, doc="the whole tag control information")
    type = Field(2, 2, TYPE_IP, doc="inner EtherType")

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        return {"type": TYPE_OF_NEXT[nxt]} if nxt in TYPE_OF_NEXT else {}

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return NEXT_OF_TYPE.get(read_u16(buf, offset + 2))
