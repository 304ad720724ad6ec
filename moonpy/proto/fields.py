"""Header fields: where a value sits in a header and how it is written.

A field is a descriptor on a header view class (``moonpy.proto.base.Header``):
``pkt.udp.dport = 319`` writes two big-endian bytes at the header's offset + 2.
The same table serves the field engine, which needs each field's byte offset,
container width, bit shift and mask to write values from C.

Fields never import DPDK: they work on any writable buffer (a ``bytearray`` when
templates are built, a ``memoryview`` of an mbuf for packet views).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Any

Buffer = bytearray | memoryview

_INT_FORMATS = {1: struct.Struct(">B"), 2: struct.Struct(">H"), 4: struct.Struct(">I"),
                8: struct.Struct(">Q")}  # fmt: skip


class Field:
    """An unsigned integer of ``bits`` bits at byte ``offset`` of its header.

    The field lives in a big-endian *container* of ``width`` bytes; ``shift``
    is the position of its least significant bit there (bit fields such as the
    IPv4 flags). ``default`` is what ``fill()`` writes when nothing is given
    (MoonGen's defaults).
    """

    kind = "int"

    def __init__(
        self,
        offset: int,
        width: int,
        default: Any = 0,
        *,
        shift: int = 0,
        bits: int | None = None,
        doc: str = "",
    ) -> None:
        self.name = ""
        self.header = ""
        self.offset = offset
        self.width = width
        self.shift = shift
        self.bits = width * 8 if bits is None else bits
        self.default = default
        self.doc = doc
        self._fmt = _INT_FORMATS.get(width)
        self.is_bitfield = self.bits != width * 8
        self.max_value = (1 << self.bits) - 1
        # the field's bits in its container (0 when it fills the container)
        self.mask = self.max_value << shift if self.is_bitfield else 0

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def path(self) -> str:
        """``"<member>.<field>"``, the name the field engine takes."""
        return f"{self.header}.{self.name}"

    # ---- values ----------------------------------------------------------------

    def to_int(self, value: Any) -> int:
        """The field's value as an unsigned integer (what the field engine writes)."""
        if type(value) is int and 0 <= value <= self.max_value:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(value, 0) if isinstance(value, str) else int(value)
            except (TypeError, ValueError):
                raise TypeError(f"{self.path}: expected a number, got {value!r}") from None
        if not 0 <= value <= self.max_value:
            raise ValueError(f"{self.path}: {value} does not fit {self.bits} bits")
        return value

    def from_int(self, value: int) -> Any:
        return value

    # ---- raw access ------------------------------------------------------------

    def read_int(self, buf: Buffer, base: int) -> int:
        pos = base + self.offset
        if self._fmt is not None:
            c = self._fmt.unpack_from(buf, pos)[0]
        else:
            c = int.from_bytes(buf[pos : pos + self.width], "big")
        if self.is_bitfield:
            return (c >> self.shift) & ((1 << self.bits) - 1)
        return c

    def write_int(self, buf: Buffer, base: int, value: int) -> None:
        pos = base + self.offset
        if not self.is_bitfield and self._fmt is not None:
            self._fmt.pack_into(buf, pos, value)
            return
        if self.is_bitfield:
            mask = self.mask
            if self._fmt is not None:
                c = self._fmt.unpack_from(buf, pos)[0]
            else:
                c = int.from_bytes(buf[pos : pos + self.width], "big")
            value = (c & ~mask) | ((value << self.shift) & mask)
        if self._fmt is not None:
            self._fmt.pack_into(buf, pos, value)
        else:
            buf[pos : pos + self.width] = value.to_bytes(self.width, "big")

    def read(self, buf: Buffer, base: int) -> Any:
        return self.from_int(self.read_int(buf, base))

    def write(self, buf: Buffer, base: int, value: Any) -> None:
        self.write_int(buf, base, self.to_int(value))

    # ---- descriptor ------------------------------------------------------------

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return self.read(obj._buf, obj._off)

    def __set__(self, obj: Any, value: Any) -> None:
        self.write(obj._buf, obj._off, value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} @{self.offset}/{self.width}>"


class FlagsField(Field):
    """An integer field that also takes Scapy-style flag letters (``"SA"``)."""

    def __init__(self, offset: int, width: int, letters: str, default: Any = 0, **kw: Any):
        super().__init__(offset, width, default, **kw)
        self.letters = letters

    def to_int(self, value: Any) -> int:
        if isinstance(value, str) and not value.lower().startswith("0x") and not value.isdigit():
            out = 0
            for ch in value.replace("+", "").replace("|", ""):
                idx = self.letters.find(ch)
                if idx < 0:
                    raise ValueError(f"{self.path}: unknown flag {ch!r} (flags: {self.letters})")
                out |= 1 << idx
            return super().to_int(out)
        return super().to_int(value)


class NamedFlagsField(Field):
    """An integer field that also takes flag names (IPv4: ``"DF"``, ``"MF"``)."""

    def __init__(self, offset: int, width: int, names: dict[str, int], default: Any = 0, **kw: Any):
        super().__init__(offset, width, default, **kw)
        self.names = names

    def to_int(self, value: Any) -> int:
        if isinstance(value, str) and value and not value[0].isdigit():
            out = 0
            for part in value.replace("|", "+").split("+"):
                part = part.strip()
                if part not in self.names:
                    raise ValueError(
                        f"{self.path}: unknown flag {part!r} ({', '.join(self.names)})"
                    )
                out |= self.names[part]
            return super().to_int(out)
        return super().to_int(value)


def _mac_bytes(value: Any) -> bytes:
    mac = getattr(value, "mac", None)  # a Device or a queue stands for its MAC
    if mac is not None and not isinstance(value, (str, bytes, bytearray)):
        value = mac
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 6:
            raise ValueError(f"a MAC address has 6 bytes, got {len(value)}")
        return bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 1 << 48:
            raise ValueError(f"MAC address {value:#x} does not fit 48 bits")
        return value.to_bytes(6, "big")
    if isinstance(value, str):
        parts = value.replace("-", ":").split(":")
        if len(parts) == 6:
            try:
                return bytes(int(p, 16) for p in parts)
            except ValueError:
                pass
    raise ValueError(f"not a MAC address: {value!r} (use 'aa:bb:cc:dd:ee:ff')")


class MacField(Field):
    """A MAC address: a string ``"aa:bb:cc:dd:ee:ff"``, 6 bytes, a 48-bit
    number (first byte on the wire most significant) or a device / queue."""

    kind = "mac"

    def __init__(self, offset: int, default: Any = "00:00:00:00:00:00", doc: str = "") -> None:
        super().__init__(offset, 6, default, doc=doc)

    def to_int(self, value: Any) -> int:
        return int.from_bytes(_mac_bytes(value), "big")

    def from_int(self, value: int) -> str:
        return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))

    def read(self, buf: Buffer, base: int) -> str:
        pos = base + self.offset
        return ":".join(f"{b:02x}" for b in bytes(buf[pos : pos + 6]))

    def write(self, buf: Buffer, base: int, value: Any) -> None:
        pos = base + self.offset
        buf[pos : pos + 6] = _mac_bytes(value)


