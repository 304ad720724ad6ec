"""The header view base class: a declarative field table over a buffer."""

from __future__ import annotations

from typing import Any, ClassVar

from moonpy.proto.fields import Buffer, Field


class Header:
    """A view of one protocol header at ``offset`` of a writable buffer.

    Subclasses declare their fields as class attributes (``sport = Field(0, 2,
    1024)``), Scapy-style: reading ``hdr.sport`` decodes the bytes, assigning
    encodes them. ``member`` is the header's default name in a stack
    (``pkt.udp``) and the prefix of its ``fill()`` keywords (``udp_sport``).
    """

    __slots__ = ("_buf", "_off")

    member: ClassVar[str] = ""
    size: ClassVar[int] = 0
    fields: ClassVar[tuple[Field, ...]] = ()
    field_map: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: list[Field] = []
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Field) and value not in found:
                    found.append(value)
        for f in found:
            if not f.header:
                f.header = cls.member
        cls.fields = tuple(found)
        cls.field_map = {f.name: f for f in found}

    def __init__(self, buf: Buffer, offset: int = 0) -> None:
        self._buf = buf
        self._off = offset

    @property
    def offset(self) -> int:
        """Where the header starts in the frame."""
        return self._off

    def set(self, **values: Any) -> None:
        """Assign several fields at once: ``pkt.ip4.set(src="10.0.0.1", ttl=5)``."""
        for name, value in values.items():
            self.field(name).write(self._buf, self._off, value)

    @classmethod
    def field(cls, name: str) -> Field:
        try:
            return cls.field_map[name]
        except KeyError:
            raise AttributeError(
                f"{cls.__name__} has no field {name!r}; fields: {', '.join(cls.field_map)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Every field's value."""
        return {f.name: f.read(self._buf, self._off) for f in self.fields}

    def __repr__(self) -> str:
        parts = []
        for f in self.fields:
            v = f.read(self._buf, self._off)
            parts.append(f"{f.name}={v:#x}" if f.name in ("chksum", "cksum") else f"{f.name}={v}")
        return f"<{type(self).__name__} {' '.join(parts)}>"

    # ---- stack knowledge (overridden by protocols) -----------------------------

    @classmethod
    def neighbour_defaults(cls, nxt: str | None, length: int | None, offset: int) -> dict[str, Any]:
        """Defaults that depend on the next header or the frame length (MoonGen's
        ``setDefaultNamedArgs``): applied by ``fill()`` when not given."""
        return {}

    @classmethod
    def header_length(cls, buf: Buffer, offset: int) -> int:
        """The header's length as the bytes say (IPv4 IHL, TCP data offset)."""
        return cls.size

    @classmethod
    def next_protocol(cls, buf: Buffer, offset: int) -> str | None:
        """Which protocol follows, read from the bytes (decoding received frames)."""
        return None


def read_u16(buf: Buffer, pos: int) -> int:
    return (buf[pos] << 8) | buf[pos + 1]
