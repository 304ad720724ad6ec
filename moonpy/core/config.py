"""Run configuration: which ports exist, cores, memory, EAL pass-through.

Sources, later ones override earlier ones: built-in default (one virtual
cable = ports 0 and 1), a TOML file (`--config FILE`), command-line flags.
Everything is a pyserde dataclass, so unknown keys are errors, not silence.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field

from serde import SerdeError, from_dict, serde, to_dict

from moonpy.errors import ConfigError

#: port kinds and the options each accepts (besides ``kind`` and ``mac``)
PORT_KINDS: dict[str, tuple[str, ...]] = {
    "cable": ("queues", "ring_size"),  # a pair of ports joined by rings
    "null": (),  # a sink for pure generator cost (its RX side yields endless empty frames)
    "pcap": ("tx", "rx", "infinite_rx"),  # write to / read from pcap files
    "tap": ("iface",),  # a Linux kernel interface
    "af_packet": ("iface",),  # an existing Linux interface (e.g. a veth end)
    "pci": ("address",),  # a real NIC bound to vfio-pci
}


MAX_CABLE_QUEUES = 128  # MP_MAX_QUEUES of csrc/mp_api.h


@serde(deny_unknown_fields=True)
@dataclass
class PortSpec:
    """One entry of ``[[ports]]``; a ``cable`` entry creates two ports."""

    kind: str
    # the most queues a cable end may be configured with, as a NIC has 64-128 (its rings are
    # made per configured queue); MP_MAX_QUEUES of csrc/mp_api.h
    queues: int = MAX_CABLE_QUEUES
    # slots per queue and direction: a receiver descheduled for a few ms (a shared core)
    # must not overflow; a ring holds at most half of the sender's pool (mp_cable.c)
    ring_size: int = 4096
    tx: str | None = None
    rx: str | None = None
    infinite_rx: bool = False
    iface: str | None = None
    address: str | None = None
    mac: str | None = None

    def validate(self, index: int) -> None:
        where = f"port entry {index} ({self.kind})"
        if self.kind not in PORT_KINDS:
            raise ConfigError(
                f"unknown port kind '{self.kind}' in port entry {index}; "
                f"valid kinds: {', '.join(PORT_KINDS)}"
            )
        allowed = set(PORT_KINDS[self.kind]) | {"kind", "mac"}
        defaults = PortSpec(kind=self.kind)
        for name in ("queues", "ring_size", "tx", "rx", "infinite_rx", "iface", "address"):
            if name not in allowed and getattr(self, name) != getattr(defaults, name):
                raise ConfigError(
                    f"{where}: option '{name}' does not apply to {self.kind} ports; "
                    f"valid options: {', '.join(sorted(allowed - {'kind'}))}"
                )
        if self.kind == "cable":
            if not 1 <= self.queues <= MAX_CABLE_QUEUES:
                raise ConfigError(
                    f"{where}: queues must be 1..{MAX_CABLE_QUEUES}, got {self.queues}"
                )
            if self.ring_size < 2 or self.ring_size & (self.ring_size - 1):
                raise ConfigError(
                    f"{where}: ring_size must be a power of two, got {self.ring_size}"
                )
        if self.kind == "pcap":
            if not self.tx and not self.rx:
                raise ConfigError(f"{where}: give tx=FILE (capture) and/or rx=FILE (replay)")
            if self.rx and not os.path.isfile(self.rx):
                raise ConfigError(f"{where}: pcap file '{self.rx}' does not exist")
            if self.tx:
                parent = os.path.dirname(os.path.abspath(self.tx))
                if not os.path.isdir(parent):
                    raise ConfigError(
                        f"{where}: directory '{parent}' for tx={self.tx} does not exist"
                    )
        if self.kind in ("tap", "af_packet") and not self.iface and self.kind == "af_packet":
            raise ConfigError(f"{where}: give iface=NAME of an existing interface")
        if self.iface is not None:
            # Linux interface names are at most 15 bytes (IFNAMSIZ - 1), without '/' or
            # blanks; the kernel's own error for a longer one is "Operation not permitted"
            if not self.iface or len(self.iface.encode()) > 15:
                raise ConfigError(
                    f"{where}: interface name '{self.iface}' is {len(self.iface.encode())} "
                    "bytes; Linux allows 1 to 15"
                )
            if any(c in self.iface for c in "/ \t\n,:="):
                raise ConfigError(
                    f"{where}: interface name '{self.iface}' may not contain '/', ',', ':', "
                    "'=' or blanks"
                )
        if self.kind == "pci" and not self.address:
            raise ConfigError(f"{where}: give address=DOMAIN:BUS:DEV.FN, e.g. 0000:03:00.0")
        if self.mac is not None and parse_mac(self.mac) is None:
            raise ConfigError(f"{where}: invalid mac '{self.mac}'; use aa:bb:cc:dd:ee:ff")

    def port_count(self) -> int:
        return 2 if self.kind == "cable" else 1


@serde(deny_unknown_fields=True)
@dataclass
class Config:
    """Everything that decides how DPDK starts and which ports exist."""

    ports: list[PortSpec] = field(default_factory=lambda: [PortSpec(kind="cable")])
    cores: list[int] | None = None  # first = master; default: every CPU we may run on
    memory: int = 512  # MB of memory for DPDK
    # DPDK's memory from reserved 2 MiB hugepages (hugetlbfs) instead of ordinary 4 KiB
    # pages: every pass over a burst then stops paying TLB misses (docs/performance.md)
    # (default: the environment's MOONPY_HUGEPAGES=1, which `moonpy bench --hugepages` sets)
    hugepages: bool = field(default_factory=lambda: os.environ.get("MOONPY_HUGEPAGES") == "1")
    eal: list[str] = field(default_factory=list)  # extra EAL arguments, verbatim
    eal_log_level: str = "error"
    shared_cores: int = 8  # helper tasks (stats, ARP...) that share the master's core

    def validate(self) -> Config:
        if not self.ports:
            raise ConfigError("no ports configured; add at least one [[ports]] entry")
        for i, p in enumerate(self.ports):
            p.validate(i)
        if self.memory < 32:
            raise ConfigError(f"memory = {self.memory} MB is too little for DPDK; use >= 64")
        if self.hugepages:
            problem = hugepage_problem(self.memory)
            if problem:
                raise ConfigError(problem)
        cpus = sorted(os.sched_getaffinity(0))
        if self.cores is not None:
            if not self.cores:
                raise ConfigError("cores is empty; list at least one CPU")
            bad = [c for c in self.cores if c not in cpus]
            if bad:
                raise ConfigError(f"cores {bad} are not available; this machine offers {cpus}")
        return self

    def core_list(self) -> list[int]:
        return list(self.cores) if self.cores else sorted(os.sched_getaffinity(0))

    def port_table(self) -> list[tuple[int, PortSpec, int]]:
        """``(port id, spec, end)`` for every port; ``end`` is 0/1 for cable ends."""
        out, pid = [], 0
        for spec in self.ports:
            for end in range(spec.port_count()):
                out.append((pid, spec, end))
                pid += 1
        return out

    def to_dict(self) -> dict:
        return to_dict(self)


def hugepage_problem(memory_mb: int) -> str | None:
    """Why DPDK could not take ``memory_mb`` from hugepages here (None: it can): it needs
    a mounted hugetlbfs and enough free pages of the default size."""
    info: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                info[key] = int(rest.split()[0])
        with open("/proc/mounts") as f:
            mounted = any(line.split()[2] == "hugetlbfs" for line in f if len(line.split()) > 2)
    except (OSError, ValueError, IndexError):
        return "hugepages = true: cannot read /proc/meminfo and /proc/mounts (Linux only)"
    size_kb = info.get("Hugepagesize", 2048) or 2048
    need = -(-memory_mb * 1024 // size_kb)
    free = info.get("HugePages_Free", 0)
    if mounted and free >= need:
        return None
    return (
        f"hugepages: {memory_mb} MB needs {need} free {size_kb // 1024} MiB hugepages on a "
        f"mounted hugetlbfs; this machine has {free} free"
        + ("" if mounted else " and no hugetlbfs mounted")
        + f"; reserve them as root (sysctl vm.nr_hugepages={need}; "
        "mount -t hugetlbfs nodev /dev/hugepages) or run without hugepages"
    )


def parse_mac(text: str) -> bytes | None:
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6:
        return None
    try:
        raw = bytes(int(p, 16) for p in parts)
    except ValueError:
        return None
    return raw if all(len(p) in (1, 2) for p in parts) else None


def config_from_dict(data: dict, source: str) -> Config:
    try:
        cfg = from_dict(Config, data)
    except SerdeError as e:
        raise ConfigError(f"{source}: {first_line(str(e))}") from None
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: {first_line(str(e))}") from None
    return cfg


def load_file(path: str) -> Config:
    """Read a TOML configuration file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file '{path}' does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file '{path}' is not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"cannot read configuration file '{path}': {e.strerror}") from None
    return config_from_dict(data, f"configuration file '{path}'")


