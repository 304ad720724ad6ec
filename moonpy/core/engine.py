"""The engine: boots DPDK once per process, creates the configured ports,
configures devices, reads their counters and shuts everything down.

One engine per process (DPDK's EAL cannot be started twice). Tasks (threads
with their own core, see `tasks.py`) and the Lua bridge sit on top of it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from moonpy import _dpdk
from moonpy.core import cable
from moonpy.core.config import Config, PortSpec, parse_mac
from moonpy.core.instances import remove_runtime_dir, warn_other_instances
from moonpy.errors import ConfigError, MoonpyError
from moonpy.log import log_warn

# port kinds whose frames nobody inspects: skip software checksums there
_SINK_KINDS = {"null"}


@dataclass
class Port:
    """One moonpy port (ids in configuration order) and its DPDK port."""

    id: int
    kind: str
    dpdk_id: int
    spec: PortSpec
    peer: int | None = None  # the other end of a cable
    configured: bool = False
    rx_queues: int = 0
    tx_queues: int = 0
    rx_descs: int = 0
    tx_descs: int = 0
    sw_checksums: bool = False
    rx_pools: list = field(default_factory=list)  # keeps the RX queues' pools alive with them
    max_rx_queues: int = 0
    max_tx_queues: int = 0
    driver: str = ""
    mac_override: bytes | None = None  # for PMDs that cannot change their MAC (net_ring)
    configured_at: float = 0.0  # time.monotonic() when the port started (counters from 0)
    rss_types: int = 0  # RTE_ETH_RSS_* types its RSS hashes (set at configuration)
    hw_rss: bool = False  # configured with RSS in the port itself (its PMD has a RETA)
    sw_steered: bool = False  # not a cable end, and moonpy applies its filters (mp_swsteer.c)

    def describe(self) -> str:
        if self.kind == "cable":
            return f"cable to port {self.peer}"
        if self.kind == "pcap":
            parts = [f"tx={self.spec.tx}"] if self.spec.tx else []
            parts += [f"rx={self.spec.rx}"] if self.spec.rx else []
            return "pcap " + " ".join(parts)
        if self.kind in ("tap", "af_packet"):
            return f"{self.kind} {self.spec.iface or ''}".strip()
        if self.kind == "pci":
            return f"pci {self.spec.address}"
        return self.kind


@dataclass
class Counters:
    """Device counters as MoonGen scripts see them (``dev:getStats()``)."""

    ipackets: int = 0
    opackets: int = 0
    ibytes: int = 0
    obytes: int = 0
    imissed: int = 0
    ierrors: int = 0
    oerrors: int = 0
    rx_nombuf: int = 0
    # bytes of the frames counted in imissed, where the port knows them (a cable's
    # receiving end does); getRxStats counts them, as a NIC counts a missed frame's octets
    imissed_bytes: int = 0

    def rx_stats(self) -> tuple[int, int]:
        """libmoon's ``getRxStats``: every frame that reached the port (received, missed,
        no buffer) and their bytes (CRC excluded, as ``ibytes``)."""
        return self.ipackets + self.imissed + self.rx_nombuf, self.ibytes + self.imissed_bytes


class Engine:
    """Owns DPDK for this process: EAL, ports, mempools, shutdown."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = (config or Config()).validate()
        self.ports: list[Port] = []
        self.started = False
        self.reclaimed: dict[str, int] = {}
        self._lock = threading.RLock()
        self._dummy_pool = None
        self.cores = self.config.core_list()

    # ---- start-up ---------------------------------------------------------

    def eal_args(self) -> list[str]:
        cfg = self.config
        args = [
            "moonpy",
            "-l",
            str(self.cores[0]),
            "-m",
            str(cfg.memory),
            # hugepages: taken from hugetlbfs with no files left behind; otherwise ordinary
            # memory (DPDK's --no-huge), which every machine has
            "--in-memory" if cfg.hugepages else "--no-huge",
            "--no-shconf",
            "--file-prefix",
            f"moonpy{os.getpid()}",
            "--no-telemetry",
            "--log-level",
            cfg.eal_log_level,
            # the tap PMD complains about a missing multiq qdisc that it does not need
            "--log-level",
            "pmd.net.tap:crit",
        ]
        pci = [p.address for p in cfg.ports if p.kind == "pci" and p.address]
        if pci:
            for addr in pci:
                args += ["-a", addr]
        else:
            args.append("--no-pci")
        return args + list(cfg.eal)

    def start(self) -> Engine:
        if self.started:
            return self
        if _dpdk.eal_initialized():
            raise MoonpyError(
                "DPDK is already running in this process; "
                "use the existing engine (moonpy.core.engine.current())"
            )
        # the EAL leaves its runtime directory behind (one per run): removed at exit, on
        # errors and signals too (they unwind through Python), and in shutdown
        atexit.register(remove_runtime_dir)
        if os.environ.get("MOONPY_NO_INSTANCE_CHECK") != "1":
            warn_other_instances(self.cores, self.config)
        _dpdk.eal_init(self.eal_args())
        self.started = True
        global _current
        _current = self
        try:
            self._create_ports()
        except BaseException:
            self.shutdown()
            raise
        return self

    def _create_ports(self) -> None:
        counters: dict[str, int] = {}

        def next_name(prefix: str) -> str:
            n = counters.get(prefix, 0)
            counters[prefix] = n + 1
            return f"{prefix}{n}"

        for pid, spec, end in self.config.port_table():
            if spec.kind == "cable":
                if end == 1:
                    continue  # created together with end 0
                name = next_name("cable")
                a, b = _dpdk.create_cable(f"{name}a", f"{name}b")
                self.ports.append(Port(pid, "cable", a, spec, peer=pid + 1))
                self.ports.append(Port(pid + 1, "cable", b, spec, peer=pid))
                continue
            if spec.kind == "null":
                dev = _dpdk.probe_vdev(next_name("net_null"))
            elif spec.kind == "pcap":
                args = []
                if spec.rx:
                    args.append(f"rx_pcap={spec.rx}")
                if spec.tx:
                    args.append(f"tx_pcap={spec.tx}")
                if spec.infinite_rx:
                    args.append("infinite_rx=1")
                dev = _dpdk.probe_vdev(",".join([next_name("net_pcap"), *args]))
            elif spec.kind == "tap":
                name = next_name("net_tap")
                iface = spec.iface or f"mp{name[7:]}"
                dev = _dpdk.probe_vdev(f"{name},iface={iface}")
            elif spec.kind == "af_packet":
                if not os.path.exists(f"/sys/class/net/{spec.iface}"):
                    raise ConfigError(
                        f"af_packet port: interface '{spec.iface}' does not "
                        "exist; create it first (e.g. ip link add ... type veth)"
                    )
                dev = _dpdk.probe_vdev(f"{next_name('net_af_packet')},iface={spec.iface}")
            else:  # pci: probed by the EAL through its -a allow-list
                dev = _dpdk.port_by_name(spec.address or "")
            self.ports.append(Port(pid, spec.kind, dev, spec))
        for port in self.ports:
            info = _dpdk.port_info(port.dpdk_id)
            port.driver = info["driver"]
            # a cable's queues are moonpy's own rings (any count up to the spec's), a
            # port's those of its driver
            if port.kind == "cable":
                port.max_rx_queues = port.max_tx_queues = port.spec.queues
            else:
                port.max_rx_queues = min(info["max_rx_queues"], _dpdk.MAX_QUEUES)
                port.max_tx_queues = min(info["max_tx_queues"], _dpdk.MAX_QUEUES)
            mac = parse_mac(port.spec.mac) if port.spec.mac else None
            if mac is None and port.kind in ("cable", "null"):
                mac = bytes([0x02, 0x4D, 0x50, 0x00, 0x00, port.id])  # locally administered
            if mac is not None:
                _dpdk.port_set_mac(port.dpdk_id, mac)
                if _dpdk.port_mac(port.dpdk_id) != mac:
                    port.mac_override = mac

    # ---- ports ------------------------------------------------------------

    def port(self, pid: int) -> Port:
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 <= pid < len(self.ports):
            raise ConfigError(
                f"port {pid!r} does not exist; valid ports: {self.valid_ports()} "
                "(add ports with --port KIND or a [[ports]] entry in --config)"
            )
        return self.ports[pid]

    def valid_ports(self) -> str:
        if not self.ports:
            return "none"
        return ", ".join(f"{p.id} ({p.describe()})" for p in self.ports)

    def _rx_placeholder_pool(self):
        # cable ends never fill RX buffers from a pool, but DPDK wants one
        if self._dummy_pool is None:
            self._dummy_pool = _dpdk.create_mempool(n=64, buf_size=256)
        return self._dummy_pool

    def configure_port(
        self,
        pid: int,
        rx_queues: int = 1,
        tx_queues: int = 1,
        rx_descs: int = 512,
        tx_descs: int = 1024,
        num_bufs: int | None = None,
        buf_size: int = 2048,
        mempools: list | None = None,
        rss_queues: int = 0,
        rss_base: int = 0,
        rss_types: int | None = None,
        drop_enable: bool = True,
    ) -> tuple[Port, bool]:
        """Configure and start a port; returns ``(port, newly_configured)``.

        A port configured before keeps its first configuration (as in MoonGen).
        ``rss_queues`` > 1 spreads received frames over RX queues ``rss_base`` ... by their
        RSS hash of ``rss_types`` (``RTE_ETH_RSS_*``; default: IPv4/IPv6 with TCP/UDP
        ports): in the port where its driver has RSS (a NIC), in software on a cable's
        receiving end. ``drop_enable`` False (libmoon's ``dropEnable = false``): a full RX
        queue of a cable's end holds its peer's sender back, as a NIC without RX drop
        does with flow control, instead of missing the frame.
        """
        with self._lock:
            port = self.port(pid)
            if port.configured:
                return port, False
            for what, n, limit in (
                ("rx", rx_queues, port.max_rx_queues),
                ("tx", tx_queues, port.max_tx_queues),
            ):
                if not isinstance(n, int) or n < 1 or n > limit:
                    raise ConfigError(
                        f"port {pid} ({port.describe()}) supports 1 to {limit} {what} queues, "
                        f"asked for {n}"
                        + (
                            "; add queues=N to the cable's port spec"
                            if port.kind == "cable"
                            else ""
                        )
                    )
            _check_rss(pid, rss_queues, rss_base, rx_queues)
            if mempools is not None:
                if len(mempools) != rx_queues:
                    raise ConfigError(
                        f"port {pid}: {rx_queues} rx queues need exactly "
                        f"{rx_queues} mempools, got {len(mempools)}"
                    )
                pools = list(mempools)
            elif port.kind == "cable":
                pools = [self._rx_placeholder_pool()]
            else:
                n = num_bufs or max(2047, 2 * rx_descs - 1)
                pools = [_dpdk.create_mempool(n=n, buf_size=buf_size) for _ in range(rx_queues)]
            info = _dpdk.port_info(port.dpdk_id)
            offloads = 0
            capa = info["tx_offload_capa"] & _dpdk.TX_OFFLOAD_CHECKSUMS
            if port.kind == "pci" and capa == _dpdk.TX_OFFLOAD_CHECKSUMS:
                offloads = capa
            # RSS in the port itself where its PMD has it (a NIC); a cable does it in software
            port.rss_types = _dpdk.RSS_DEFAULT_TYPES if rss_types is None else rss_types
            port.hw_rss = (
                rss_queues > 1 and port.kind != "cable" and _dpdk.port_reta_size(port.dpdk_id) > 0
            )
            # a cable's ethdev (link, MAC) has one queue pair; its queues are moonpy's rings
            port.rx_descs, port.tx_descs = _dpdk.port_configure(
                port.dpdk_id,
                1 if port.kind == "cable" else rx_queues,
                1 if port.kind == "cable" else tx_queues,
                rx_descs,
                tx_descs,
                pools,
                offloads,
                rss_types=port.rss_types if port.hw_rss else 0,
            )
            port.sw_checksums = offloads == 0 and port.kind not in _SINK_KINDS
            # TX_PREPARE: the driver's tx_prepare before TX (checksum offload in hardware)
            flags = _dpdk.PORT_CONFIGURED
            flags |= _dpdk.PORT_SW_CSUM if port.sw_checksums else 0
            flags |= _dpdk.PORT_TX_PREPARE if offloads else 0
            peer_dpdk = -1
            if port.kind == "cable":
                flags |= _dpdk.PORT_DROP_ON_FULL
                peer_dpdk = self.ports[port.peer].dpdk_id if port.peer is not None else -1
            _dpdk.port_set_flags(port.dpdk_id, flags, peer_dpdk)
            if port.kind == "cable" and port.peer is not None:
                # the peer's counters need to know about this end, configured or not
                peer = self.ports[port.peer]
                if not peer.configured:
                    _dpdk.port_set_flags(peer.dpdk_id, _dpdk.PORT_DROP_ON_FULL, port.dpdk_id)
            if port.kind == "cable":
                # from now on the peer's frames go into this end's RX rings (until then
                # they leave and are missed), steered as a NIC would (moonpy.cable)
                _dpdk.cable_configure(
                    port.dpdk_id, rx_queues, tx_queues, port.spec.ring_size, drop_enable
                )
            else:
                _dpdk.swsteer_configure(port.dpdk_id, 0)  # no filters until a script adds some
            if rss_queues > 1:
                self._set_rss(port, rss_queues, rss_base)
            _dpdk.port_set_promisc(port.dpdk_id, True)
            port.rx_queues, port.tx_queues = rx_queues, tx_queues
            port.rx_pools = pools
            port.sw_steered = False
            port.configured = True
            port.configured_at = time.monotonic()
            return port, True

    def set_rss(self, pid: int, nq: int, base: int = 0) -> None:
        """RSS for a configured port from now on, with the hash types it was configured
        with (libmoon's ``dev:setRssQueues``); meant for set-up, before traffic flows."""
        port = self.port(pid)
        if not port.configured:
            raise ConfigError(f"port {pid} is not configured; call device.config first")
        _check_rss(pid, nq, base, port.rx_queues)
        if nq > 1:
            self._set_rss(port, nq, base)
        elif port.kind == "cable":
            _dpdk.cable_rss(port.dpdk_id, 0, 0, 0)

    def _set_rss(self, port: Port, nq: int, base: int) -> None:
        cable = port.kind == "cable" and port.peer is not None
        if not (cable or port.hw_rss):
            log_warn(
                f"port {port.id} ({port.describe()}): "
                + (
                    "RSS is set up when the port is configured (device.config with rssQueues)"
                    if _dpdk.port_reta_size(port.dpdk_id)
                    else "its driver has no RSS"
                )
                + "; every frame it receives arrives on RX queue 0"
            )
            return
        if nq & (nq - 1):
            log_warn(
                f"RSS distribution to queues will not be balanced as the number of "
                f"queues ({nq}) is not a power of two."
            )
        if cable:
            _dpdk.cable_rss(port.dpdk_id, nq, base, port.rss_types)
        else:
            _dpdk.port_set_reta(port.dpdk_id, nq, base)

    def add_filter(self, pid: int, kind: str, queue: int, values: list[int]) -> None:
        """A NIC filter (libmoon's filter module) on configured port ``pid``. A cable end
        applies it as its peer sends; any other port (DPDK 22.11 has no filter_ctrl, the
        virtual PMDs no filters) in moonpy's RX path, from the first filter on."""
        port = self.port(pid)
        if not port.configured:
            raise ConfigError(f"port {pid} is not configured; call device.config first")
        if port.kind != "cable" and not port.sw_steered:
            # frames no filter matches: to queue 0 as on a NIC, unless the port spreads
            # them itself (RSS in the port)
            _dpdk.swsteer_configure(port.dpdk_id, port.rx_queues, keep_unmatched=port.hw_rss)
            port.sw_steered = True
        cable.add_filter(port.dpdk_id, pid, port.rx_queues, kind, queue, values)

    def describe_filters(self, pid: int) -> str:
        return cable.describe(self.port(pid).dpdk_id)

    def counters(self, pid: int) -> Counters:
        """Merged counters: moonpy's fast-path counters for what it sent and
        received (virtual PMDs do not all count bytes), the PMD's for errors."""
        port = self.port(pid)
        hw = _dpdk.port_hw_stats(port.dpdk_id)
        sw = _dpdk.port_sw_stats(port.dpdk_id)
        c = Counters(ierrors=hw["ierrors"], rx_nombuf=hw["rx_nombuf"])
        if port.kind == "pci":
            c.ipackets, c.ibytes = hw["ipackets"], hw["ibytes"]
            c.opackets, c.obytes = hw["opackets"], hw["obytes"]
        elif port.kind == "cable":
            # a NIC's rule: every frame that reached the port, into an RX ring (read by a
            # task or not: ipackets) or missed; the peer's TX counts are the same frames,
            # so both ends agree at any moment (cable_arrived)
            c.ipackets, c.ibytes, missed, c.imissed_bytes = _dpdk.cable_arrived(port.dpdk_id)
            c.opackets, c.obytes = sw["tx_pkts"], sw["tx_bytes"]
            c.imissed = hw["imissed"] + missed
        else:
            c.ipackets, c.ibytes = sw["rx_pkts"], sw["rx_bytes"]
            c.opackets, c.obytes = sw["tx_pkts"], sw["tx_bytes"]
            c.imissed = hw["imissed"] + sw["rx_missed"]  # + what moonpy's filters dropped
        c.oerrors = hw["oerrors"] + (0 if port.kind == "cable" else sw["tx_drops"])
        return c

    def link(self, pid: int) -> tuple[bool, int, bool]:
        up, speed, duplex = _dpdk.port_link(self.port(pid).dpdk_id)
        if port_is_virtual(self.port(pid)) and (speed == 0 or speed > 400000):
            speed = 10000  # virtual links report an arbitrary speed; say 10G as MoonGen would
        return up, speed, duplex

    def mac(self, pid: int) -> bytes:
        port = self.port(pid)
        return port.mac_override or _dpdk.port_mac(port.dpdk_id)

    # ---- shutdown -----------------------------------------------------------

    def stop_ports(self) -> None:
        """Stop every configured port and return queued frames to their pools."""
        for port in self.ports:
            if port.configured:
                if port.kind == "cable":
                    _dpdk.cable_configure(port.dpdk_id, 0, 0, 0, True)
                elif port.sw_steered:
                    _dpdk.swsteer_configure(port.dpdk_id, 0)
                _dpdk.port_stop(port.dpdk_id)
                port.configured = False
        # frames still inside a cable belong to the sender's pools
        _dpdk.drain_cables()

    def leaks(self) -> list[str]:
        """Pools whose buffers are not all back (meaningful once ports are closed)."""
        out = []
        for pool in _dpdk.all_mempools():
            if pool.avail != pool.size:
                out.append(
                    f"{pool.name}: {pool.size - pool.avail} of {pool.size} buffers not returned"
                )
        return out

    def reclaim(self) -> dict[str, int]:
        """Put back the buffers tasks left behind, per pool (only once ports are closed
        and every task has stopped: then nothing is in flight)."""
        out = {}
        for pool in _dpdk.all_mempools():
            if pool.avail != pool.size:
                out[pool.name] = pool.reclaim()
        return out

    def shutdown(self, reclaim: bool = False) -> list[str]:
        """Stop ports, check pools, free everything, clean up the EAL. With ``reclaim``
        (a task died on an error) the buffers it held go back to their pools first and
        ``self.reclaimed`` says how many."""
        global _current
        if not self.started:
            return []
        _dpdk.pace_flush()  # the master's own paced sends (tasks flush when they end)
        self.stop_ports()
        for port in self.ports:  # closing releases buffers held in RX descriptors
            try:
                _dpdk.port_close(port.dpdk_id)
            except _dpdk.DpdkError:
                pass
        self.reclaimed = self.reclaim() if reclaim else {}
        leaks = self.leaks()
        _dpdk.free_all_rings()
        _dpdk.free_all_mempools()
        _dpdk.eal_cleanup()
        remove_runtime_dir()
        self.started = False
        if _current is self:
            _current = None
        return leaks


