"""Protocol headers as declarative field tables (Scapy's field names, MoonGen's
defaults), stacks of them, and the template builder.

Pure Python: nothing here touches DPDK, so templates can be built and checked
anywhere. ``moonpy.packet`` puts the same header classes over mbuf memory, and
``moonpy.fieldengine`` resolves ``"ip4.src"``-style paths through them.

    >>> from moonpy.proto import UDP4
    >>> frame = UDP4.build(length=60, ip4_dst="10.1.0.1", udp_dport=319)
"""

from moonpy.proto.arp import ARP
from moonpy.proto.base import Header
from moonpy.proto.ethernet import Dot1Q, Ether
from moonpy.proto.fields import (
    BytesField,
    Field,
    FlagsField,
    IPv4Field,
    IPv6Field,
    MacField,
    NamedFlagsField,
)
from moonpy.proto.icmp import ICMP, ICMPv6
from moonpy.proto.ip4 import IPv4, internet_checksum
from moonpy.proto.ip6 import IPv6
from moonpy.proto.ptp import PTP
from moonpy.proto.stack import (
    ARP4,
    ETH,
    ETH_VLAN,
    ICMP4,
    ICMP6,
    IP4,
    IP6,
    PROTOCOLS,
    PTP_L2,
    STACKS,
    TCP4,
    TCP6,
    UDP4,
    UDP6,
    UDP_PTP,
    VXLAN4,
    Layout,
    Stack,
    decode,
    guess_stack,
    template_bytes,
)
from moonpy.proto.tcp import TCP
from moonpy.proto.udp import UDP
from moonpy.proto.vxlan import VXLAN

__all__ = [
    "ARP", "ARP4", "BytesField", "Dot1Q", "ETH", "ETH_VLAN", "Ether", "Field", "FlagsField",
    "Header", "ICMP", "ICMP4", "ICMP6", "ICMPv6", "IP4", "IP6", "IPv4", "IPv4Field", "IPv6",
    "IPv6Field", "Layout", "MacField", "NamedFlagsField", "PROTOCOLS", "PTP", "PTP_L2", "STACKS",
    "Stack", "TCP", "TCP4", "TCP6", "UDP", "UDP4", "UDP6", "UDP_PTP", "VXLAN", "VXLAN4", "decode",
    "guess_stack", "internet_checksum", "template_bytes",
]  # fmt: skip