def parse_port_option(text: str) -> PortSpec:
    """``--port KIND[,key=value...]`` → PortSpec (e.g. ``pcap,tx=out.pcap``)."""
    kind, *opts = text.split(",")
    data: dict[str, object] = {"kind": kind.strip()}
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--port {text}: option '{opt}' needs a value (key=value)")
        if key in ("queues", "ring_size"):
            try:
                data[key] = int(value)
            except ValueError:
                raise ConfigError(f"--port {text}: {key} must be a number, got '{value}'") from None
        elif key == "infinite_rx":
            data[key] = value.lower() in ("1", "true", "yes", "on")
        else:
            data[key] = value
    valid = set(PORT_KINDS.get(str(data["kind"]), ())) | {"mac"}
    for key in data:
        if key != "kind" and data["kind"] in PORT_KINDS and key not in valid:
            raise ConfigError(
                f"--port {text}: unknown option '{key}' for {data['kind']} ports; "
                f"valid options: {', '.join(sorted(valid))}"
            )
    try:
        return from_dict(PortSpec, data)
    except SerdeError as e:
        raise ConfigError(f"--port {text}: {first_line(str(e))}") from None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def check_writable(option: str, path: str) -> None:
    """Open ``path`` for writing now (and remove it again if it was not there), so that
    /proc, read-only mounts and the like fail before DPDK starts, in one line."""
    existed = os.path.exists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise ConfigError(f"{option} {path}: cannot write there: {e.strerror}") from None
    if not existed:
        os.unlink(path)