def _check_rss(pid: int, nq: int, base: int, rx_queues: int) -> None:
    if nq > 1 and base + nq > rx_queues:
        raise ConfigError(
            f"port {pid}: rssQueues={nq} from rssBaseQueue={base} needs "
            f"{base + nq} rx queues, it is configured with {rx_queues}"
        )


@contextlib.contextmanager
def dpdk_thread(core: int) -> Iterator[None]:
    """Run the calling thread pinned to ``core`` and registered with DPDK (an lcore id,
    so mempool caches work) for the duration; used by Lua and Python tasks alike."""
    try:
        os.sched_setaffinity(0, {core})
    except OSError:
        pass  # the core is outside our affinity: DPDK still works, unpinned
    _dpdk.register_thread()
    _dpdk.thread_core(core)
    try:
        yield
    finally:
        _dpdk.thread_core(-1)
        _dpdk.unregister_thread()


def port_is_virtual(port: Port) -> bool:
    return port.kind != "pci"


_current: Engine | None = None


def queue_packets(queues: Iterable[tuple[int, int, str]]) -> int:
    """Packets sent or received so far on the given (DPDK port, queue, "tx"|"rx") queues:
    a task's own count for the dashboard's task table, as the queues it holds say."""
    total = 0
    for port, queue, direction in queues:
        table = _dpdk.port_sw_stats(port)["txq" if direction == "tx" else "rxq"]
        if queue < len(table):
            total += table[queue][0]
    return total


def current() -> Engine:
    """The running engine of this process."""
    if _current is None:
        raise MoonpyError("moonpy's engine is not running; start it with Engine(config).start()")
    return _current
