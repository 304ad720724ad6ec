"""Sampling the ports' counters and the rates a run shows: MoonGen's arithmetic (bytes with
the CRC, wire rates with 20 B of framing per frame), from the console's own thread.

Everything here reads counters the C layer keeps (per-port device counters through the
engine): nothing in a TX path waits for it, and it never sends a packet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moonpy import _dpdk
from moonpy.core.engine import Counters, Engine

CRC = 4  # bytes per frame counted in MoonGen's Mbit/s
FRAMING = 20  # preamble + SFD + inter-frame gap, for "with framing"


@dataclass
class PortRates:
    """One port's rates over the last interval and totals since the start."""

    port: int
    kind: str
    tx_mpps: float = 0.0
    tx_mbit: float = 0.0
    tx_wire_mbit: float = 0.0
    rx_mpps: float = 0.0
    rx_mbit: float = 0.0
    rx_wire_mbit: float = 0.0
    tx_packets: int = 0
    tx_bytes: int = 0
    rx_packets: int = 0
    rx_bytes: int = 0
    missed: int = 0
    errors: int = 0
    peak_tx_mpps: float = 0.0
    peak_rx_mpps: float = 0.0


def rates(
    prev: Counters, cur: Counters, dt: float
) -> tuple[float, float, float, float, float, float]:
    """(tx mpps, tx mbit, tx wire mbit, rx mpps, rx mbit, rx wire mbit) from two samples,
    counted as MoonGen does: bytes include the CRC, wire adds 20 B per frame."""
    if dt <= 0:
        return (0.0,) * 6  # type: ignore[return-value]
    out = []
    # RX as getRxStats counts it (missed frames too), so the table shows the rate a
    # script's device RX counter prints for the same port
    (rp, rb), (pp, pb) = cur.rx_stats(), prev.rx_stats()
    for pk, by in (
        (cur.opackets - prev.opackets, cur.obytes - prev.obytes),
        (rp - pp, rb - pb),
    ):
        mpps = pk / dt / 1e6
        mbit = (by + CRC * pk) * 8 / dt / 1e6
        out += [mpps, mbit, mbit + mpps * FRAMING * 8]
    return tuple(out)  # type: ignore[return-value]


@dataclass
class Sampler:
    """Samples the configured ports' counters at a fixed interval."""

    engine: Engine
    interval: float = 0.5
    on_sample: Callable[[float, list[PortRates]], None] | None = None
    latest: list[PortRates] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _prev: dict[int, tuple[float, Counters]] = field(default_factory=dict)
    _peaks: dict[int, tuple[float, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> list[PortRates]:
        now = time.monotonic()
        out = []
        for port in self.engine.ports:
            if not port.configured:
                continue
            cur = self.engine.counters(port.id)
            t0, prev = self._prev.get(port.id, (now, cur))
            r = PortRates(port.id, port.kind)
            (r.tx_mpps, r.tx_mbit, r.tx_wire_mbit, r.rx_mpps, r.rx_mbit, r.rx_wire_mbit) = rates(
                prev, cur, now - t0
            )
            r.tx_packets, r.tx_bytes = cur.opackets, cur.obytes + CRC * cur.opackets
            rx_pkts, rx_bytes = cur.rx_stats()
            r.rx_packets, r.rx_bytes = rx_pkts, rx_bytes + CRC * rx_pkts
            r.missed, r.errors = cur.imissed, cur.ierrors + cur.oerrors + cur.rx_nombuf
            ptx, prx = self._peaks.get(port.id, (0.0, 0.0))
            r.peak_tx_mpps, r.peak_rx_mpps = max(ptx, r.tx_mpps), max(prx, r.rx_mpps)
            self._peaks[port.id] = (r.peak_tx_mpps, r.peak_rx_mpps)
            self._prev[port.id] = (now, cur)
            out.append(r)
        self.latest = out
        if self.on_sample:
            self.on_sample(now - self.started, out)
        return out

    def start(self) -> Sampler:
        self.started = time.monotonic()

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.sample()
                except _dpdk.DpdkError:
                    return  # ports are going away: the run is over

        self._thread = threading.Thread(target=loop, name="moonpy-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def totals(self) -> dict[int, Counters]:
        return {p.id: self.engine.counters(p.id) for p in self.engine.ports if p.configured}
