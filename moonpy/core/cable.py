"""Receive-side steering of a virtual cable's ends: the NIC filters a script installs
(libmoon's ``filter`` module) and how they read back.

A cable end delivers what its peer sends as a NIC does (csrc/mp_cable.c): ethertype
filters first, then five-tuple filters by priority, then the flow-director match on two
payload bytes of IPv4 frames that libmoon's ``filterUdpTimestamps`` installs (bytes 42 and
43: a UDP PTP frame's message type and version), then RSS, and every other frame to RX
queue 0. This module checks a filter's fields and hands it to the fast path. Ports that
are not cable ends use the same table in moonpy's RX path (csrc/mp_swsteer.c).
"""

from __future__ import annotations

from moonpy import _dpdk
from moonpy.errors import ConfigError

# kind -> (code in mp_api.h's struct mp_cable_filter, field names and their bit widths)
FILTER_KINDS: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "ethertype": (1, (("etype", 16),)),
    "fivetuple": (
        2,
        (
            ("srcIp", 32),
            ("srcIpMask", 32),
            ("dstIp", 32),
            ("dstIpMask", 32),
            ("srcPort", 16),
            ("srcPortMask", 16),
            ("dstPort", 16),
            ("dstPortMask", 16),
            ("proto", 8),
            ("protoMask", 8),
            ("priority", 8),
        ),
    ),
    "ptpflex": (3, (("ptpType", 8), ("version", 8))),
}
DROP = -1  # libmoon's filter.DROP


def add_filter(dpdk_id: int, pid: int, rx_queues: int, kind: str, queue: int, values: list[int]):
    """Install one filter on cable end ``dpdk_id`` (moonpy port ``pid``, configured with
    ``rx_queues`` RX queues): frames that match go to ``queue`` (DROP: dropped)."""
    if kind not in FILTER_KINDS:
        raise ConfigError(f"unknown filter kind {kind!r}; one of {', '.join(FILTER_KINDS)}")
    code, fields = FILTER_KINDS[kind]
    if len(values) != len(fields):
        raise ConfigError(f"a {kind} filter takes {len(fields)} values, got {len(values)}")
    for (name, bits), v in zip(fields, values, strict=True):
        if not 0 <= v < 1 << bits:
            raise ConfigError(f"{kind} filter: {name} = {v} does not fit {bits} bits")
    if queue != DROP and not 0 <= queue < rx_queues:
        raise ConfigError(
            f"port {pid} has rx queues 0 to {rx_queues - 1}: no queue {queue} to filter to"
        )
    _dpdk.cable_filter_add(dpdk_id, code, queue, values)


def _ip(v: int) -> str:
    return ".".join(str(v >> s & 0xFF) for s in (24, 16, 8, 0))


def describe(dpdk_id: int) -> str:
    """One line naming the filters of cable end ``dpdk_id`` in the order they apply."""
    out = []
    for code, queue, values in _dpdk.cable_filter_list(dpdk_id):
        to = "drop" if queue == DROP else f"queue {queue}"
        if code == 1:
            out.append(f"ethertype 0x{values[0]:04x} -> {to}")
        elif code == 2:
            parts = [
                f"{name}={_ip(v) if bits == 32 else v}"
                for (name, bits), v in zip(FILTER_KINDS["fivetuple"][1], values, strict=True)
                if v and name != "priority"
            ]
            parts.append(f"priority={values[-1]}")
            out.append(f"five-tuple {' '.join(parts) or 'any'} -> {to}")
        else:
            out.append(f"IPv4 bytes 42/43 = {values[0]}/{values[1]} (PTP) -> {to}")
    return "filters: " + ("; ".join(out) if out else "none") + " (others: RSS or queue 0)"
