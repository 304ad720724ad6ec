"""TCP (20 bytes without options), Scapy's field names and MoonGen's defaults."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header
from moonpy.proto.fields import Buffer, Field, FlagsField

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS = (1 << i for i in range(9))


class TCP(Header):
    """``sport``, ``dport``, ``seq``, ``ack``, ``dataofs``, ``reserved``,
    ``flags`` (a number or Scapy letters such as ``"SA"``), ``window``,
    ``chksum``, ``urgptr``."""

    member = "tcp"
    size = 20

    sport = Field(0, 2, 1025)
    dport = Field(2, 2, 1024)
    seq = Field(4, 4, 0)
    ack = Field(8, 4, 0)
    dataofs = Field(12, 1, 5, shift=4, bits=4, doc="header length in 32-bit words")
    reserved = Field(12, 1, 0, shift=1, bits=3)
    flags = FlagsField(12, 2, "FSRPAUECN", 0, bits=9, doc="FIN=0x01 SYN=0x02 ... ACK=0x10")
    window = Field(14, 2, 29200)
    chksum = Field(16, 2, 0)
    urgptr = Field(18, 2, 0)

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        return {"dataofs": 5}

    @classmethod
    def header_length(cls, buf: Buffer, offset: int) -> int:
        return (buf[offset + 12] >> 4) * 4
