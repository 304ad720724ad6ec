"""`moonpy replay` and `moonpy dump`: pcap files in and out of ports.

    moonpy [moonpy options] replay FILE.pcap --port 0 [--speed X | --rate MBIT] [--loop N]
    moonpy [moonpy options] dump --port 1 -w out.pcap [--filter EXPR] [--snaplen N] ...

Replay preloads the whole file into C memory and sends it from a C loop (one copy
into a fresh mbuf per frame): as fast as possible by default, at the file's own
timing with --speed 1 (or faster/slower), or paced at a fixed rate. Dump receives
in bursts and writes pcap records with nanosecond timestamps from the TSC.
"""

from __future__ import annotations

import argparse
import array
import math
import os
import sys
import threading
import time

from moonpy import _dpdk
from moonpy.app.bpf import compile_filter
from moonpy.app.pcapfile import PcapWriter, read_pcap
from moonpy.app.report import report_leaks
from moonpy.core.config import Config, check_writable
from moonpy.core.engine import Engine
from moonpy.errors import ConfigError


def replay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moonpy replay", description="Send the frames of a pcap file from a port."
    )
    p.add_argument("file", help="pcap file (µs or ns; Ethernet or raw IP)")
    p.add_argument("--port", type=int, default=0, help="port to send from (default 0)")
    timing = p.add_mutually_exclusive_group()
    timing.add_argument(
        "--speed",
        type=float,
        default=None,
        help="follow the file's timing, sped up by this factor (1 = as "
        "captured); default: as fast as possible",
    )
    timing.add_argument(
        "--rate",
        type=float,
        default=None,
        help="fixed rate in Mbit/s (frame + CRC), paced in software",
    )
    p.add_argument("--loop", type=int, default=1, help="times to replay the file (0: forever)")
    p.add_argument("--time", type=float, default=0.0, help="stop after this many seconds")
    return p


def dump_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moonpy dump", description="Capture frames received on a port to pcap."
    )
    p.add_argument("--port", type=int, default=0, help="port to receive on (default 0)")
    p.add_argument("-w", "--write", metavar="FILE", required=True, help="pcap file to write")
    p.add_argument("--filter", default="", help="BPF-style filter, e.g. 'udp and port 319'")
    p.add_argument("--snaplen", type=int, default=262144, help="bytes kept per frame")
    p.add_argument("--count", type=int, default=0, help="stop after this many frames")
    p.add_argument("--time", type=float, default=0.0, help="stop after this many seconds")
    p.add_argument(
        "--ring",
        type=int,
        default=None,
        metavar="N",
        help="ring buffer of N files FILE.0 .. FILE.N-1 (with --ring-mb)",
    )
    p.add_argument("--ring-mb", type=float, default=100.0, help="size of each ring file (MB)")
    return p


def _number(name: str, value: float | None, low: float, *, above: bool = False) -> None:
    """A given option must be a finite number >= low (> low with ``above``)."""
    if value is None:
        return
    bad = not math.isfinite(value) or value < low or (above and value == low)
    if bad:
        rel = ">" if above else ">="
        raise ConfigError(f"{name} {value:g}: must be a number {rel} {low:g}")


def check_replay_args(args: argparse.Namespace) -> None:
    _number("--port", args.port, 0)
    _number("--speed", args.speed, 0, above=True)
    _number("--rate", args.rate, 0, above=True)
    _number("--loop", args.loop, 0)
    _number("--time", args.time, 0)
    args.speed = args.speed or 0.0
    args.rate = args.rate or 0.0


