"""Soak run (not a test): the default job at full rate for a long time, with the
child's memory and rate sampled throughout.

    python benchmarks/soak.py                      # 600 s, udp-load across the cable
    python benchmarks/soak.py --time 120 --every 5 --csv soak.csv

Prints one line per sample (seconds, RSS, anonymous RSS, TX Mpps from the
script's own counter lines) and a verdict: RSS growth from the first sample
after the warm-up to the end, and the spread of the rate. The target is
growth < 1 % over 10 minutes with a stable rate.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TX_LINE = re.compile(r"\] TX: ([0-9.]+) Mpps")


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, anonymous RSS) of a process in KiB, from /proc/PID/status."""
    rss = anon = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    return rss, anon


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=600, help="seconds to run (default 600)")
    ap.add_argument("--every", type=float, default=10, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=30, help="seconds before the baseline")
    ap.add_argument("--csv", help="also write the samples to this CSV file")
    ap.add_argument(
        "script",
        nargs="*",
        default=["lua_scripts/udp-load.lua", "0", "1"],
        help="script and arguments (default: the default job, udp-load.lua 0 1)",
    )
    args = ap.parse_args()

    cmd = [sys.executable, "-m", "moonpy", "--plain", "--no-color", *args.script]
    cmd += ["--time", str(int(args.time))]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env
    )
    rates: list[float] = []
    tail: list[str] = []

    def read_output() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            del tail[:-20]
            m = TX_LINE.search(line)
            if m and "StdDev" not in line:
                rates.append(float(m.group(1)))

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    start = time.monotonic()
    samples: list[tuple[float, int, int, float]] = []
    print(f"{'s':>6} {'RSS KiB':>9} {'anon KiB':>9} {'TX Mpps':>8}", flush=True)
    while proc.poll() is None:
        time.sleep(args.every)
        try:
            rss, anon = memory_kib(proc.pid)
        except (OSError, ValueError):
            break
        rate = statistics.median(rates[-int(args.every) :]) if rates else 0.0
        t = time.monotonic() - start
        samples.append((t, rss, anon, rate))
        print(f"{t:6.0f} {rss:9d} {anon:9d} {rate:8.2f}", flush=True)
    proc.wait()
    reader.join(timeout=5)
    if proc.returncode != 0:
        print(f"moonpy exited {proc.returncode}:\n{''.join(tail)}", file=sys.stderr)
        return 1
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("seconds,rss_kib,anon_kib,tx_mpps\n")
            for s in samples:
                f.write(f"{s[0]:.1f},{s[1]},{s[2]},{s[3]:.3f}\n")
    steady = [s for s in samples if s[0] >= args.warmup and s[0] <= args.time - 1]
    if len(steady) < 2:
        print("too few samples after the warm-up", file=sys.stderr)
        return 1
    first, last = steady[0], steady[-1]
    growth = (last[1] - first[1]) / first[1] * 100
    steady_rates = [s[3] for s in steady if s[3] > 0]
    print(
        f"RSS {first[1]} KiB at {first[0]:.0f} s -> {last[1]} KiB at {last[0]:.0f} s: "
        f"{growth:+.2f} % (anonymous {last[2] - first[2]:+d} KiB); "
        f"max {max(s[1] for s in steady)} KiB"
    )
    if steady_rates:
        print(
            f"TX rate median {statistics.median(steady_rates):.2f} Mpps, "
            f"min {min(steady_rates):.2f}, max {max(steady_rates):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
