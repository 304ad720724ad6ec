"""What a run shows and records: the live dashboard (rich), the final summary,
and machine-readable results (JSON lines, CSV).

Everything here reads counters the C layer keeps (per-port device counters
through the engine) from its own thread: nothing in a TX path waits for it.
It never sends a packet. Lua's `print` writes to file descriptor 1 directly, so
while the dashboard is live, fd 1 is a pipe whose lines are shown above it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

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
    _first: dict[int, Counters] = field(default_factory=dict)
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
            self._first.setdefault(port.id, cur)
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

    def first(self, port: int) -> Counters | None:
        return self._first.get(port)


class ResultWriter:
    """``--output FILE``: JSON lines (``.jsonl``/``.json``) or MoonGen's CSV format."""

    CSV_HEADER = "Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes"

    def __init__(self, path: str, meta: dict[str, Any]) -> None:
        self.path = path
        self.csv = path.endswith(".csv")
        self.file: TextIO = open(path, "w")  # noqa: SIM115 - closed in close()
        if self.csv:
            self.file.write(self.CSV_HEADER + "\n")
        else:
            self._json({"type": "run", **meta})

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
                    self.file.write(
                        f"{now},Device: id={r.port},{d},{lua_number(mpps)},"
                        f"{lua_number(mbit)},{lua_number(wire)},{tot},{byt}\n"
                    )
            else:
                self._json({"type": "sample", "elapsed": round(elapsed, 6), **asdict(r)})
        self.file.flush()

    def summary(self, summary: dict[str, Any]) -> None:
        if not self.csv:
            self._json({"type": "summary", **summary})

    def close(self) -> None:
        self.file.close()


def lua_number(x: float) -> str:
    """Lua's tostring for numbers (%.14g), as MoonGen's CSV writes them."""
    if x != x:
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.14g}"


# ---- rendering ------------------------------------------------------------------


# numbers are never cut to "6,75…": where a table is wider than the terminal the
# header words wrap (no vertical rules: more room) and a number that still cannot fit
# folds onto a second line instead of losing digits
NUMBER_COLUMN: dict[str, Any] = {"overflow": "fold"}
COMPACT: dict[str, Any] = {
    "box": box.SIMPLE_HEAD,
    "padding": (0, 1),
    "collapse_padding": True,
    "pad_edge": False,
    "show_edge": False,
}


def port_table(
    ports: list[PortRates], rates_by_queue: dict[tuple[int, int], tuple[float, float]]
) -> Table:
    t = Table(title="ports", expand=False, title_justify="left", **COMPACT)
    for col in (
        "port",
        "kind",
        "TX\nMpps",
        "TX\nMbit/s",
        "TX\nwire",
        "RX\nMpps",
        "RX\nMbit/s",
        "RX\nwire",
        "TX\ntotal",
        "RX\ntotal",
        "missed",
        "errors",
    ):
        t.add_column(col, justify="left" if col == "kind" else "right", **NUMBER_COLUMN)
    for r in ports:
        t.add_row(
            str(r.port),
            r.kind,
            f"{r.tx_mpps:.2f}",
            f"{r.tx_mbit:.0f}",
            f"{r.tx_wire_mbit:.0f}",
            f"{r.rx_mpps:.2f}",
            f"{r.rx_mbit:.0f}",
            f"{r.rx_wire_mbit:.0f}",
            f"{r.tx_packets:,}",
            f"{r.rx_packets:,}",
            f"{r.missed:,}",
            f"{r.errors:,}",
        )
    return t


