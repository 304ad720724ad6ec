"""Stacks of headers: building templates (``fill``) and finding headers in
received bytes (``decode``).

A :class:`Stack` names its headers in order, e.g. ``eth/ip4/udp`` (MoonGen's
``getUdpPacket``). Each entry has a *member* name (``pkt.udp``, the ``udp_``
prefix of fill keywords, the ``"udp."`` of field-engine paths) and a protocol;
they differ only when a protocol appears twice (``inner_eth:eth`` after VXLAN).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from moonpy.proto.arp import ARP
from moonpy.proto.base import Header
from moonpy.proto.ethernet import Dot1Q, Ether
from moonpy.proto.fields import Buffer, Field
from moonpy.proto.icmp import ICMP, ICMPv6
from moonpy.proto.ip4 import IPv4
from moonpy.proto.ip6 import IPv6
from moonpy.proto.ptp import PTP
from moonpy.proto.tcp import TCP
from moonpy.proto.udp import UDP
from moonpy.proto.vxlan import VXLAN

PROTOCOLS: dict[str, type[Header]] = {
    "eth": Ether,
    "vlan": Dot1Q,
    "arp": ARP,
    "ip4": IPv4,
    "ip6": IPv6,
    "icmp": ICMP,
    "icmp6": ICMPv6,
    "udp": UDP,
    "tcp": TCP,
    "ptp": PTP,
    "vxlan": VXLAN,
}


@dataclass(frozen=True)
class Layout:
    """Where each header of one frame starts: ``(member, class, offset)`` in order.

    ``end`` is where the payload starts.
    """

    entries: tuple[tuple[str, type[Header], int], ...]
    end: int
    index: dict[str, tuple[type[Header], int]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {m: (cls, off) for m, cls, off in self.entries})

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(m for m, _, _ in self.entries)

    def find(self, member: str) -> tuple[type[Header], int] | None:
        return self.index.get(member)

    def field(self, path: str) -> tuple[Field, int]:
        """``"ip4.src"`` -> (its Field, the absolute offset of its header)."""
        member, _, name = path.rpartition(".")
        if not member:
            raise ValueError(f"field {path!r}: use '<header>.<field>', e.g. 'ip4.src'")
        hit = self.find(member)
        if hit is None:
            raise ValueError(
                f"field {path!r}: this packet ({self}) has no {member!r} header; "
                f"headers: {', '.join(self.members)}"
            )
        cls, off = hit
        try:
            return cls.field(name), off
        except AttributeError as e:
            raise ValueError(f"field {path!r}: {e}") from None

    def __str__(self) -> str:
        return "/".join(self.members)


class Stack:
    """An ordered set of headers: ``Stack("eth", "ip4", "udp")`` or
    ``Stack.parse("eth/vlan/ip4/udp")``; an entry ``"inner_eth:eth"`` names a
    member differently from its protocol."""

    def __init__(self, *entries: str) -> None:
        parsed: list[tuple[str, str]] = []
        for e in entries:
            member, _, proto = e.partition(":")
            proto = proto or member
            if proto not in PROTOCOLS:
                raise ValueError(f"unknown protocol {proto!r}; protocols: {', '.join(PROTOCOLS)}")
            if member in (m for m, _ in parsed):
                raise ValueError(f"header {member!r} appears twice; name one 'inner_{member}:...'")
            parsed.append((member, proto))
        if not parsed:
            raise ValueError("a stack needs at least one header")
        self.entries: tuple[tuple[str, str], ...] = tuple(parsed)

    @classmethod
    def parse(cls, spec: Stack | str) -> Stack:
        """A Stack, a name from :data:`STACKS` (``"udp"``, ``"tcp6"`` ...) or ``"a/b/c"``."""
        if isinstance(spec, Stack):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"a stack is a Stack or a name such as 'udp', got {spec!r}")
        key = spec.lower()
        if key in STACKS:
            return STACKS[key]
        if "/" in spec:
            return cls(*spec.split("/"))
        near = difflib.get_close_matches(key, list(STACKS), n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ValueError(
            f"unknown stack {spec!r}{hint}; use one of {', '.join(STACKS)} or 'eth/ip4/udp'"
        )

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.entries)

    @cached_property
    def layout(self) -> Layout:
        """Header offsets when every header has its default length."""
        out, off = [], 0
        for member, proto in self.entries:
            cls = PROTOCOLS[proto]
            out.append((member, cls, off))
            off += cls.size
        return Layout(tuple(out), off)

    @property
    def header_length(self) -> int:
        return self.layout.end

    def keywords(self) -> list[str]:
        """Every ``fill()`` keyword of this stack."""
        return ["length"] + [
            f"{m}_{f.name}" for m, proto in self.entries for f in PROTOCOLS[proto].fields
        ]

    def fill(self, buf: Buffer, length: int | None = None, **fields: Any) -> None:
        """Write every header into ``buf`` (a bytearray or a packet's memoryview).

        Keywords are ``<member>_<field>`` (``ip4_src``, ``udp_dport``); anything
        not given gets MoonGen's default, or a value derived from the next header
        or from ``length`` (the frame length: IPv4/UDP/PTP lengths, IPv6 payload
        length), as MoonGen's ``fill{pktLength=...}`` does. Only headers are
        written; the payload is left as it is.
        """
        per_member: dict[str, dict[str, Any]] = {m: {} for m in self.members}
        # longest member names first, so 'inner_eth_src' is not read as 'inner' + ...
        order = sorted(self.members, key=len, reverse=True)
        for key, value in fields.items():
            for m in order:
                if (
                    key.startswith(m + "_")
                    and key[len(m) + 1 :] in PROTOCOLS[dict(self.entries)[m]].field_map
                ):
                    per_member[m][key[len(m) + 1 :]] = value
                    break
            else:
                self._unknown_keyword(key)
        if length is not None and length < self.header_length:
            raise ValueError(
                f"length {length} is shorter than the {self} headers ({self.header_length} bytes)"
            )
        if len(buf) < self.header_length:
            raise ValueError(f"a buffer of {len(buf)} bytes cannot hold {self} headers")
        entries = self.layout.entries
        for i, (member, cls, off) in enumerate(entries):
            nxt = self.entries[i + 1][1] if i + 1 < len(entries) else None
            given = per_member[member]
            derived = cls.neighbour_defaults(nxt, length, off)
            for f in cls.fields:
                if f.name in given:
                    value = given[f.name]
                elif f.name in derived:
                    value = derived[f.name]
                else:
                    value = f.default
                if value is not None:
                    f.write(buf, off, value)

    def build(self, length: int | None = None, **fields: Any) -> bytes:
        """The frame as bytes: headers from ``fill()``, zero payload up to ``length``."""
        buf = bytearray(max(length or 0, self.header_length))
        self.fill(buf, length, **fields)
        return bytes(buf)

    def _unknown_keyword(self, key: str) -> None:
        words = self.keywords()
        near = difflib.get_close_matches(key, words, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise TypeError(
            f"fill(): {key!r} is not a field of {self}{hint} "
            f"(keywords are <header>_<field>, e.g. ip4_src, udp_dport, and length)"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stack) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __str__(self) -> str:
        return "/".join(m if m == p else f"{m}:{p}" for m, p in self.entries)

    def __repr__(self) -> str:
        return f"Stack({str(self)!r})"


ETH = Stack("eth")
ETH_VLAN = Stack("eth", "vlan")
IP4 = Stack("eth", "ip4")
IP6 = Stack("eth", "ip6")
ARP4 = Stack("eth", "arp")
ICMP4 = Stack("eth", "ip4", "icmp")
ICMP6 = Stack("eth", "ip6", "icmp6")
UDP4 = Stack("eth", "ip4", "udp")
UDP6 = Stack("eth", "ip6", "udp")
TCP4 = Stack("eth", "ip4", "tcp")
TCP6 = Stack("eth", "ip6", "tcp")
PTP_L2 = Stack("eth", "ptp")
UDP_PTP = Stack("eth", "ip4", "udp", "ptp")
VXLAN4 = Stack("eth", "ip4", "udp", "vxlan", "inner_eth:eth")

STACKS: dict[str, Stack] = {
    "eth": ETH, "ethernet": ETH, "vlan": ETH_VLAN, "ip4": IP4, "ip": IP4, "ip6": IP6,
    "arp": ARP4, "icmp": ICMP4, "icmp4": ICMP4, "icmp6": ICMP6, "udp": UDP4, "udp4": UDP4,
    "udp6": UDP6, "tcp": TCP4, "tcp4": TCP4, "tcp6": TCP6, "ptp": PTP_L2, "udp_ptp": UDP_PTP,
    "vxlan": VXLAN4,
}  # fmt: skip

# what fill() picks when no stack is named: the first that has every header mentioned
_GUESS_ORDER = (UDP4, TCP4, ICMP4, UDP6, TCP6, ICMP6, ARP4, PTP_L2, UDP_PTP, VXLAN4, IP4, IP6)


def guess_stack(fields: dict[str, Any]) -> Stack:
    """The stack ``fill()`` uses when none is named: the first of UDP/IPv4,
    TCP/IPv4, ICMP, the IPv6 ones, ARP, PTP, VXLAN that has every header the
    keywords mention (a ``vlan_`` keyword adds an 802.1Q tag)."""
    known = sorted({m for s in _GUESS_ORDER for m in s.members} | {"vlan"}, key=len, reverse=True)
    mentioned = set()
    for key in fields:
        for m in known:
            if key.startswith(m + "_"):
                mentioned.add(m)
                break
    vlan = "vlan" in mentioned
    mentioned.discard("vlan")
    for s in _GUESS_ORDER:
        if mentioned <= set(s.members):
            if vlan:
                return Stack(*(("eth", "vlan") + tuple(str(s).split("/")[1:])))
            return s
    raise ValueError(
        f"fill(): no single stack has all of {', '.join(sorted(mentioned))}; "
        "name one with stack=..."
    )


def template_bytes(template: Any) -> bytes:
    """Raw bytes from bytes-like data or a Scapy packet (anything with ``__bytes__``)."""
    if isinstance(template, (bytes, bytearray, memoryview)):
        return bytes(template)
    if hasattr(template, "__bytes__") and not isinstance(template, (str, int)):
        return bytes(template)
    raise TypeError(
        f"a template is bytes or a Scapy packet, got {type(template).__name__}; "
        "build one with moonpy.proto (UDP4.build(...)) or scapy (Ether()/IP()/UDP())"
    )


def decode(buf: Buffer, length: int | None = None) -> Layout:
    """Find the headers of a frame: Ethernet, VLAN tags, IPv4/IPv6 (IHL-aware),
    ARP, ICMP, UDP, TCP, PTP (L2 or UDP 319/320), VXLAN (UDP 4789) and its inner
    Ethernet. Stops at the first unknown or truncated header."""
    n = len(buf) if length is None else min(length, len(buf))
    entries: list[tuple[str, type[Header], int]] = []
    off = 0
    proto: str | None = "eth"
    seen: set[str] = set()
    while proto is not None:
        cls = PROTOCOLS[proto]
        member = proto
        if member in seen:
            if member == "vlan":
                member = "vlan2"
            else:
                member = "inner_" + member
            if member in seen:
                break
        if off + cls.size > n:
            break
        hlen = cls.header_length(buf, off)
        if hlen < cls.size or off + hlen > n:
            break
        entries.append((member, cls, off))
        seen.add(member)
        nxt = cls.next_protocol(buf, off)
        off += hlen
        if member.startswith("inner_"):
            break  # one level of encapsulation is decoded
        proto = nxt
    return Layout(tuple(entries), off)
