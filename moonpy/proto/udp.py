"""UDP (8 bytes), Scapy's field names and MoonGen's defaults."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header, read_u16
from moonpy.proto.fields import Buffer, Field

PORT_DNS = 53
PORT_PTP_EVENTS = 319
PORT_PTP_GENERAL_MESSAGES = 320
PORT_IPFIX = 4739
PORT_VXLAN = 4789
PORT_SFLOW = 6343

PORT_OF_NEXT = {"ptp": PORT_PTP_EVENTS, "vxlan": PORT_VXLAN}
NEXT_OF_PORT = {PORT_PTP_EVENTS: "ptp", PORT_PTP_GENERAL_MESSAGES: "ptp", PORT_VXLAN: "vxlan"}


class UDP(Header):
    """``sport``, ``dport``, ``len``, ``chksum``."""

    member = "udp"
    size = 8

    sport = Field(0, 2, 1024)
    dport = Field(2, 2, 1025, doc="set from the next header by fill (PTP 319, VXLAN 4789)")
    len = Field(4, 2, 28, doc="UDP length (fill: frame length - offset)")
    chksum = Field(6, 2, 0)

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if length is not None:
            out["len"] = length - offset
        if nxt in PORT_OF_NEXT:
            out["dport"] = PORT_OF_NEXT[nxt]
        return out

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return NEXT_OF_PORT.get(read_u16(buf, offset + 2))