def render_dashboard(
    title: str,
    elapsed: float,
    time_left: float,
    ports: list[PortRates],
    tasks: list[tuple[str, int, str, str, int]],
    queue_rates: dict[tuple[int, int], tuple[float, float]],
    achieved: dict[tuple[int, int], float],
    counters: dict[str, tuple] | None = None,
    histograms: dict[str, tuple] | None = None,
    pacing: dict[tuple[int, int], dict[str, Any]] | None = None,
) -> Group:
    """The live view: header with time, port table, rate targets, task table. ``pacing``:
    the software pacer's own counts per queue (`pacer_report`), also for queues paced
    without a target rate (sendWithDelay, rate limiter tasks)."""
    head = Text.assemble((f"moonpy  {title}", "bold"), f"   elapsed {elapsed:6.1f} s")
    parts: list[Any] = [head]
    if time_left >= 0:
        total = elapsed + time_left
        parts.append(
            Group(
                ProgressBar(total=total, completed=elapsed, width=50),
                Text(f"{time_left:5.1f} s left"),
            )
        )
    parts.append(port_table(ports, queue_rates))
    pacing = pacing or {}
    if queue_rates or pacing:
        rt = Table(title="rate control (software pacing)", title_justify="left")
        for col in ("port", "queue", "target", "achieved", "gaps +-256 ns", "sender lost"):
            rt.add_column(col, justify="right")
        for port, q in sorted(set(queue_rates) | set(pacing)):
            rep = pacing.get((port, q))
            if (port, q) in queue_rates:
                mbit, mpps = queue_rates[(port, q)]
                target = f"{mbit:.0f} Mbit/s" if mbit else f"{mpps:.3f} Mpps"
                got = achieved.get((port, q), 0.0)
                done = f"{got:.0f} Mbit/s" if mbit else f"{got:.3f} Mpps"
            else:  # sendWithDelay or a rate limiter: per-frame gaps, no single target
                target, done = "per-frame gaps", f"{rep['mpps']:.3f} Mpps" if rep else ""
            rt.add_row(
                str(port),
                str(q),
                target,
                done,
                f"{rep['gaps_within_256ns']:.2f} %" if rep else "",
                f"{rep['thread_lost']:.2f} %" if rep else "",
            )
        parts.append(rt)
    if counters:
        ct = Table(title="script counters", title_justify="left")
        for col in ("counter", "Mpps", "Mbit/s", "total"):
            ct.add_column(col, justify="left" if col == "counter" else "right")
        for name, (mpps, mbit, total) in sorted(counters.items()):
            ct.add_row(name, f"{mpps:.2f}", f"{mbit:.0f}", f"{total:,}")
        parts.append(ct)
    if histograms:
        ht = Table(title="latency (live, ns)", title_justify="left")
        for col in ("histogram", "samples", "p50", "p90", "p99", "max", "distribution"):
            ht.add_column(col, justify="left" if col in ("histogram", "distribution") else "right")
        for name, (n, p50, p90, p99, pmax, lo, hi, counts) in sorted(histograms.items()):
            ht.add_row(
                name,
                f"{n:,}",
                f"{p50:.0f}",
                f"{p90:.0f}",
                f"{p99:.0f}",
                f"{pmax:.0f}",
                f"{lo:.0f} {sparkline(counts)} {hi:.0f}",
            )
        parts.append(ht)
    if tasks:
        tt = Table(title="tasks", title_justify="left")
        for col in ("task", "core", "kind", "state", "packets"):
            tt.add_column(col, justify="right" if col == "packets" else "left")
        for name, core, kind, state, packets in tasks:
            style = {"running": "green", "failed": "bold red"}.get(state, "")
            tt.add_row(name, str(core), kind, Text(state, style=style), f"{packets:,}")
        parts.append(tt)
    return Group(*parts)


def print_error(message: str, plain: bool) -> None:
    """moonpy's own one-line errors: highlighted on a terminal, plain otherwise."""
    if plain or not sys.stderr.isatty():
        print(f"moonpy: error: {message}", file=sys.stderr)
        return
    Console(stderr=True, highlight=False).print(
        Text.assemble(("moonpy: ", "bold"), ("error: ", "bold red"), message)
    )


def sparkline(counts: list[int]) -> str:
    """A small bar chart of bucket counts: one block character per bucket."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) if counts else 0
    if top <= 0:
        return " " * len(counts)
    return "".join(blocks[min(8, round(c * 8 / top))] for c in counts)


def summary_table(summary: dict[str, Any]) -> Table:
    t = Table(title="summary", title_justify="left", **COMPACT)
    for col in (
        "port",
        "kind",
        "TX\npackets",
        "TX\navg Mpps",
        "TX\npeak Mpps",
        "RX\npackets",
        "RX\navg Mpps",
        "RX\npeak Mpps",
        "missed",
        "loss",
    ):
        t.add_column(col, justify="left" if col == "kind" else "right", **NUMBER_COLUMN)
    for p in summary["ports"]:
        loss = "" if p.get("loss") is None else f"{p['loss'] * 100:.3f} %"
        t.add_row(
            str(p["port"]),
            p["kind"],
            f"{p['tx_packets']:,}",
            f"{p['tx_avg_mpps']:.2f}",
            f"{p['tx_peak_mpps']:.2f}",
            f"{p['rx_packets']:,}",
            f"{p['rx_avg_mpps']:.2f}",
            f"{p['rx_peak_mpps']:.2f}",
            f"{p['missed']:,}",
            loss,
        )
    return t


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
    line = (
        f"[INFO]  Port {rep['port']} tx queue {rep['queue']} paced in software: "
        f"{rep['mpps']:.6g} Mpps ({rep['mbit']:.6g} Mbit/s) over {rep['frames']:,} frames; "
        f"{rep['gaps_within_256ns']:.2f} % of gaps within +-256 ns of their target, "
        f"{rep['late_256ns']:.2f} % of frames more than 256 ns behind schedule; "
        f"the sending thread lost {rep['thread_lost']:.2f} % of the time to preemption"
    )
    if rep.get("made_up", 0.0) > 0:
        # Poisson pacing keeps its rate by taking a stall's time from later long gaps: the
        # share says how far the gaps' distribution had to bend (docs/timing.md)
        line += f", {rep['made_up']:.2f} % made up from later drawn gaps"
    return line


class FdCapture:
    """Routes file descriptor 1 through a pipe while the dashboard is live, so
    output written by C or Lua appears above the live area, not through it."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        sys.stdout.flush()
        self.saved = os.dup(1)
        r, w = os.pipe()
        os.dup2(w, 1)
        os.close(w)
        self._reader = os.fdopen(r, "r", errors="replace")
        self._thread = threading.Thread(target=self._pump, name="moonpy-stdout", daemon=True)
        self._thread.start()
        self.terminal: TextIO = os.fdopen(os.dup(self.saved), "w")

    def _pump(self) -> None:
        for line in self._reader:
            self.emit(line.rstrip("\n"))

    def close(self) -> None:
        sys.stdout.flush()
        os.dup2(self.saved, 1)  # closes the pipe's write end: the reader drains and ends
        os.close(self.saved)
        self._thread.join(timeout=2)


