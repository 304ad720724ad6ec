"""Per-stream statistics (TRex-style flow stats): a 16-byte signature in each frame's payload
(magic, stream id, sequence number, TX TSC) written at TX and counted at RX by one C call per
burst (csrc/mp_streams.c). Lua uses the same C functions through the fast-path table
(`require "streams"`); a set made in Python or Lua is shared by id. docs/streams.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from moonpy import _dpdk
from moonpy.memory import BufArray, Mempool

SIGNATURE_OFFSET = 42  # the payload of an Ethernet/IPv4/UDP frame; 16 bytes fit a 64 B frame
SIGNATURE_LEN = 16
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 99.99)


@dataclass
class StreamResult:
    """One stream's counts at one moment (latency in ns)."""

    stream: int
    tx_pkts: int
    tx_bytes: int
    rx_pkts: int
    rx_bytes: int
    lost: int
    loss_ratio: float
    out_of_order: int
    duplicates: int
    late: int
    lat_min_ns: float
    lat_avg_ns: float
    lat_max_ns: float
    lat_stdev_ns: float
    jitter_ns: float
    percentiles: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SendStats:
    """What one ``StreamSet.send`` did: frames sent, from the TSC before the first frame to
    the one after the last left (``seconds``), and how often the pool was empty (frames
    still in flight: the receiver had not freed them yet)."""

    sent: int
    seconds: float
    pool_empty: int

    @property
    def rate(self) -> float:
        """Departures per second: n frames leave over n - 1 gaps."""
        return (self.sent - 1) / self.seconds if self.sent > 1 and self.seconds > 0 else 0.0


@dataclass
class RecvStats:
    """What one ``StreamSet.receive`` did: frames received, of them with a signature of the
    set, and the time its loop ran and, of that, did not run (``preempted``: two passes
    more than 10 us apart; frames waited in the ring meanwhile and their latency shows it)."""

    received: int
    counted: int
    preempted: float
    seconds: float

    @property
    def preempted_share(self) -> float:
        return self.preempted / self.seconds if self.seconds > 0 else 0.0


# Where latency's two ends come from (results, trials): the TX TSC written at stamping or,
# on a queue that stamps departures, by the pacer right before the frame's tx_burst; the
# RX TSC read in C right after the rx_burst that returned the frame (one per burst).
TS_SOURCE_TX = "software TSC at stamping, or the paced departure (stamp_departures)"
TS_SOURCE_RX = "software TSC after rx_burst (C)"
TS_SOURCE_CALL = "software TSC of the count call"


