"""Packet views: one buffer of a BufArray seen as headers.

``for pkt in bufs: pkt.ip4.src = "10.0.0.1"`` writes straight into the mbuf
(no copy). A view knows its header layout when its mempool was filled with a
known stack (``pkt.fill(...)`` in the pool's init function, or a template);
otherwise it decodes the frame (Ethernet, VLAN, IPv4/IPv6, ARP, ICMP, UDP,
TCP, PTP, VXLAN) on first access.

This is the per-packet Python path: flexible, and slow next to the field
engine (``moonpy.fieldengine``), which never runs Python per packet. A view is
valid until its BufArray is sent or freed; using it afterwards raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moonpy import _dpdk
from moonpy.proto import (
    ARP,
    ICMP,
    PTP,
    TCP,
    UDP,
    VXLAN,
    Dot1Q,
    Ether,
    Header,
    ICMPv6,
    IPv4,
    IPv6,
    Layout,
    Stack,
    decode,
    guess_stack,
)

if TYPE_CHECKING:
    from scapy.packet import Packet as ScapyPacket


class Packet(_dpdk.MbufView):
    """A view of one mbuf: header attributes (``eth``, ``vlan``, ``arp``,
    ``ip4``, ``ip6``, ``icmp``, ``icmp6``, ``udp``, ``tcp``, ``ptp``,
    ``vxlan``, ``inner_eth``), ``fill()``, ``size``, ``payload`` and the mbuf
    fields (``ol_flags``, ``tx_offload``, ``vlan_tci``, ``udata64``)."""

    __slots__ = ()

    # ---- headers -------------------------------------------------------------

    def headers(self) -> Layout:
        """Where each header starts: the layout the pool was filled with, else decoded."""
        layout = self.layout
        if layout is None:
            layout = decode(memoryview(self), self.size)
            self.layout = layout
        return layout  # type: ignore[no-any-return]

    def header(self, member: str) -> Header:
        """The header named ``member`` (``"udp"``, ``"inner_eth"`` ...)."""
        layout = self.layout
        hit = (layout if layout is not None else self.headers()).index.get(member)
        if hit is None:
            raise AttributeError(
                f"this packet ({self.headers()}) has no {member!r} header; "
                "fill() it with a stack that has one, or check the frame"
            )
        cls, off = hit
        return cls(memoryview(self), off)

    @property
    def eth(self) -> Ether:
        return self.header("eth")  # type: ignore[return-value]

    @property
    def vlan(self) -> Dot1Q:
        return self.header("vlan")  # type: ignore[return-value]

    @property
    def arp(self) -> ARP:
        return self.header("arp")  # type: ignore[return-value]

    @property
    def ip4(self) -> IPv4:
        return self.header("ip4")  # type: ignore[return-value]

    @property
    def ip6(self) -> IPv6:
        return self.header("ip6")  # type: ignore[return-value]

    @property
    def icmp(self) -> ICMP:
        return self.header("icmp")  # type: ignore[return-value]

    @property
    def icmp6(self) -> ICMPv6:
        return self.header("icmp6")  # type: ignore[return-value]

    @property
    def udp(self) -> UDP:
        return self.header("udp")  # type: ignore[return-value]

    @property
    def tcp(self) -> TCP:
        return self.header("tcp")  # type: ignore[return-value]

    @property
    def ptp(self) -> PTP:
        return self.header("ptp")  # type: ignore[return-value]

    @property
    def vxlan(self) -> VXLAN:
        return self.header("vxlan")  # type: ignore[return-value]

    @property
    def inner_eth(self) -> Ether:
        return self.header("inner_eth")  # type: ignore[return-value]

    @property
    def payload(self) -> memoryview:
        """The bytes after the last header, up to ``size`` (writable)."""
        return memoryview(self)[self.headers().end : self.size]

    # ---- building --------------------------------------------------------------

    def fill(
        self, stack: Stack | str | None = None, *, length: int | None = None, **fields: Any
    ) -> Packet:
        """Write every header of ``stack`` with MoonGen's ``fill{}`` defaults.

        ``stack``: a :class:`~moonpy.proto.Stack` or a name (``"udp"``,
        ``"tcp6"``, ``"eth/vlan/ip4/udp"``); if omitted, the first of UDP,
        TCP, ICMP (IPv4, then IPv6), ARP, PTP, VXLAN that has every header the
        keywords mention. Keywords are ``<header>_<field>`` (``eth_src``,
        ``ip4_dst``, ``udp_dport``); ``length`` is MoonGen's ``pktLength``: it
        sets the IPv4/IPv6/UDP/PTP length fields and the packet's size.
        A device or queue given as a MAC stands for its address.
        """
        st = Stack.parse(stack) if stack is not None else guess_stack(fields)
        st.fill(memoryview(self), length, **fields)
        self.layout = st.layout
        if length is not None:
            self.size = length
        return self

    def set_data(self, data: bytes | bytearray | memoryview | ScapyPacket) -> Packet:
        """Replace the frame with ``data`` (bytes or a Scapy packet) and its size."""
        raw = bytes(data)  # type: ignore[arg-type]
        self.set_bytes(raw)
        self.layout = None
        return self

    # ---- reading ---------------------------------------------------------------

    def to_scapy(self) -> ScapyPacket:
        """The frame parsed by Scapy (needs scapy)."""
        from scapy.layers.l2 import Ether as ScapyEther

        return ScapyEther(self.get_bytes())

    def summary(self) -> str:
        return f"{self.headers()} {self.size} bytes"

    def software_tx_timestamp(self, offset: int = 48) -> int:
        """The TSC that ``TxQueue.send_with_timestamp`` wrote at ``offset``."""
        return int(self.read_tsc(offset))

    def __repr__(self) -> str:
        if not self.valid:
            return "<Packet (buffer sent or freed)>"
        return f"<Packet {self.summary()}>"
