"""IPv4 (20 bytes without options), Scapy's field names and MoonGen's defaults."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header
from moonpy.proto.fields import Buffer, Field, IPv4Field, NamedFlagsField

PROTO_ICMP = 0x01
PROTO_TCP = 0x06
PROTO_UDP = 0x11
PROTO_GRE = 0x2F
PROTO_ESP = 0x32
PROTO_AH = 0x33

PROTO_OF_NEXT = {"icmp": PROTO_ICMP, "tcp": PROTO_TCP, "udp": PROTO_UDP}
NEXT_OF_PROTO = {PROTO_ICMP: "icmp", PROTO_TCP: "tcp", PROTO_UDP: "udp"}


class IPv4(Header):
    """``version``, ``ihl``, ``tos``, ``len``, ``id``, ``flags``, ``frag``,
    ``ttl``, ``proto``, ``chksum``, ``src``, ``dst``."""

    member = "ip4"
    size = 20

    version = Field(0, 1, 4, shift=4, bits=4)
    ihl = Field(0, 1, 5, bits=4, doc="header length in 32-bit words")
    tos = Field(1, 1, 0)
    len = Field(2, 2, 48, doc="total length (fill: frame length - offset)")
    id = Field(4, 2, 0)
    flags = NamedFlagsField(6, 2, {"MF": 1, "DF": 2, "evil": 4}, 0, shift=13, bits=3)
    frag = Field(6, 2, 0, bits=13, doc="fragment offset in 8-byte units")
    ttl = Field(8, 1, 64)
    proto = Field(9, 1, PROTO_UDP, doc="next protocol (set from the next header by fill)")
    chksum = Field(10, 2, 0, doc="header checksum")
    src = IPv4Field(12, "192.168.1.1")
    dst = IPv4Field(16, "192.168.1.2")

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        out: dict[str, Any] = {"ihl": 5}
        if length is not None:
            out["len"] = length - offset
        if nxt in PROTO_OF_NEXT:
            out["proto"] = PROTO_OF_NEXT[nxt]
        return out

    @classmethod
    def header_length(cls, buf: Buffer, offset: int) -> int:
        return (buf[offset] & 0x0F) * 4

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return NEXT_OF_PROTO.get(buf[offset + 9])

    def calculate_checksum(self) -> int:
        """Compute and write the header checksum in software; returns it."""
        self.chksum = 0
        n = self.header_length(self._buf, self._off)
        value = internet_checksum(bytes(self._buf[self._off : self._off + n]))
        self.chksum = value
        return value


def internet_checksum(data: bytes) -> int:
    """RFC 1071 ones' complement sum, complemented."""
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
