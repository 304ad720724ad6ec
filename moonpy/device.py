"""Devices and their queues (MoonGen's ``device`` module, Python names).

    dev = device.config(port=0, tx_queues=1)
    device.wait_for_links()
    queue = dev.get_tx_queue(0)
    queue.set_rate(1000)          # Mbit/s
    queue.send(bufs)

Ports are moonpy's port ids (the order of ``--port`` options; a cable takes
two). Devices and queues are plain values: pass them to tasks freely.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from moonpy import _dpdk, log
from moonpy.core import engine
from moonpy.core.engine import Counters, Port
from moonpy.errors import ConfigError
from moonpy.log import log_error, log_info, log_warn

MAX_RATE_MBIT = 4294967295  # the hardware rate call takes a uint32 of Mbit/s

if TYPE_CHECKING:
    from moonpy.fieldengine import Stream
    from moonpy.memory import BufArray, Mempool


def _port(pid: int) -> Port:
    return engine.current().port(pid)


class Device:
    """One configured port."""

    __slots__ = ("id",)

    def __init__(self, pid: int) -> None:
        self.id = pid

    @property
    def _p(self) -> Port:
        return _port(self.id)

    @property
    def dpdk_id(self) -> int:
        return self._p.dpdk_id

    @property
    def kind(self) -> str:
        """``cable``, ``null``, ``pcap``, ``tap``, ``af_packet`` or ``pci``."""
        return self._p.kind

    @property
    def driver(self) -> str:
        return self._p.driver

    @property
    def rx_queues(self) -> int:
        return self._p.rx_queues

    @property
    def tx_queues(self) -> int:
        return self._p.tx_queues

    @property
    def mac(self) -> str:
        """The port's MAC address, ``aa:bb:cc:dd:ee:ff``."""
        return ":".join(f"{b:02x}" for b in engine.current().mac(self.id))

    def get_mac_string(self) -> str:
        """Upper case, as MoonGen's ``getMacString``."""
        return self.mac.upper()

    def get_tx_queue(self, qid: int) -> TxQueue:
        n = self.tx_queues
        if not 0 <= qid < n:
            raise ConfigError(
                f"device {self.id} is configured with tx queues 0 to {n - 1}, "
                f"tried to get queue number {qid}"
            )
        return TxQueue(self, qid)

    def get_rx_queue(self, qid: int) -> RxQueue:
        n = self.rx_queues
        if not 0 <= qid < n:
            raise ConfigError(
                f"device {self.id} is configured with rx queues 0 to {n - 1}, "
                f"tried to get queue number {qid}"
            )
        return RxQueue(self, qid)

    def link(self) -> tuple[bool, int, bool]:
        """``(up, speed in Mbit/s, full duplex)``."""
        return engine.current().link(self.id)

    def wait(self, max_wait: float = 9.0) -> bool:
        """Wait for the link (polling every 100 ms); prints MoonGen's link line."""
        deadline = time.monotonic() + max_wait
        up, speed, _ = self.link()
        while not up and time.monotonic() < deadline:
            time.sleep(0.1)
            up, speed, _ = self.link()
        _link_line(self, up, speed)
        return up

    def get_stats(self) -> Counters:
        """The port's counters (``ipackets``, ``opackets``, ``ibytes``, ...)."""
        return engine.current().counters(self.id)

    def get_tx_stats(self) -> tuple[int, int]:
        """Packets and bytes sent (CRC excluded)."""
        c = self.get_stats()
        return c.opackets, c.obytes

    def get_rx_stats(self) -> tuple[int, int]:
        """Packets (received + missed + no buffer, as MoonGen counts) and their bytes."""
        return self.get_stats().rx_stats()

    def set_promisc(self, on: bool = True) -> None:
        _dpdk.port_set_promisc(self.dpdk_id, on)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("dev", self.id))

    def __repr__(self) -> str:
        return f"[Device: id={self.id}]"


class _Queue:
    __slots__ = ("dev", "qid")

    def __init__(self, dev: Device, qid: int) -> None:
        self.dev = dev
        self.qid = qid

    @property
    def id(self) -> int:
        """The port id (MoonGen's ``queue.id``)."""
        return self.dev.id

    @property
    def mac(self) -> str:
        return self.dev.mac

    @property
    def _dpdk_port(self) -> int:
        return self.dev.dpdk_id

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.dev.id, other.qid) == (  # type: ignore[attr-defined]
            self.dev.id,
            self.qid,
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.dev.id, self.qid))

    def __repr__(self) -> str:
        return f"[{type(self).__name__}: id={self.dev.id}, qid={self.qid}]"


class TxQueue(_Queue):
    """A transmit queue."""

    __slots__ = ()

    def send(self, bufs: BufArray) -> int:
        """Send every buffer of ``bufs``; they belong to the driver afterwards.

        Returns how many were sent (all of them unless the run stopped)."""
        return bufs.raw.send(self._dpdk_port, self.qid)  # type: ignore[no-any-return]

    def send_with_timestamp(self, bufs: BufArray, offset: int = 48) -> int:
        """Write the TSC at byte ``offset`` of every buffer just before sending
        (MoonGen's software TX timestamps; 48 is inside a UDP payload)."""
        return _dpdk.send_stamped(bufs.raw, self._dpdk_port, self.qid, offset)  # type: ignore[no-any-return]

    def set_rate(self, mbit: float) -> None:
        """Pace this queue to ``mbit`` Mbit/s (frame + CRC bytes; 0 turns pacing off)."""
        rate = float(mbit)
        if not math.isfinite(rate) or rate < 0 or rate > MAX_RATE_MBIT:
            raise ConfigError(
                f"set_rate({mbit!r}): the rate must be a number of Mbit/s from 0 (off) "
                f"to {MAX_RATE_MBIT}"
            )
        _dpdk.set_queue_rate(self._dpdk_port, self.qid, mbit=rate)

    def set_rate_mpps(self, mpps: float, size: int = 60) -> None:
        """MoonGen's ``setRateMpps``: ``set_rate(mpps * (size + 4) * 8)``."""
        if not math.isfinite(float(mpps)) or mpps < 0:
            raise ConfigError(f"set_rate_mpps({mpps!r}): the rate must be a number of Mpps >= 0")
        self.set_rate(mpps * (size + 4) * 8)

    def send_stream(
        self,
        stream: Stream,
        *,
        count: int = 0,
        duration: float = 0.0,
        pool: Mempool | None = None,
        batch: int = 63,
    ) -> int:
        """Send ``stream`` with the field engine (no Python per packet) until
        the run stops, ``count`` packets (0: no limit) or ``duration`` seconds."""
        from moonpy.fieldengine import send_stream

        return send_stream(self, stream, count=count, duration=duration, pool=pool, batch=batch)


