"""What a run records: the end-of-run summary (totals, averages, peaks, loss, the software
pacer's precision) and ``--output`` files, JSON lines or MoonGen's CSV rows."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any, TextIO

from moonpy import _dpdk
from moonpy.console.sampler import CRC, PortRates, Sampler
from moonpy.console.streams_table import StreamResults
from moonpy.core.engine import Engine
from moonpy.log import STATS_CSV_HEADER, info_line, stats_csv_row


class ResultWriter:
    """``--output FILE``: JSON lines (``.jsonl``/``.json``) or MoonGen's CSV format."""

    CSV_HEADER = STATS_CSV_HEADER

    def __init__(self, path: str, meta: dict[str, Any]) -> None:
        self.path = path
        self.csv = path.endswith(".csv")
        self.file: TextIO = open(path, "w")  # noqa: SIM115 - closed in close()
        if self.csv:
            self.file.write(self.CSV_HEADER + "\n")
        else:
            self._json({"type": "run", **meta})
        self.streams = StreamResults(path, self._json)  # console/streams_table.py

    def _json(self, obj: dict[str, Any]) -> None:
        self.file.write(json.dumps(obj, sort_keys=True) + "\n")
        self.file.flush()

    def sample(self, elapsed: float, ports: list[PortRates]) -> None:
        for r in ports:
            if self.csv:
                now = int(time.time())
                for d, mpps, mbit, wire, tot, byt in (
                    ("RX", r.rx_mpps, r.rx_mbit, r.rx_wire_mbit, r.rx_packets, r.rx_bytes),
                    ("TX", r.tx_mpps, r.tx_mbit, r.tx_wire_mbit, r.tx_packets, r.tx_bytes),
                ):
                    name = f"Device: id={r.port}"
                    row = stats_csv_row(now, name, d, mpps, mbit, wire, tot, byt)
                    self.file.write(row + "\n")
            else:
                self._json({"type": "sample", "elapsed": round(elapsed, 6), **asdict(r)})
        self.file.flush()
        self.streams.sample(elapsed)

    def summary(self, summary: dict[str, Any]) -> None:
        if not self.csv:
            self._json({"type": "summary", **summary})

    def close(self) -> None:
        self.file.close()
        self.streams.close()


def build_summary(engine: Engine, sampler: Sampler, elapsed: float) -> dict[str, Any]:
    """Per-port totals, average (since the port started) and peak rates, loss on cables."""
    totals = sampler.totals()
    peaks = {r.port: r for r in sampler.latest}
    ports = []
    now = time.monotonic()
    for pid, c in totals.items():
        port = engine.port(pid)
        span = now - port.configured_at  # counters start at 0 when the port starts
        entry: dict[str, Any] = {
            "port": pid,
            "kind": port.kind,
            "tx_packets": c.opackets,
            "rx_packets": c.ipackets,
            "tx_bytes": c.obytes + CRC * c.opackets,
            "rx_bytes": c.ibytes + CRC * c.ipackets,
            "seconds": span,
            "tx_avg_mpps": c.opackets / span / 1e6 if span > 0 else 0.0,
            "rx_avg_mpps": c.ipackets / span / 1e6 if span > 0 else 0.0,
            "tx_peak_mpps": peaks[pid].peak_tx_mpps if pid in peaks else 0.0,
            "rx_peak_mpps": peaks[pid].peak_rx_mpps if pid in peaks else 0.0,
            "missed": c.imissed,
            "errors": c.ierrors + c.oerrors,
            "loss": None,
        }
        if port.kind == "cable" and port.peer is not None:
            sent = engine.counters(port.peer).opackets
            if sent:
                entry["loss"] = max(0.0, 1 - c.ipackets / sent)
        ports.append(entry)
    return {"elapsed": elapsed, "ports": ports, "pacing": pacing_reports(engine)}


def pacing_reports(engine: Engine) -> list[dict[str, Any]]:
    """What the software pacer did on each TX queue it sent from (setRate without a hardware
    limiter, sendWithDelay, rate limiter tasks): achieved rate and precision."""
    out = []
    for port in engine.ports:
        for q in range(port.tx_queues):
            rep = _dpdk.pacer_report(port.dpdk_id, q)
            if rep is not None:
                out.append({"port": port.id, "queue": q, **rep})
    return out


def pacing_line(rep: dict[str, Any]) -> str:
    """One line per paced queue, printed with the summary: every rate-controlled run says
    how precise it was."""
    text = (
        f"Port {rep['port']} tx queue {rep['queue']} paced in software: "
        f"{rep['mpps']:.6g} Mpps ({rep['mbit']:.6g} Mbit/s) over {rep['frames']:,} frames; "
        f"{rep['gaps_within_256ns']:.2f} % of gaps within +-256 ns of their target, "
        f"{rep['late_256ns']:.2f} % of frames more than 256 ns behind schedule; "
        f"the sending thread lost {rep['thread_lost']:.2f} % of the time to preemption"
    )
    if rep.get("made_up", 0.0) > 0:
        # Poisson pacing keeps its rate by taking a stall's time from later long gaps: the
        # share says how far the gaps' distribution had to bend (docs/timing.md)
        text += f", {rep['made_up']:.2f} % made up from later drawn gaps"
    return info_line(text, color=False)