class StreamSet:
    """``n`` streams counted together; ``StreamSet.attach(id)`` in another task."""

    def __init__(self, n: int = 1, *, offset: int = SIGNATURE_OFFSET, _id: int | None = None):
        self.id = _dpdk.streams_create(n) if _id is None else _id
        self.offset = offset
        self.n = _dpdk.streams_size(self.id)
        if self.n == 0:
            raise ValueError(f"no stream set {self.id}")

    @classmethod
    def attach(cls, set_id: int, offset: int = SIGNATURE_OFFSET) -> StreamSet:
        return cls(_id=set_id, offset=offset)

    def stamp(self, bufs: BufArray, stream: int) -> int:
        """Write stream ``stream``'s signature into every buffer of ``bufs`` (then send them)."""
        if not 0 <= stream < self.n:
            raise ValueError(f"stream {stream} is not in this set of {self.n} streams")
        return _dpdk.streams_tx(self.id, stream, bufs.raw, self.offset)  # type: ignore[no-any-return]

    def count(self, bufs: BufArray, rx_timestamps: bool = False) -> int:
        """Count received ``bufs`` (``rx_timestamps``: received with ``recv_with_timestamps``,
        the RX TSC comes from each buffer; otherwise it is the TSC of this call)."""
        return _dpdk.streams_rx(self.id, bufs.raw, self.offset, rx_timestamps)  # type: ignore[no-any-return]

    def send(
        self,
        queue: Any,
        pool: Mempool,
        count: int,
        size: int,
        *,
        stream: int = 0,
        streams: int = 1,
        timeout: float = 0.0,
        drain: float = 0.0,
    ) -> SendStats:
        """Send ``count`` stamped frames of ``size`` bytes (without CRC) from ``pool`` on TX
        ``queue`` in one C call (alloc, stamp, paced send: no Python per frame); frame i is
        stream ``stream + i % streams``. The queue's rate (``set_rate``) paces them. Gives
        up after ``timeout`` s (0: never); its end stops a ``receive`` on this set ``drain``
        s later (0: leaves it running)."""
        sent, t0, t1, empty = _dpdk.streams_send(
            self.id, stream, streams, pool.raw, queue._dpdk_port, queue.qid, size, count,
            self.offset, timeout, drain,
        )  # fmt: skip
        return SendStats(sent, (t1 - t0) / _dpdk.tsc_hz(), empty)

    def receive(self, queue: Any) -> RecvStats:
        """Receive on RX ``queue`` in one C call: each burst's RX TSC taken right after the
        rx_burst, counted and freed, until the run stops, a ``send(drain=...)`` on this set
        ended ``drain`` s ago, or ``stop_receive`` passed."""
        return RecvStats(*_dpdk.streams_recv(self.id, queue._dpdk_port, queue.qid, self.offset))

    def stop_receive(self, after: float = 0.0) -> None:
        """A ``receive`` on this set (in another task) returns ``after`` s from now."""
        _dpdk.streams_recv_stop(self.id, after)

    def ts_source(self) -> str:
        """Where the RX end of the latencies came from (TX end: ``TS_SOURCE_TX``)."""
        m = self.malformed()
        return TS_SOURCE_RX if m["counted"] and m["rx_tsc"] == m["counted"] else TS_SOURCE_CALL

    def stamp_departures(self, queue: Any) -> None:
        """Have the paced TX ``queue`` overwrite the TX TSC with each frame's departure time
        (the pacer holds frames of a burst until they are due)."""
        _dpdk.stamp_departures(queue._dpdk_port, queue.qid, self.offset + 8)

    def reset(self) -> None:
        _dpdk.streams_reset(self.id)

    def free(self) -> None:
        _dpdk.streams_free(self.id)

    def raw(self, stream: int) -> dict[str, Any]:
        return _dpdk.streams_read(self.id, stream)  # type: ignore[no-any-return]

    def malformed(self) -> dict[str, int]:
        """Frames without a usable signature: short, foreign (wrong magic), bad stream id;
        and ``counted`` (with one), ``rx_tsc`` (of them counted with their own RX TSC)."""
        return _dpdk.streams_read_set(self.id)  # type: ignore[no-any-return]

    def percentile(self, stream: int, pct: float) -> float:
        """Latency (ns) at ``pct`` percent (bounded relative error 0.4 %); -1 without samples."""
        return _dpdk.streams_percentile(self.id, stream, pct)  # type: ignore[no-any-return]

    def histogram(self, stream: int) -> list[tuple[int, int]]:
        """Non-empty buckets as (lowest latency in ns, count)."""
        return _dpdk.streams_hist(self.id, stream)  # type: ignore[no-any-return]

    def result(self, stream: int) -> StreamResult:
        c = self.raw(stream)
        n = c["lat_count"]
        avg = c["lat_sum_ns"] / n if n else 0.0
        var = c["lat_sum2_ns"] / n - avg * avg if n else 0.0
        unique = c["rx_pkts"] - c["duplicates"]
        lost = max(0, c["tx_pkts"] - unique)
        return StreamResult(
            stream=stream,
            tx_pkts=c["tx_pkts"],
            tx_bytes=c["tx_bytes"],
            rx_pkts=c["rx_pkts"],
            rx_bytes=c["rx_bytes"],
            lost=lost,
            loss_ratio=lost / c["tx_pkts"] if c["tx_pkts"] else 0.0,
            out_of_order=c["out_of_order"],
            duplicates=c["duplicates"],
            late=c["late"],
            lat_min_ns=float(c["lat_min_ns"]),
            lat_avg_ns=avg,
            lat_max_ns=float(c["lat_max_ns"]),
            lat_stdev_ns=math.sqrt(max(0.0, var)),
            jitter_ns=c["jitter_ns"],
            percentiles={f"p{p:g}": self.percentile(stream, p) for p in PERCENTILES} if n else {},
        )

    def results(self) -> list[StreamResult]:
        return [
            self.result(i)
            for i in range(self.n)
            if self.raw(i)["tx_pkts"] or self.raw(i)["rx_pkts"]
        ]

    def _hdr(self, stream: int) -> Any:
        from hdrh.histogram import HdrHistogram

        c = self.raw(stream)
        hdr = HdrHistogram(1, max(2, c["lat_max_ns"] * 2), 3)
        for value, count in self.histogram(stream):
            hdr.record_value(max(1, value), count)
        return hdr

    def hdr_log(self, stream: int) -> str:
        """The stream's latency histogram (ns) as one HdrHistogram encoded histogram
        (``HISTF...``, the payload of a log line; needs the ``hdrhistogram`` package:
        pip install moonpy[reports])."""
        return self._hdr(stream).encode().decode()  # type: ignore[no-any-return]

    def write_hdr_log(self, path: str, seconds: float = 0.0) -> list[int]:
        """An HdrHistogram log file (ns values, readable by HistogramLogProcessor and
        ``hdrh.log.HistogramLogReader``): one interval histogram per stream with samples,
        in stream order, each over ``seconds`` from 0; a comment line names the streams.
        Returns the streams written."""
        from hdrh.log import HistogramLogWriter

        written = [i for i in range(self.n) if self.raw(i)["lat_count"]]
        with open(path, "w") as f:
            w = HistogramLogWriter(f)
            w.output_comment(f"moonpy stream set {self.id}: latency in ns, streams {written}")
            w.output_log_format_version()  # (no StartTime line: hdrh 0.10's writer of it fails)
            w.output_legend()
            for i in written:
                w.output_interval_histogram(self._hdr(i), 0, seconds, 1.0)
        return written


