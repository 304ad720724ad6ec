"""PTPv2 common header (34 bytes), Scapy's ``PTP`` field names, MoonGen's defaults."""

from __future__ import annotations

from typing import Any

from moonpy.proto.base import Header
from moonpy.proto.fields import BytesField, Field

TYPE_SYNC = 0
TYPE_DELAY_REQ = 1
TYPE_FOLLOW_UP = 8
TYPE_DELAY_RESP = 9


class PTP(Header):
    """``transportSpecific``, ``messageType``, ``version``, ``messageLength``,
    ``domainNumber``, ``flags``, ``correctionField``, ``clockIdentity``,
    ``portNumber``, ``sequenceId``, ``controlField``, ``logMessageInterval``."""

    member = "ptp"
    size = 34

    transportSpecific = Field(0, 1, 0, shift=4, bits=4)  # noqa: N815 (Scapy's names)
    messageType = Field(0, 1, TYPE_SYNC, bits=4)  # noqa: N815
    reserved1 = Field(1, 1, 0, shift=4, bits=4)
    version = Field(1, 1, 2, bits=4)
    messageLength = Field(2, 2, 44, doc="fill: frame length - offset")  # noqa: N815
    domainNumber = Field(4, 1, 0)  # noqa: N815
    reserved2 = Field(5, 1, 0)
    flags = Field(6, 2, 0)
    correctionField = Field(8, 8, 0)  # noqa: N815
    reserved3 = Field(16, 4, 0)
    clockIdentity = BytesField(20, 8, 0, doc="MoonGen's oui + uuid")  # noqa: N815
    portNumber = Field(28, 2, 1, doc="MoonGen's ptpNodePort")  # noqa: N815
    sequenceId = Field(30, 2, 0)  # noqa: N815
    controlField = Field(32, 1, 0)  # noqa: N815
    logMessageInterval = Field(33, 1, 0x7F)  # noqa: N815

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        return {"messageLength": length - offset} if length is not None else {}