def check_dump_args(args: argparse.Namespace) -> None:
    _number("--port", args.port, 0)
    _number("--count", args.count, 0)
    _number("--time", args.time, 0)
    _number("--ring", args.ring, 1)
    _number("--ring-mb", args.ring_mb, 0, above=True)
    if not 1 <= args.snaplen <= 262144:
        raise ConfigError(f"--snaplen {args.snaplen}: must be 1 to 262144 bytes per frame")
    args.ring = args.ring or 0
    folder = os.path.dirname(args.write) or "."
    if os.path.isdir(args.write):
        raise ConfigError(f"-w {args.write}: is a directory; give a file name")
    if not os.path.isdir(folder):
        raise ConfigError(f"-w {args.write}: directory '{folder}' does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"-w {args.write}: directory '{folder}' is not writable")
    check_writable("-w", args.write)


def load_frames(path: str) -> tuple[bytes, array.array, array.array, list[float]]:
    records = read_pcap(path, partial=True)
    empty = sum(1 for r in records if not r.data)
    if empty:
        # a NIC cannot send a 0-byte frame: such records (seen in broken captures) are left out
        print(
            f"[WARN]  {path}: {empty} zero-length record(s) skipped (nothing to send)",
            file=sys.stderr,
            flush=True,
        )
        records = [r for r in records if r.data]
    if not records:
        raise ConfigError(f"pcap file '{path}' holds no frames")
    blob = bytearray()
    offsets, lengths, stamps = array.array("Q"), array.array("I"), []
    for r in records:
        offsets.append(len(blob))
        lengths.append(len(r.data))
        blob += r.data
        stamps.append(r.timestamp)
    return bytes(blob), offsets, lengths, stamps


def run_replay(engine: Engine, args: argparse.Namespace) -> int:
    blob, offsets, lengths, stamps = load_frames(args.file)
    port, _ = engine.configure_port(args.port)
    biggest = max(lengths)
    pool = _dpdk.create_mempool(n=4095, buf_size=max(2048, biggest))
    departures = None
    if args.speed > 0:
        departures = departure_times(stamps, args.speed, _dpdk.tsc_hz())
    if args.rate > 0:
        _dpdk.set_queue_rate(port.dpdk_id, 0, mbit=args.rate)
    if args.time > 0:
        _dpdk.set_runtime(args.time)
    # the sending loop runs in this thread: give it a core of its own (the EAL put the
    # main thread on the first core, which other work shares)
    os.sched_setaffinity(0, {engine.cores[-1]})
    progress = Progress(engine, port.id, len(lengths) * args.loop if args.loop else 0)
    progress.start()
    try:
        sent, secs, late_mean, late_max = _dpdk.replay_frames(
            port.dpdk_id, 0, pool, blob, offsets, lengths, departures, args.loop
        )
    finally:
        progress.stop()
    mpps = sent / secs / 1e6 if secs > 0 else 0.0
    print(
        f"replayed {sent} frames of {len(lengths)} in {args.file} from port {args.port} in "
        f"{secs:.3f} s ({mpps:.3f} Mpps)"
    )
    if departures is not None:
        print(
            f"file timing: frames left {late_mean:.0f} ns late on average, {late_max:.0f} ns "
            "at most (TSC at the TX burst against the due time)"
        )
    return 0


def departure_times(stamps: list[float], speed: float, hz: float) -> array.array:
    """TSC offsets from the first frame at which each frame is due. Real captures have
    timestamps that go backwards (clock steps, merged files): such a frame is due when
    the one before it is (sent back-to-back), and a warning says how many there were."""
    out = array.array("Q")
    due = 0
    back = 0
    for t in stamps:
        offset = int((t - stamps[0]) / speed * hz)
        if offset < due:
            back += 1
            offset = due
        due = offset
        out.append(offset)
    if back:
        print(
            f"[WARN]  {back} frame(s) have a timestamp before the previous frame's: "
            "sent right after it",
            file=sys.stderr,
            flush=True,
        )
    return out


class Progress:
    """A line on stderr each second while the C loop replays: frames sent so far (and
    the share of the total when it is known). Reads the port's counters only."""

    def __init__(self, engine: Engine, port: int, total: int, interval: float = 1.0) -> None:
        self.engine, self.port, self.total, self.interval = engine, port, total, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="moonpy-progress", daemon=True)
        self._base = engine.counters(port).opackets

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            sent = self.engine.counters(self.port).opackets - self._base
            share = f" ({100.0 * sent / self.total:.1f} %)" if self.total else ""
            print(
                f"[INFO]  replay: {sent} frames sent{share} after {time.monotonic() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class RingWriter:
    """One pcap file, or a ring of N files rotated at a size limit."""

    def __init__(self, path: str, snaplen: int, ring: int, ring_mb: float) -> None:
        self.path, self.snaplen, self.ring = path, snaplen, ring
        self.limit = int(ring_mb * 1e6)
        self.index = 0
        self.total = 0
        self.writer = PcapWriter(self._name(), snaplen, nanoseconds=True)

    def _name(self) -> str:
        return f"{self.path}.{self.index % self.ring}" if self.ring else self.path

    def write(self, ts: float, data: bytes) -> None:
        if self.ring and self.writer.bytes >= self.limit:
            self.writer.close()
            self.index += 1
            self.writer = PcapWriter(self._name(), self.snaplen, nanoseconds=True)
        self.writer.write(ts, data)
        self.total += 1

    def close(self) -> None:
        self.writer.close()


def run_dump(engine: Engine, args: argparse.Namespace) -> int:
    match = compile_filter(args.filter) if args.filter else None
    port, _ = engine.configure_port(args.port)
    out = RingWriter(args.write, args.snaplen, args.ring, args.ring_mb)
    hz = _dpdk.tsc_hz()
    wall0, tsc0 = time.time(), _dpdk.rdtsc()
    if args.time > 0:
        _dpdk.set_runtime(args.time)
    seen = 0
    try:
        while _dpdk.running() and not (args.count and out.total >= args.count):
            frames = _dpdk.recv_frames(port.dpdk_id, 0, 64)
            if not frames:
                time.sleep(0.0002)
                continue
            for data, tsc in frames:
                seen += 1
                if match is None or match(data):
                    out.write(wall0 + (tsc - tsc0) / hz, data)
                    if args.count and out.total >= args.count:
                        break
    finally:
        out.close()
    print(
        f"captured {out.total} of {seen} frames received on port {args.port} into "
        f"{args.write}{' ring' if args.ring else ''}"
    )
    return 0


def main(command: str, argv: list[str], cfg: Config) -> int:
    parser = replay_parser() if command == "replay" else dump_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        return int(e.code or 0)
    if command == "replay":
        check_replay_args(args)
        read_pcap(args.file, partial=True, warn=False)  # a bad file is reported before DPDK starts
    else:
        check_dump_args(args)
        if args.filter:
            compile_filter(args.filter)
    engine = Engine(cfg).start()
    _dpdk.install_signal_handlers()
    try:
        code = run_replay(engine, args) if command == "replay" else run_dump(engine, args)
    finally:
        leaks = engine.shutdown()
    sig = _dpdk.signal_received()
    return report_leaks(leaks, 128 + sig if sig else code)
