"""What a run shows: the live dashboard (rich) and the final summary table.

Lua's `print` writes to file descriptor 1 directly, so while the dashboard is live, fd 1 is
a pipe whose lines are shown above it. Sampling and rates: ``sampler.py``; the summary and
result files: ``results.py``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from moonpy import _dpdk
from moonpy.console.results import ResultWriter, build_summary, pacing_line, pacing_reports
from moonpy.console.sampler import PortRates, Sampler
from moonpy.console.streams_table import StreamView, streams_panel
from moonpy.core.engine import Engine

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


@dataclass
class View:
    """What one frame of the live dashboard shows; each panel renders a part of it."""

    title: str
    elapsed: float
    time_left: float  # < 0: the run has no deadline
    ports: list[PortRates]
    tasks: list[tuple[str, int, str, str, int]]  # name, core, kind, state, packets
    queue_rates: dict[tuple[int, int], tuple[float, float]]  # (port, queue): (Mbit/s, Mpps)
    achieved: dict[tuple[int, int], float]
    counters: dict[str, tuple] = field(default_factory=dict)
    histograms: dict[str, tuple] = field(default_factory=dict)
    pacing: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


# a panel: one part of the dashboard, or None where it has nothing to show
Panel = Callable[[View], RenderableType | None]


def header_panel(v: View) -> RenderableType:
    head = Text.assemble((f"moonpy  {v.title}", "bold"), f"   elapsed {v.elapsed:6.1f} s")
    if v.time_left < 0:
        return head
    total = v.elapsed + v.time_left
    bar = ProgressBar(total=total, completed=v.elapsed, width=50)
    return Group(head, Group(bar, Text(f"{v.time_left:5.1f} s left")))


def ports_panel(v: View) -> RenderableType:
    return port_table(v.ports, v.queue_rates)


def pacing_panel(v: View) -> RenderableType | None:
    """Rate targets and the software pacer's own counts per queue (`pacer_report`), also
    for queues paced without a target rate (sendWithDelay, rate limiter tasks)."""
    if not v.queue_rates and not v.pacing:
        return None
    rt = Table(title="rate control (software pacing)", title_justify="left")
    for col in ("port", "queue", "target", "achieved", "gaps +-256 ns", "sender lost"):
        rt.add_column(col, justify="right")
    for port, q in sorted(set(v.queue_rates) | set(v.pacing)):
        rep = v.pacing.get((port, q))
        if (port, q) in v.queue_rates:
            mbit, mpps = v.queue_rates[(port, q)]
            target = f"{mbit:.0f} Mbit/s" if mbit else f"{mpps:.3f} Mpps"
            got = v.achieved.get((port, q), 0.0)
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
    return rt


def counters_panel(v: View) -> RenderableType | None:
    if not v.counters:
        return None
    ct = Table(title="script counters", title_justify="left")
    for col in ("counter", "Mpps", "Mbit/s", "total"):
        ct.add_column(col, justify="left" if col == "counter" else "right")
    for name, (mpps, mbit, total) in sorted(v.counters.items()):
        ct.add_row(name, f"{mpps:.2f}", f"{mbit:.0f}", f"{total:,}")
    return ct


def histograms_panel(v: View) -> RenderableType | None:
    if not v.histograms:
        return None
    ht = Table(title="latency (live, ns)", title_justify="left")
    for col in ("histogram", "samples", "p50", "p90", "p99", "max", "distribution"):
        ht.add_column(col, justify="left" if col in ("histogram", "distribution") else "right")
    for name, (n, p50, p90, p99, pmax, lo, hi, counts) in sorted(v.histograms.items()):
        ht.add_row(
            name,
            f"{n:,}",
            f"{p50:.0f}",
            f"{p90:.0f}",
            f"{p99:.0f}",
            f"{pmax:.0f}",
            f"{lo:.0f} {sparkline(counts)} {hi:.0f}",
        )
    return ht


def tasks_panel(v: View) -> RenderableType | None:
    if not v.tasks:
        return None
    tt = Table(title="tasks", title_justify="left")
    for col in ("task", "core", "kind", "state", "packets"):
        tt.add_column(col, justify="right" if col == "packets" else "left")
    for name, core, kind, state, packets in v.tasks:
        style = {"running": "green", "failed": "bold red"}.get(state, "")
        tt.add_row(name, str(core), kind, Text(state, style=style), f"{packets:,}")
    return tt


# the dashboard, top to bottom; a new panel (in its own module under moonpy/console/) is
# one more entry here, or passed to RunConsole as one of its ``panels``
PANELS: list[Panel] = [
    header_panel,
    ports_panel,
    pacing_panel,
    counters_panel,
    histograms_panel,
    tasks_panel,
    streams_panel,  # per-stream statistics (console/streams_table.py)
]


def compose(view: View, panels: Sequence[Panel] = ()) -> Group:
    """The live view: the standard panels, then ``panels``, each where it has something."""
    parts = [p(view) for p in (*PANELS, *panels)]
    return Group(*(r for r in parts if r is not None))


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
    panels: Sequence[Panel] = (),
) -> Group:
    """The live view: header with time, port table, rate targets, script counters, latency
    histograms, task table (``View`` says what each argument is), then ``panels``."""
    view = View(
        title,
        elapsed,
        time_left,
        ports,
        tasks,
        queue_rates,
        achieved,
        counters or {},
        histograms or {},
        pacing or {},
    )
    return compose(view, panels)


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
    panels: list[Panel] = field(default_factory=list)  # shown after the standard ones
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
            self.panels,
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
        if not self.live:  # live: the stream table below the summary table
            for line in streams.summary_lines(summary["streams"]):
                print(line, flush=True)
        for rep in summary["pacing"]:
            if self.live and self._console is not None:
                self._console.print(Text(pacing_line(rep)))
            else:
                print(pacing_line(rep), flush=True)
        if self.live and self._console is not None and summary["ports"]:
            self._console.print(summary_table(summary))
            streams_final = StreamView().table(summary["streams"])
            if streams_final is not None:
                self._console.print(streams_final)
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