class RxQueue(_Queue):
    """A receive queue."""

    __slots__ = ()

    def recv(self, bufs: BufArray, timeout: float | None = None) -> int:
        """Wait until frames arrive (or the run stops, or ``timeout`` seconds
        pass) and receive one burst into ``bufs``. Buffers ``bufs`` still held
        are freed first. Waits without the GIL."""
        t = -1.0 if timeout is None else float(timeout)
        return _dpdk.rx_wait(bufs.raw, self._dpdk_port, self.qid, t, False)  # type: ignore[no-any-return]

    def try_recv(self, bufs: BufArray, wait: float = 0.0) -> int:
        """Like ``recv`` but gives up after ``wait`` seconds (0: one poll)."""
        return self.recv(bufs, wait)

    def recv_with_timestamps(self, bufs: BufArray, timeout: float | None = None) -> int:
        """``recv`` that stores the RX TSC in each buffer's ``udata64``."""
        t = -1.0 if timeout is None else float(timeout)
        return _dpdk.rx_wait(bufs.raw, self._dpdk_port, self.qid, t, True)  # type: ignore[no-any-return]


# RSS hash types for config(rss_types=...): DPDK's RTE_ETH_RSS_* bits (libmoon's
# dpdk.ETH_RSS_*); OR them together
RSS_IPV4 = 1 << 2
RSS_FRAG_IPV4 = 1 << 3
RSS_NONFRAG_IPV4_TCP = 1 << 4
RSS_NONFRAG_IPV4_UDP = 1 << 5
RSS_IPV6 = 1 << 8
RSS_FRAG_IPV6 = 1 << 9
RSS_NONFRAG_IPV6_TCP = 1 << 10
RSS_NONFRAG_IPV6_UDP = 1 << 11


def config(
    port: int,
    rx_queues: int = 1,
    tx_queues: int = 1,
    *,
    rx_descs: int = 512,
    tx_descs: int = 1024,
    num_bufs: int | None = None,
    buf_size: int = 2048,
    mempools: list[Mempool] | None = None,
    rss_queues: int = 0,
    rss_base_queue: int = 0,
    rss_types: int | None = None,
    **unsupported: Any,
) -> Device:
    """Configure and start ``port`` (MoonGen's ``device.config{...}``).

    A port configured before keeps its first configuration (MoonGen warns and
    returns the device). ``mempools``: one per RX queue, where received frames land.
    ``rss_queues`` > 1: received frames spread over RX queues ``rss_base_queue`` on by
    their RSS hash of ``rss_types`` (``RSS_*`` above ORed; default: IPv4 and IPv6 with
    TCP/UDP ports): in the port where its driver has RSS (a NIC), in software on a
    cable's receiving end.
    """
    for key in unsupported:
        if key not in ("speed", "drop_enable", "strip_vlan", "disable_offloads"):
            raise TypeError(f"device.config() got an unexpected keyword argument {key!r}")
    pools = [m.raw for m in mempools] if mempools is not None else None
    _, new = engine.current().configure_port(
        port,
        rx_queues=rx_queues,
        tx_queues=tx_queues,
        rx_descs=rx_descs,
        tx_descs=tx_descs,
        num_bufs=num_bufs,
        buf_size=buf_size,
        mempools=pools,
        rss_queues=rss_queues,
        rss_base=rss_base_queue,
        rss_types=rss_types,
    )
    if not new:
        log_warn(f"Device {port} already configured, skipping initilization")
    return Device(port)


def get(port: int) -> Device:
    """The device of ``port`` (configured or not)."""
    _port(port)
    return Device(port)


def num_devices() -> int:
    return len(engine.current().ports)


def wait_for_links(*devices: Device, max_wait: float = 9.0) -> int:
    """Wait for the links of ``devices`` (default: every configured port);
    prints MoonGen's lines and returns how many are up."""
    eng = engine.current()
    devs = list(devices) or [Device(p.id) for p in eng.ports if p.configured]
    log_info("Waiting for devices to come up...")
    up_count = 0
    for d in devs:
        deadline = time.monotonic() + max_wait
        up, speed, _ = d.link()
        while not up and time.monotonic() < deadline:
            time.sleep(0.1)
            up, speed, _ = d.link()
        _link_line(d, up, speed)
        up_count += up
    msg = "1 device is up." if up_count == 1 else f"{up_count} devices are up."
    log_info(f"\033[0;32m{msg}\033[0m" if log.COLOR else msg)
    return up_count


def _link_line(dev: Device, up: bool, speed: int) -> None:
    if up:
        log_info(f"Device {dev.id} ({dev.get_mac_string()}) is up: {speed} MBit/s")
    else:
        log_error(f"Device {dev.id} ({dev.get_mac_string()}) is DOWN: {speed} MBit/s")