def _ip4_packed(value: str) -> bytes:
    if value.count(".") == 3:
        try:
            return socket.inet_aton(value)
        except OSError:
            pass
    raise ValueError(f"not an IPv4 address: {value!r}")


class IPv4Field(Field):
    """An IPv4 address: ``"10.0.0.1"``, a 32-bit number, 4 bytes or an IPv4Address."""

    kind = "ip4"

    def __init__(self, offset: int, default: Any = "0.0.0.0", doc: str = "") -> None:
        super().__init__(offset, 4, default, doc=doc)

    def to_int(self, value: Any) -> int:
        if type(value) is int and 0 <= value <= 0xFFFFFFFF:
            return value
        if isinstance(value, str):
            return int.from_bytes(_ip4_packed(value), "big")
        if isinstance(value, ipaddress.IPv4Address):
            return int(value)
        if isinstance(value, (bytes, bytearray)):
            if len(value) != 4:
                raise ValueError(f"an IPv4 address has 4 bytes, got {len(value)}")
            return int.from_bytes(value, "big")
        return super().to_int(value)

    def from_int(self, value: int) -> str:
        return socket.inet_ntoa(value.to_bytes(4, "big"))

    def read(self, buf: Buffer, base: int) -> str:
        pos = base + self.offset
        return socket.inet_ntoa(bytes(buf[pos : pos + 4]))

    def write(self, buf: Buffer, base: int, value: Any) -> None:
        if isinstance(value, str):
            pos = base + self.offset
            buf[pos : pos + 4] = _ip4_packed(value)
            return
        self.write_int(buf, base, self.to_int(value))


class IPv6Field(Field):
    """An IPv6 address: ``"fe80::1"``, a 128-bit number, 16 bytes or an IPv6Address."""

    kind = "ip6"

    def __init__(self, offset: int, default: Any = "::", doc: str = "") -> None:
        super().__init__(offset, 16, default, doc=doc)

    def to_int(self, value: Any) -> int:
        if isinstance(value, str):
            try:
                return int.from_bytes(socket.inet_pton(socket.AF_INET6, value), "big")
            except OSError:
                raise ValueError(f"not an IPv6 address: {value!r}") from None
        if isinstance(value, ipaddress.IPv6Address):
            return int(value)
        if isinstance(value, (bytes, bytearray)):
            if len(value) != 16:
                raise ValueError(f"an IPv6 address has 16 bytes, got {len(value)}")
            return int.from_bytes(value, "big")
        return super().to_int(value)

    def from_int(self, value: int) -> str:
        return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))

    def read(self, buf: Buffer, base: int) -> str:
        pos = base + self.offset
        return socket.inet_ntop(socket.AF_INET6, bytes(buf[pos : pos + 16]))

    def write(self, buf: Buffer, base: int, value: Any) -> None:
        pos = base + self.offset
        buf[pos : pos + 16] = self.to_int(value).to_bytes(16, "big")


class BytesField(Field):
    """Raw bytes (PTP clock identity, reserved areas); numbers are big-endian."""

    kind = "bytes"

    def __init__(self, offset: int, width: int, default: Any = 0, doc: str = "") -> None:
        super().__init__(offset, width, default, doc=doc)

    def to_int(self, value: Any) -> int:
        if isinstance(value, (bytes, bytearray)):
            if len(value) != self.width:
                raise ValueError(f"{self.path}: expected {self.width} bytes, got {len(value)}")
            return int.from_bytes(value, "big")
        return super().to_int(value)
