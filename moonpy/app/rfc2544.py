"""RFC 2544 throughput (binary search, or NDR and PDR with FD.io's MLRsearch), latency at the
rates found, frame-loss-rate curve and back-to-back bursts, between a TX and an RX port.

Every trial checks the generator itself: intended vs achieved TX rate (the pacer's own
departure times), frames it failed to send, gap precision; a trial where the generator
missed the rate is invalid, repeated, and never counted as loss of the device under test.

    moonpy rfc2544 [--tx 0] [--rx 1] [--sizes 64,128,...] [--mode mlr|binary] ...

`run(config)` is the library behind the command (usable from a Python script's master,
e.g. with a software device under test in another task). docs/rfc2544.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import moonpy
from moonpy import _dpdk, device, memory
from moonpy.proto import UDP4
from moonpy.streams import StreamSet

DEFAULT_SIZES = (64, 128, 256, 512, 1024, 1280, 1518)
WIRE_OVERHEAD = 20  # preamble + SFD + inter-frame gap, bytes per frame on the wire (CRC in size)


@dataclass
class Rfc2544Config:
    tx: int = 0
    rx: int = 1
    sizes: tuple[int, ...] = DEFAULT_SIZES
    mode: str = "mlr"  # mlr: NDR + PDR with MLRsearch; binary: RFC 2544 §26.1
    min_rate: float = 10_000.0  # frames/s
    max_rate: float = 1_000_000.0
    resolution: float = 0.02  # relative width of the final interval
    pdr: float = 0.005  # PDR loss ratio
    trial: float = 1.0  # initial trial duration (s)
    final_trial: float = 5.0  # final trial duration (s)
    search_max: float = 600.0  # s per frame size
    loss_curve: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0)  # of the max rate
    back_to_back: bool = True
    rate_tolerance: float = 0.01  # achieved TX rate may be this much below intended
    retries: int = 2  # repeats of an invalid trial
    drain: float = 0.05  # s after the last frame before counting stops
    output: str | None = None  # file stem: STEM.json, STEM.csv, STEM.html, STEM-*.png


@dataclass
class Trial:
    size: int
    intended_rate: float
    duration: float
    intended: int
    sent: int
    received: int
    loss: int
    loss_ratio: float
    achieved_rate: float
    unsent: int
    gap_within_256ns: float
    late_frames: int
    ts_source: str
    valid: bool
    reason: str = ""
    latency: dict[str, float] = field(default_factory=dict)


class Generator:
    """Trials between two ports: stamped frames on tx, counted per stream on rx."""

    def __init__(self, cfg: Rfc2544Config, progress: Any = None) -> None:
        self.cfg = cfg
        self.txq = device.get(cfg.tx).get_tx_queue(0)
        self.rxq = device.get(cfg.rx).get_rx_queue(0)
        self.streams = StreamSet(1)
        self.trials: list[Trial] = []
        self.progress = progress or (lambda line: print(line, flush=True))
        self.t_start = time.monotonic()
        self.pool = memory.create_mempool(
            n=4095, template=UDP4.build(length=max(cfg.sizes) - 4, eth_src=self.txq)
        )

    def one(self, size: int, rate: float, duration: float, burst: int = 0) -> Trial:
        """One trial of ``duration`` s at ``rate`` frames/s (burst > 0: that many frames
        back to back, unpaced)."""
        cfg = self.cfg
        ss = self.streams
        ss.reset()
        frame = size - 4  # without CRC
        intended = burst if burst else max(1, int(rate * duration))
        if burst:
            self.txq.set_rate(0)
        else:
            self.txq.set_rate_mpps(rate / 1e6, size=frame)
            ss.stamp_departures(self.txq)
        _STOP[0] = 0.0
        rx_task = moonpy.start_shared_task(_count, self.rxq, ss.id, cfg.drain)
        # the generator on its own worker core: the receiver shares the master's
        tx_task = moonpy.start_task(_send, self.txq, self.pool, ss.id, frame, intended, duration)
        sent, elapsed, before, after = tx_task.wait()
        _STOP[0] = time.monotonic()
        rx_task.wait()
        r = ss.result(0)
        received = r.rx_pkts - r.duplicates
        loss = max(0, sent - received)
        # the generator's own account: frames sent over the time the sending took (a paced
        # send returns once its frames are due, so this is the departure rate)
        achieved = sent / elapsed if elapsed > 0 else 0.0
        # the pacer's counts start again when the queue's rate changes: then `after` alone
        d = [a - b if a >= b else a for a, b in zip(after, before, strict=True)]
        gaps = d[4]
        within = d[5] / gaps if gaps else 1.0
        unsent = intended - sent
        valid, reason = True, ""
        if unsent > 0:
            valid, reason = False, f"generator sent {sent} of {intended} frames"
        elif not burst and achieved < rate * (1 - cfg.rate_tolerance):
            valid, reason = False, f"generator reached {achieved:.0f} of {rate:.0f} frames/s"
        t = Trial(
            size=size,
            intended_rate=rate,
            duration=duration,
            intended=intended,
            sent=sent,
            received=received,
            loss=loss,
            loss_ratio=loss / sent if sent else 1.0,
            achieved_rate=achieved,
            unsent=unsent,
            gap_within_256ns=within,
            late_frames=d[6],
            ts_source="tx: pacer departure TSC, rx: software RX TSC" if not burst else "tsc",
            valid=valid,
            reason=reason,
            latency={
                "min": r.lat_min_ns,
                "avg": r.lat_avg_ns,
                "max": r.lat_max_ns,
                "jitter": r.jitter_ns,
                **r.percentiles,
            },
        )
        self.trials.append(t)
        return t

    def trial(self, size: int, rate: float, duration: float) -> Trial:
        """A valid trial, repeated while the generator missed its rate (reported as such)."""
        for attempt in range(self.cfg.retries + 1):
            t = self.one(size, rate, duration)
            left = self.cfg.search_max * len(self.cfg.sizes) - (time.monotonic() - self.t_start)
            self.progress(
                f"[rfc2544] {size} B trial {len(self.trials)}: {rate:,.0f} fps for {duration:g} s: "
                f"loss {t.loss}/{t.sent} ({t.loss_ratio:.4%})"
                + ("" if t.valid else f" INVALID ({t.reason}), try {attempt + 1}")
                + f", time left <= {left:.0f} s"
            )
            if t.valid:
                return t
        return t


_STOP = [0.0]


def _send(txq: Any, pool: Any, set_id: int, frame: int, intended: int, duration: float):
    """The TX side of a trial: ``intended`` stamped frames (paced by the queue's rate)."""
    ss = StreamSet.attach(set_id)
    before = _dpdk.pacer_stats(txq._dpdk_port, 0)
    bufs = pool.buf_array(32)
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + duration * 1.5 + 1.0  # the generator cannot keep up: stop anyway
    while sent < intended and moonpy.running() and time.monotonic() < deadline:
        k = min(32, intended - sent)
        bufs.alloc(frame, k)
        ss.stamp(bufs, 0)
        sent += txq.send(bufs)
    _dpdk.pace_flush()  # the last paced frames leave before the clock stops
    elapsed = time.monotonic() - t0
    # a frame's departure is due one gap after the previous: n frames take n - 1 gaps
    if sent > 1 and duration > 0:
        elapsed = elapsed * (sent - 1) / sent
    return sent, elapsed, before, _dpdk.pacer_stats(txq._dpdk_port, 0)


def _count(rxq: Any, set_id: int, drain: float) -> int:
    """The RX side of a trial: count until ``drain`` s after the generator stopped."""
    ss = StreamSet.attach(set_id)
    bufs = memory.buf_array(63)
    n = 0
    while moonpy.running():
        if _STOP[0] and time.monotonic() > _STOP[0] + drain:
            break
        if rxq.recv_with_timestamps(bufs, 0.005):
            n += ss.count(bufs, rx_timestamps=True)
            bufs.free()
    return n


def binary_search(gen: Generator, size: int, loss_ratio: float = 0.0) -> dict[str, Any]:
    """RFC 2544 §26.1: the highest rate with at most ``loss_ratio`` loss, halving the
    interval until it is narrower than the resolution; the final trial at full length."""
    cfg = gen.cfg
    lo, hi = cfg.min_rate, cfg.max_rate
    t = gen.trial(size, hi, cfg.trial)
    if t.valid and t.loss_ratio <= loss_ratio:
        lo = hi
    while (hi - lo) / hi > cfg.resolution:
        mid = (lo + hi) / 2
        t = gen.trial(size, mid, cfg.trial)
        if t.valid and t.loss_ratio <= loss_ratio:
            lo = mid
        else:
            hi = mid
    final = gen.trial(size, lo, cfg.final_trial)
    while final.valid and final.loss_ratio > loss_ratio and lo > cfg.min_rate:
        lo = max(cfg.min_rate, lo * (1 - cfg.resolution))
        final = gen.trial(size, lo, cfg.final_trial)
    return {"rate": lo, "upper": hi, "final_trial": asdict(final)}


def mlr_search(gen: Generator, size: int) -> dict[str, Any]:
    """NDR (loss 0) and PDR (loss ratio cfg.pdr) with FD.io CSIT's MLRsearch; moonpy is its
    measurer."""
    from MLRsearch import (
        AbstractMeasurer,
        Config,
        MeasurementResult,
        MultipleLossRatioSearch,
        SearchGoal,
    )

    cfg = gen.cfg

    class Measurer(AbstractMeasurer):
        def measure(self, intended_duration: float, intended_load: float) -> MeasurementResult:
            t = gen.trial(size, intended_load, intended_duration)
            # frames the generator did not send are not offered: never device loss (a trial
            # still invalid after its repeats is in the report as such)
            return MeasurementResult(
                intended_duration=intended_duration,
                intended_load=intended_load,
                offered_count=t.sent,
                forwarding_count=min(t.received, t.sent),
                intended_count=t.intended,
            )

    goals = [
        SearchGoal(
            loss_ratio=lr,
            exceed_ratio=0.5,
            relative_width=cfg.resolution,
            initial_trial_duration=cfg.trial,
            final_trial_duration=cfg.final_trial,
            duration_sum=cfg.final_trial,
            preceding_targets=1,
        )
        for lr in (0.0, cfg.pdr)
    ]
    conf = Config()
    conf.goals = goals
    conf.min_load = cfg.min_rate
    conf.max_load = cfg.max_rate
    conf.search_duration_max = cfg.search_max
    conf.warmup_duration = None
    res = MultipleLossRatioSearch(config=conf).search(measurer=Measurer(), debug=lambda s: None)
    out: dict[str, Any] = {}
    for name, goal in zip(("ndr", "pdr"), goals, strict=True):
        r = res[goal]
        lb = r.relevant_lower_bound
        ub = r.relevant_upper_bound
        out[name] = {
            "loss_ratio": goal.loss_ratio,
            "rate": float(lb) if lb is not None else None,
            "upper": float(ub) if ub is not None else None,
            "conditional_throughput": float(r.conditional_throughput)
            if getattr(r, "conditional_throughput", None) is not None
            else None,
        }
    return out


def back_to_back(gen: Generator, size: int, max_burst: int = 4000) -> int:
    """RFC 2544 §26.4: the longest burst at line rate with no loss (bisection on length)."""
    lo, hi = 0, max_burst
    while hi - lo > max(1, hi // 50):
        mid = (lo + hi) // 2
        t = gen.one(size, 0, 0, burst=mid)
        if t.loss == 0:
            lo = mid
        else:
            hi = mid
    return lo


def run(cfg: Rfc2544Config, progress: Any = None) -> dict[str, Any]:
    gen = Generator(cfg, progress)
    results: list[dict[str, Any]] = []
    for size in cfg.sizes:
        row: dict[str, Any] = {"size": size}
        if cfg.mode == "binary":
            row["throughput"] = binary_search(gen, size)
            rates = {"ndr": row["throughput"]["rate"]}
        else:
            row.update(mlr_search(gen, size))
            rates = {k: row[k]["rate"] for k in ("ndr", "pdr") if row[k]["rate"]}
        row["latency"] = {}
        for name, rate in rates.items():
            t = gen.trial(size, rate, cfg.final_trial)
            row["latency"][name] = {"rate": rate, **t.latency}
        top = max(rates.values()) if rates else cfg.min_rate
        row["loss_curve"] = []
        for frac in cfg.loss_curve:
            rate = max(cfg.min_rate, cfg.max_rate * frac)
            t = gen.trial(size, rate, cfg.trial)
            row["loss_curve"].append({"rate": rate, "loss_ratio": t.loss_ratio, "valid": t.valid})
        if cfg.back_to_back:
            row["back_to_back"] = back_to_back(gen, size)
        row["max_rate_found"] = top
        results.append(row)
    invalid = [asdict(t) for t in gen.trials if not t.valid]
    report = {
        "config": asdict(cfg),
        "results": results,
        "trials": [asdict(t) for t in gen.trials],
        "invalid_trials": len(invalid),
    }
    gen.streams.free()
    if cfg.output:
        write_outputs(report, cfg.output)
    return report


def write_outputs(report: dict[str, Any], stem: str) -> list[str]:
    """STEM.json, STEM.csv and (with matplotlib) STEM-*.png plus a self-contained STEM.html."""
    files = [stem + ".json", stem + ".csv"]
    with open(files[0], "w") as f:
        json.dump(report, f, indent=1)
    with open(files[1], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["size", "ndr_fps", "pdr_fps", "ndr_mbit", "lat_p50_ns", "lat_p99_ns",
                    "lat_max_ns", "back_to_back"])  # fmt: skip
        for r in report["results"]:
            ndr = r["ndr"]["rate"] if "ndr" in r else r["throughput"]["rate"]
            pdr = r["pdr"]["rate"] if "pdr" in r else ""
            lat = r["latency"].get("ndr", {})
            w.writerow([r["size"], ndr, pdr, (ndr or 0) * (r["size"] + WIRE_OVERHEAD) * 8 / 1e6,
                        lat.get("p50", ""), lat.get("p99", ""), lat.get("max", ""),
                        r.get("back_to_back", "")])  # fmt: skip
    try:
        from moonpy.app.rfc2544_report import plots
    except ImportError:
        return files
    files += plots(report, stem)
    return files


def parse_args(argv: list[str]) -> Rfc2544Config:
    p = argparse.ArgumentParser(prog="moonpy rfc2544", description=__doc__.splitlines()[0])
    d = Rfc2544Config()
    p.add_argument("--tx", type=int, default=d.tx, help="TX port (default 0)")
    p.add_argument("--rx", type=int, default=d.rx, help="RX port (default 1)")
    p.add_argument("--sizes", default=",".join(map(str, d.sizes)), help="frame sizes (bytes)")
    p.add_argument("--mode", choices=("mlr", "binary"), default=d.mode)
    p.add_argument("--min-rate", type=float, default=d.min_rate, help="frames/s")
    p.add_argument("--max-rate", type=float, default=d.max_rate, help="frames/s")
    p.add_argument("--resolution", type=float, default=d.resolution, help="relative width")
    p.add_argument("--pdr", type=float, default=d.pdr, help="PDR loss ratio")
    p.add_argument("--trial", type=float, default=d.trial, help="initial trial seconds")
    p.add_argument("--final-trial", type=float, default=d.final_trial, help="final trial s")
    p.add_argument("--search-max", type=float, default=d.search_max, help="s per size")
    p.add_argument(
        "--rate-tolerance",
        type=float,
        default=d.rate_tolerance,
        help="a trial whose TX rate is this much below intended is invalid",
    )
    p.add_argument("--no-back-to-back", action="store_true")
    p.add_argument("--report", metavar="STEM", help="write STEM.json/.csv/.html/-*.png")
    a = p.parse_args(argv)
    try:
        sizes = tuple(int(s) for s in a.sizes.split(","))
    except ValueError:
        p.error(f"--sizes {a.sizes!r}: give frame sizes in bytes, e.g. 64,512,1518")
    if any(not 64 <= s <= 1518 for s in sizes):
        p.error(f"--sizes {a.sizes}: frame sizes go from 64 to 1518 bytes")
    if not 0 < a.min_rate < a.max_rate:
        p.error(f"--min-rate {a.min_rate} must be > 0 and below --max-rate {a.max_rate}")
    return Rfc2544Config(
        tx=a.tx, rx=a.rx, sizes=sizes, mode=a.mode, min_rate=a.min_rate, max_rate=a.max_rate,
        resolution=a.resolution, pdr=a.pdr, trial=a.trial, final_trial=a.final_trial,
        search_max=a.search_max, rate_tolerance=a.rate_tolerance,
        back_to_back=not a.no_back_to_back, output=a.report,
    )  # fmt: skip


# `moonpy rfc2544 ...` runs this file as a Python script (configure/master)
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs=argparse.REMAINDER)


def master(args: argparse.Namespace) -> None:
    words = args.words[1:] if args.words[:1] == ["--"] else args.words
    cfg = parse_args(words)
    for pid in {cfg.tx, cfg.rx}:
        device.config(port=pid)
    device.wait_for_links()
    report = run(cfg)
    for r in report["results"]:
        if "ndr" in r:
            print(f"[rfc2544] {r['size']} B: NDR {r['ndr']['rate']} fps, "
                  f"PDR({cfg.pdr:g}) {r['pdr']['rate']} fps, back-to-back "
                  f"{r.get('back_to_back')}")  # fmt: skip
        else:
            print(f"[rfc2544] {r['size']} B: throughput {r['throughput']['rate']:.0f} fps")
    print(f"[rfc2544] {report['invalid_trials']} invalid trials (generator missed the rate)")
    sys.stdout.flush()
