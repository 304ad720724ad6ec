"""Throughput counters that print MoonGen's exact lines, and the log lines.

    ctr = stats.DevTxCounter(dev)            # stats:newDevTxCounter(dev)
    while moonpy.running():
        ...
        ctr.update()                         # at most one line per second
    ctr.finalize()

or ``stats.start_stats_task(devices=[tx_dev, rx_dev])``, a shared task that
updates every counter each 10 ms and finalizes them when the run stops.

Output formats: ``"plain"`` (MoonGen's coloured lines), ``"csv"``/``"CSV"``,
``"nil"``. Averages leave out the first and last samples, as MoonGen does, so
runs shorter than three samples print ``nan``.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any, cast

# scripts call stats.log_info(...) (the examples do): the log lines live in moonpy.log
from moonpy.log import (  # noqa: F401
    STATS_CSV_HEADER,
    code,
    log_error,
    log_info,
    log_warn,
    lua_number,
    stats_csv_row,
    stats_final_line,
    stats_line,
)
from moonpy.timer import get_time

if TYPE_CHECKING:
    from moonpy.device import Device, RxQueue, TxQueue
    from moonpy.packet import Packet
    from moonpy.tasks import Task

# ---- math (MoonGen's stats.average, stdDev, addStats) -------------------------------


def _div(a: float, b: float) -> float:
    if b:
        return a / b
    return math.nan if a == 0 else math.copysign(math.inf, a)


def average(data: list[float]) -> float:
    return _div(sum(data), len(data))


def std_dev(data: list[float]) -> float:
    """Sample standard deviation (n - 1)."""
    avg = average(data)
    squares = sum((v - avg) ** 2 for v in data)
    return float(_div(squares, len(data) - 1) ** 0.5)


def median(data: list[float]) -> float:
    if not data:
        return math.nan
    s = sorted(data)
    return s[max(0, math.ceil(len(s) * 50 / 100) - 1)]


class Summary(list[float]):
    """A list of samples with ``avg``, ``std_dev``, ``median`` and ``sum``."""

    avg = math.nan
    std_dev = math.nan
    median = math.nan
    sum = 0.0

    def compute(self, ignore_first_and_last: bool = True) -> Summary:
        values = list(self[1:-1]) if ignore_first_and_last else list(self)
        self.avg = average(values)
        self.std_dev = std_dev(values)
        self.median = median(values)
        self.sum = float(sum(values))
        return self


# ---- counters ---------------------------------------------------------------------

_FORMATS = ("plain", "csv", "CSV", "nil")
_open_files: dict[str, list[Any]] = {}  # name -> [handle, users]
_csv_headers_done: set[Any] = set()
_files_lock = threading.Lock()


class Counter:
    """The counter core (MoonGen's libmoon ``stats`` counters): subclasses
    say where packet and byte totals come from."""

    direction = "TX"
    sleep_ms = 0

    def __init__(self, name: str, fmt: str = "plain", file: IO[str] | str | None = None) -> None:
        if fmt not in _FORMATS:
            raise ValueError(f"Unsupported output format {fmt}")
        name = str(name)
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1]
        self.name = name
        self.format = fmt.lower() if fmt == "CSV" else fmt
        self._file_name: str | None = None
        if isinstance(file, str):
            self._file_name = file
            with _files_lock:
                entry = _open_files.get(file)
                if entry is None:
                    entry = _open_files[file] = [open(file, "w+"), 0]  # noqa: SIM115
                entry[1] += 1
                self.file: IO[str] = entry[0]
        else:
            self.file = file or sys.stdout
        self.total = 0
        self.total_bytes = 0
        self.mpps = Summary()
        self.mbit = Summary()
        self.wire_mbit = Summary()
        self.last_update: float | None = None

    def get_throughput(self) -> tuple[int, int]:
        """Cumulative packets and bytes (CRC included)."""
        raise NotImplementedError

    # ---- sampling ------------------------------------------------------------------

    def _sample(self, now: float, pkts: int, nbytes: int, silent: bool = False) -> bool:
        if self.last_update is None:
            self.total, self.total_bytes, self.last_update = pkts, nbytes, now
            self._emit_init()
            return False
        elapsed = now - self.last_update
        self.last_update = now
        mpps = _div(pkts - self.total, elapsed) / 1e6
        mbit = _div(nbytes - self.total_bytes, elapsed) / 1e6 * 8
        wire = mbit + mpps * 20 * 8
        self.total, self.total_bytes = pkts, nbytes
        if not silent:
            self._emit_update(mpps, mbit, wire)
        self.mpps.append(mpps)
        self.mbit.append(mbit)
        self.wire_mbit.append(wire)
        return True

    def _due(self, now: float) -> bool:
        return self.last_update is None or now > self.last_update + 1

    def update(self) -> bool:
        """Take a sample and print a line if more than a second passed since the last."""
        now = get_time()
        if not self._due(now):
            return False
        return self._sample(now, *self.get_throughput())

    def get_stats(self, force_update: bool = False) -> tuple[Summary, Summary, Summary, int, int]:
        """``(mpps, mbit, wire_mbit, total, total_bytes)``; the lists carry ``avg``,
        ``std_dev``, ``median``, ``sum``."""
        if force_update:
            self._sample(get_time(), *self.get_throughput(), silent=True)
        for s in (self.mpps, self.mbit, self.wire_mbit):
            s.compute()
        return self.mpps, self.mbit, self.wire_mbit, self.total, self.total_bytes

    def finalize(self, sleep_ms: float | None = None) -> None:
        """Wait ``sleep_ms`` for frames in flight, take a last (silent) sample and
        print the final line."""
        ms = self.sleep_ms if sleep_ms is None else sleep_ms
        if ms:
            time.sleep(ms / 1000)
        self._sample(get_time(), *self.get_throughput(), silent=True)
        self.get_stats()
        self._emit_final()
        if self._file_name is not None:
            with _files_lock:
                entry = _open_files.get(self._file_name)
                if entry is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        entry[0].close()
                        del _open_files[self._file_name]
            self._file_name = None

    # ---- output --------------------------------------------------------------------

    def _emit_init(self) -> None:
        if self.format != "csv":
            return
        key = self._file_name or id(self.file)
        with _files_lock:
            if key in _csv_headers_done:
                return
            _csv_headers_done.add(key)
        self.file.write(STATS_CSV_HEADER + "\n")
        self.file.flush()

    def _emit_update(self, mpps: float, mbit: float, wire: float) -> None:
        if self.format == "plain":
            self.file.write(stats_line(self.name, self.direction, mpps, mbit, wire) + "\n")
            self.file.flush()
        elif self.format == "csv":
            self._csv_row(mpps, mbit, wire)

    def _emit_final(self) -> None:
        if self.format == "plain":
            line = stats_final_line(
                self.name,
                self.direction,
                (self.mpps.avg, self.mpps.std_dev),
                (self.mbit.avg, self.mbit.std_dev),
                self.wire_mbit.avg,
                self.total,
                self.total_bytes,
            )
            self.file.write(line + "\n")
            self.file.flush()
        elif self.format == "csv":
            self._csv_row(self.mpps.avg, self.mbit.avg, self.wire_mbit.avg)

    def _csv_row(self, mpps: float, mbit: float, wire: float) -> None:
        row = stats_csv_row(
            time.time(), self.name, self.direction, mpps, mbit, wire, self.total, self.total_bytes
        )
        self.file.write(row + "\n")
        self.file.flush()


def _device_of(dev: Device | TxQueue | RxQueue) -> Device:
    return cast("Device", getattr(dev, "dev", dev))


class _DevCounter(Counter):
    """A device's counters, read from the port (CRC included, as MoonGen counts)."""

    def __init__(
        self,
        dev: Device | RxQueue | TxQueue,
        fmt: str = "plain",
        file: IO[str] | str | None = None,
        name: str | None = None,
    ) -> None:
        self.dev = _device_of(dev)
        super().__init__(name or repr(self.dev), fmt, file)

    def _read(self) -> tuple[int, int]:
        raise NotImplementedError

    def get_throughput(self) -> tuple[int, int]:
        pkts, nbytes = self._read()
        return pkts, nbytes + pkts * 4


class DevRxCounter(_DevCounter):
    """A device's RX counters (MoonGen's ``stats:newDevRxCounter``); named
    ``Device: id=N`` unless ``name`` is given."""

    direction = "RX"
    sleep_ms = 100

    def _read(self) -> tuple[int, int]:
        return self.dev.get_rx_stats()


class DevTxCounter(_DevCounter):
    """A device's TX counters (MoonGen's ``stats:newDevTxCounter``)."""

    direction = "TX"
    sleep_ms = 50

    def _read(self) -> tuple[int, int]:
        return self.dev.get_tx_stats()


class _PacketCounting(Counter):
    def __init__(self, name: str, fmt: str = "plain", file: IO[str] | str | None = None) -> None:
        super().__init__(name, fmt, file)
        self.current = 0
        self.current_bytes = 0

    def count_packet(self, pkt: Packet) -> None:
        """Add one packet and its size + 4 CRC bytes."""
        self.current += 1
        self.current_bytes += pkt.size + 4

    def count_packets(self, pkts: Iterable[Packet]) -> None:
        for p in pkts:
            self.count_packet(p)

    def get_throughput(self) -> tuple[int, int]:
        return self.current, self.current_bytes


class PktRxCounter(_PacketCounting):
    """Counts packets handed to ``count_packet`` (``stats:newPktRxCounter``)."""

    direction = "RX"


class PktTxCounter(_PacketCounting):
    direction = "TX"


class _ManualCounting(_PacketCounting):
    def update(self, pkts: int = 0, nbytes: int = 0) -> bool:  # type: ignore[override]
        """Add ``pkts``/``nbytes`` and print at most once per second."""
        self.current += pkts
        self.current_bytes += nbytes
        return super().update()

    def update_with_size(self, pkts: int, size: int) -> bool:
        """Add ``pkts`` packets of ``size`` bytes (+ 4 CRC bytes each)."""
        return self.update(pkts, pkts * (size + 4))


class ManualRxCounter(_ManualCounting):
    """A counter the script feeds (``stats:newManualRxCounter``)."""

    direction = "RX"


class ManualTxCounter(_ManualCounting):
    direction = "TX"


# ---- the stats task -------------------------------------------------------------------


def _dedup(devs: list[Device]) -> list[Device]:
    out: list[Device] = []
    for d in reversed(devs):
        if all(o.id != d.id for o in out):
            out.insert(0, d)
    return out


def stats_task(
    rx_devices: list[Device], tx_devices: list[Device], fmt: str, file: IO[str] | str | None
) -> None:
    """The body of :func:`start_stats_task`: RX counters first, then TX ones."""
    from moonpy import _dpdk

    counters: list[Counter] = [DevRxCounter(d, fmt, file) for d in rx_devices]
    counters += [DevTxCounter(d, fmt, file) for d in tx_devices]
    while _dpdk.running(0.2):
        for c in counters:
            c.update()
        time.sleep(0.01)
    for c in counters:
        c.finalize(0)


def start_stats_task(
    devices: Iterable[Device | TxQueue | RxQueue] = (),
    *,
    rx_devices: Iterable[Device | TxQueue | RxQueue] = (),
    tx_devices: Iterable[Device | TxQueue | RxQueue] = (),
    fmt: str = "plain",
    file: IO[str] | str | None = None,
) -> Task:
    """Start a shared task printing the counters of these devices every second
    and their final lines when the run stops (MoonGen's ``startStatsTask``)."""
    from moonpy.tasks import start_shared_task

    if fmt not in _FORMATS:
        raise ValueError(f"Unsupported output format {fmt}")
    both = [_device_of(d) for d in devices]
    rx = _dedup([_device_of(d) for d in rx_devices] + both)
    tx = _dedup([_device_of(d) for d in tx_devices] + both)
    return start_shared_task(stats_task, rx, tx, fmt, file, name="stats")
