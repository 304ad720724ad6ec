"""IPv6 (40 bytes), Scapy's field names and MoonGen's defaults."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header
from moonpy.proto.fields import Buffer, Field, IPv6Field

PROTO_TCP = 6
PROTO_UDP = 0x11
PROTO_ICMP = 0x3A

NH_OF_NEXT = {"icmp6": PROTO_ICMP, "tcp": PROTO_TCP, "udp": PROTO_UDP}
NEXT_OF_NH = {PROTO_ICMP: "icmp6", PROTO_TCP: "tcp", PROTO_UDP: "udp"}


class IPv6(Header):
    """``version``, ``tc``, ``fl``, ``plen``, ``nh``, ``hlim``, ``src``, ``dst``."""

    member = "ip6"
    size = 40

    version = Field(0, 4, 6, shift=28, bits=4)
    tc = Field(0, 4, 0, shift=20, bits=8, doc="traffic class")
    fl = Field(0, 4, 0, bits=20, doc="flow label")
    plen = Field(4, 2, 8, doc="payload length (fill: frame length - offset - 40)")
    nh = Field(6, 1, PROTO_UDP, doc="next header (set from the next header by fill)")
    hlim = Field(7, 1, 64, doc="hop limit")
    src = IPv6Field(8, "fe80::1")
    dst = IPv6Field(24, "fe80::2")

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if length is not None:
            out["plen"] = length - offset - 40
        if nxt in NH_OF_NEXT:
            out["nh"] = NH_OF_NEXT[nxt]
        return out

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return NEXT_OF_NH.get(buf[offset + 6])