@dataclass
class RunConsole:
    """The console side of one run: live dashboard or plain MoonGen output, plus
    results files. ``start`` before the script, ``finish`` after it."""

    engine: Engine
    title: str
    live: bool
    output: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    tasks: Callable[[], list[tuple[str, int, str, str, int]]] = lambda: []
    queue_rates: Callable[[], dict[tuple[int, int], tuple[float, float]]] = dict
    live_counters: Callable[[], dict[str, tuple]] = dict
    live_histograms: Callable[[], dict[str, tuple]] = dict
    sampler: Sampler | None = None
    writer: ResultWriter | None = None
    _live: Live | None = None
    _capture: FdCapture | None = None
    _console: Console | None = None
    _started: float = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        if self.output:
            self.writer = ResultWriter(self.output, self.meta)
        interval = 0.25 if self.live else 1.0
        self.sampler = Sampler(
            self.engine, interval=interval, on_sample=self.writer.sample if self.writer else None
        ).start()
        if self.live:
            self._capture = FdCapture(self._log_line)
            self._console = Console(file=self._capture.terminal, force_terminal=True)
            self._live = Live(
                get_renderable=self._render,
                console=self._console,
                refresh_per_second=4,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def _log_line(self, line: str) -> None:
        if self._console is not None:
            self._console.print(Text.from_ansi(line))

    def _render(self) -> Group:
        assert self.sampler is not None
        elapsed = time.monotonic() - self._started
        ports = self.sampler.latest
        achieved: dict[tuple[int, int], float] = {}
        rates_by_queue = self.queue_rates()
        for (port, q), (mbit, _mpps) in rates_by_queue.items():
            for r in ports:
                if r.port == port:
                    achieved[(port, q)] = r.tx_mbit if mbit else r.tx_mpps
        return render_dashboard(
            self.title,
            elapsed,
            _dpdk.time_left(),
            ports,
            self.tasks(),
            rates_by_queue,
            achieved,
            self.live_counters(),
            self.live_histograms(),
            {(r["port"], r["queue"]): r for r in pacing_reports(self.engine)},
        )

    def finish(self, exit_code: int) -> dict[str, Any]:
        """Stop sampling, print the summary (and store it); returns the summary."""
        assert self.sampler is not None
        self.sampler.sample()
        self.sampler.stop()
        elapsed = time.monotonic() - self._started
        summary = build_summary(self.engine, self.sampler, elapsed)
        summary["exit_code"] = exit_code
        # the last live sample of each histogram (tasks report while they run)
        summary["latency"] = {
            name: {
                "samples": h[0],
                "p50_ns": h[1],
                "p90_ns": h[2],
                "p99_ns": h[3],
                "max_ns": h[4],
                "timestamps": "software (TSC)",
            }
            for name, h in self.live_histograms().items()
        }
        from moonpy import streams  # per-stream statistics (docs/streams.md)

        summary["streams"] = streams.summary()
        if self._live is not None:
            self._live.stop()
        if self._capture is not None:
            self._capture.close()
            self._capture.terminal.flush()
        for line in streams.summary_lines(summary["streams"]):
            if self.live and self._console is not None:
                self._console.print(Text(line))
            else:
                print(line, flush=True)
        for rep in summary["pacing"]:
            if self.live and self._console is not None:
                self._console.print(Text(pacing_line(rep)))
            else:
                print(pacing_line(rep), flush=True)
        if self.live and self._console is not None and summary["ports"]:
            self._console.print(summary_table(summary))
            for name, h in summary["latency"].items():
                self._console.print(
                    f"latency {name}: {h['samples']:,} samples, p50 {h['p50_ns']:.0f} ns, "
                    f"p90 {h['p90_ns']:.0f} ns, p99 {h['p99_ns']:.0f} ns, max {h['max_ns']:.0f} ns "
                    f"({h['timestamps']} timestamps)"
                )
            self._capture.terminal.flush() if self._capture else None
        if self.writer:
            self.writer.summary(summary)
            self.writer.close()
        return summary