MAX_SETS = 16


def summary() -> list[dict[str, Any]]:
    """Every live stream set's streams (those that sent or received) and malformed counts:
    the end-of-run summary and ``--output`` JSONL (moonpy/console/)."""
    out = []
    for sid in range(MAX_SETS):
        if _dpdk.streams_size(sid) == 0:
            continue
        ss = StreamSet.attach(sid)
        out.append(
            {
                "set": sid,
                "streams": [r.as_dict() for r in ss.results()],
                **ss.malformed(),
                "timestamps": {"tx": TS_SOURCE_TX, "rx": ss.ts_source()},
            }
        )
    return out


def summary_lines(sets: list[dict[str, Any]]) -> list[str]:
    lines = []
    for s in sets:
        for r in s["streams"]:
            p = r["percentiles"]
            lat = (
                f", latency p50 {p['p50']:.0f} ns p99 {p['p99']:.0f} ns max "
                f"{r['lat_max_ns']:.0f} ns, jitter {r['jitter_ns']:.0f} ns"
                if p
                else ""
            )
            lines.append(
                f"[Stream {s['set']}.{r['stream']}] TX {r['tx_pkts']} RX {r['rx_pkts']} lost "
                f"{r['lost']} ({r['loss_ratio']:.4%}) out of order {r['out_of_order']} "
                f"duplicates {r['duplicates']}{lat}"
            )
        bad = s["short_frames"] + s["foreign"] + s["bad_stream"]
        if bad:
            lines.append(
                f"[Stream {s['set']}] without a signature: {s['short_frames']} short, "
                f"{s['foreign']} foreign, {s['bad_stream']} with a stream id out of range"
            )
    return lines
