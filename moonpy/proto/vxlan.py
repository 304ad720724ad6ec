"""VXLAN (8 bytes; an inner Ethernet frame follows)."""

from __future__ import annotations

from moonpy.proto.base import Header
from moonpy.proto.fields import Buffer, BytesField, Field


class VXLAN(Header):
    """``flags`` (0x08: VNI valid), ``reserved1`` (3 bytes), ``vni`` (24 bits), ``reserved2``."""

    member = "vxlan"
    size = 8

    flags = Field(0, 1, 0x08)
    reserved1 = BytesField(1, 3, 0)
    vni = Field(4, 3, 0)
    reserved2 = Field(7, 1, 0)

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        return "eth"
