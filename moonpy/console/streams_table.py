"""Per-stream statistics on the console (docs/streams.md): the dashboard's live stream
table and the stream rows of ``--output`` (JSON lines records, or a CSV next to MoonGen's).

Everything here reads the C counters of the live stream sets (``streams.summary``) from
the console's own threads; nothing waits for it on a TX or RX path.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from rich import box
from rich.table import Table

from moonpy import streams

MAX_ROWS = 16  # live rows; the rest are summed up in one line


def fmt_ns(ns: float | None) -> str:
    """A latency in the unit that keeps it short: 850 ns, 12.3 us, 4.07 ms."""
    if ns is None or ns < 0:
        return ""
    if ns < 1e4:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} us"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


class StreamView:
    """The live stream table: counts, loss, reordering and latency per stream."""

    def table(self, sets: list[dict[str, Any]] | None = None) -> Table | None:
        sets = streams.summary() if sets is None else sets
        rows = [(s["set"], r) for s in sets for r in s["streams"]]
        if not rows:
            return None
        t = Table(
            title="streams", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
            pad_edge=False, show_edge=False,
        )  # fmt: skip
        # numbers fold onto a second line rather than lose digits (as the port table's)
        for col in ("stream", "TX", "RX", "lost", "loss", "reorder", "dup", "p50", "p99",
                    "max", "jitter"):  # fmt: skip
            t.add_column(col, justify="left" if col == "stream" else "right", overflow="fold")
        for sid, r in rows[:MAX_ROWS]:
            p = r["percentiles"]
            t.add_row(
                f"{sid}.{r['stream']}",
                f"{r['tx_pkts']:,}",
                f"{r['rx_pkts']:,}",
                f"{r['lost']:,}",
                f"{r['loss_ratio'] * 100:.3f} %",
                f"{r['out_of_order']:,}",
                f"{r['duplicates']:,}",
                fmt_ns(p.get("p50")),
                fmt_ns(p.get("p99")),
                fmt_ns(r["lat_max_ns"]) if p else "",
                fmt_ns(r["jitter_ns"]) if p else "",
            )
        if len(rows) > MAX_ROWS:
            rest = rows[MAX_ROWS:]
            t.add_row(
                f"+{len(rest)} more",
                f"{sum(r['tx_pkts'] for _, r in rest):,}",
                f"{sum(r['rx_pkts'] for _, r in rest):,}",
                f"{sum(r['lost'] for _, r in rest):,}",
            )
        bad = [
            f"set {s['set']}: {s['short_frames']:,} short, {s['foreign']:,} foreign, "
            f"{s['bad_stream']:,} bad stream id"
            for s in sets
            if s["short_frames"] + s["foreign"] + s["bad_stream"]
        ]
        src = sets[0]["timestamps"]
        t.caption = "; ".join(bad + [f"latency: RX {src['rx']}"])
        t.caption_justify = "left"
        return t


def streams_panel(_view: object = None) -> Table | None:
    """The live stream table as a dashboard panel (None without streams); the dashboard's
    state is not needed, the C counters are read here."""
    try:
        return StreamView().table()
    except ValueError:  # a set freed while it was read: it is gone next time
        return None


class StreamResults:
    """The stream rows of ``--output FILE``: with every sample, a ``{"type": "streams"}``
    record in FILE.jsonl, or rows in FILE-streams.csv next to MoonGen's FILE.csv (its
    columns stay MoonGen's); written only while stream sets exist."""

    CSV_HEADER = (
        "Time,Set,Stream,TxPackets,TxBytes,RxPackets,RxBytes,Lost,LossRatio,OutOfOrder,"
        "Duplicates,Late,LatMinNs,LatAvgNs,LatP50Ns,LatP99Ns,LatMaxNs,JitterNs"
    )

    def __init__(self, path: str, write_json: Any) -> None:
        self.csv_path = path[: -len(".csv")] + "-streams.csv" if path.endswith(".csv") else None
        self.write_json = write_json
        self.file: TextIO | None = None

    def sample(self, elapsed: float) -> None:
        try:
            sets = streams.summary()
        except ValueError:
            return
        if not sets:
            return
        if self.csv_path is None:
            self.write_json({"type": "streams", "elapsed": round(elapsed, 6), "sets": sets})
            return
        if self.file is None:
            self.file = open(self.csv_path, "w")  # noqa: SIM115 - closed in close()
            self.file.write(self.CSV_HEADER + "\n")
        now = int(time.time())
        for s in sets:
            for r in s["streams"]:
                p = r["percentiles"]
                self.file.write(
                    f"{now},{s['set']},{r['stream']},{r['tx_pkts']},{r['tx_bytes']},"
                    f"{r['rx_pkts']},{r['rx_bytes']},{r['lost']},{r['loss_ratio']:.6g},"
                    f"{r['out_of_order']},{r['duplicates']},{r['late']},"
                    f"{r['lat_min_ns']:.0f},{r['lat_avg_ns']:.1f},{p.get('p50', -1):.0f},"
                    f"{p.get('p99', -1):.0f},{r['lat_max_ns']:.0f},{r['jitter_ns']:.1f}\n"
                )
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
