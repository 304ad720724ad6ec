"""ICMP and ICMPv6 (type, code, checksum, and the echo id/sequence words)."""

from __future__ import annotations

from moonpy.proto.base import Header
from moonpy.proto.fields import Field

ECHO_REPLY = (0, 0)
ECHO_REQUEST = (8, 0)
DST_UNR_PORT_UNR = (3, 3)
TIME_EXCEEDED_TTL_EXPIRED = (11, 0)
ECHO6_REQUEST = (128, 0)
ECHO6_REPLY = (129, 0)


class ICMP(Header):
    """``type``, ``code``, ``chksum``, ``id``, ``seq`` (``id``/``seq`` are the
    first body words of echo messages; fill leaves them alone, as MoonGen does)."""

    member = "icmp"
    size = 8

    type = Field(0, 1, 8, doc="8: echo request")
    code = Field(1, 1, 0)
    chksum = Field(2, 2, 0)
    id = Field(4, 2, None)
    seq = Field(6, 2, None)


class ICMPv6(Header):
    """``type``, ``code``, ``cksum``, ``id``, ``seq`` (Scapy's ICMPv6 names)."""

    member = "icmp6"
    size = 8

    type = Field(0, 1, 128, doc="128: echo request")
    code = Field(1, 1, 0)
    cksum = Field(2, 2, 0)
    id = Field(4, 2, None)
    seq = Field(6, 2, None)
