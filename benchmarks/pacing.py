"""Pacing quality of moonpy's software rate control on a virtual cable.

    python benchmarks/pacing.py                      # the table in docs/timing.md
    python benchmarks/pacing.py --time 5 --json out.json

Each run is one ``moonpy benchmarks/pacing.lua`` child: a task sends 60-byte frames from
port 0 of the default cable, paced by ``setRateMpps`` (CBR) or by ``sendWithDelay`` with
``poissonDelay`` gaps (Poisson); the pacer writes each frame's departure TSC into it right
before the frame's own single-frame TX burst. The master receives on port 1 and takes the
RX TSC right after each RX burst (frames of one burst share it). For each rate this prints
the achieved rate error and the share of inter-departure (TX) and inter-arrival (RX) gaps
within +-64/128/256/512 ns of the target - MoonGen's published table - and for Poisson a
Kolmogorov-Smirnov test of the departure gaps against the exponential distribution (and of
the schedule the pacer aimed at, which the pacer also writes into each frame). "sender lost"
is the pacer's own count of the time its thread did not run while waiting (preemption).
Poisson rows also test the gaps as the machine's TSC reads them (a VM's TSC may read in
steps: 10 ns on the dev VM), the time the schedule made up after stalls (a rate-keeping
Poisson schedule takes it from later gaps) and the least KS D any schedule that made up that
much can have (the distribution's; a sample adds its own deviation): where its p is well under
0.01, a pacer keeping the rate passes on that run's machine only by the luck of the draws.
Before the runs, a bare loop reading the clock on the sender's core measures how
much of it the machine takes (on a VM, the hypervisor's share); --kthreads-to keeps kernel
threads off the sender's core.

This is a benchmark, not a test: numbers depend on the machine and on what else runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TOLERANCES_NS = (64, 128, 256, 512)
QUIET_WAIT = 600.0  # seconds to wait for an idle machine before each run
ATTEMPTS = 3  # runs per row; the one whose sender lost the least time is kept
RECORD = np.dtype([("seq", "<u4"), ("pad", "<u4"), ("tx", "<u8"), ("rx", "<u8"), ("ideal", "<u8")])


def cpu_ticks() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def wait_quiet(max_wait: float, idle_pct: float = 95.0) -> float:
    """Wait (up to max_wait s) until the machine was idle_pct % idle for 2 s; returns it."""
    deadline = time.monotonic() + max_wait
    while True:
        i0, t0 = cpu_ticks()
        time.sleep(2)
        i1, t1 = cpu_ticks()
        idle = 100.0 * (i1 - i0) / max(t1 - t0, 1)
        if idle >= idle_pct or time.monotonic() >= deadline:
            return idle


Analyse = Callable[[dict, np.ndarray], dict]


MOONPY_ARGS: list[str] = []  # --moonpy


def run_child(
    mode: str, mpps: float, seconds: float, size: int, out: Path, analyse: Analyse
) -> dict:
    """ATTEMPTS runs of one row; the result (`analyse`) of the run whose sending thread lost
    the least time to preemption, with every run's result under "attempts"."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "moonpy", "--no-color", *MOONPY_ARGS, "benchmarks/pacing.lua"]
    cmd += ["--mode", mode, "--mpps", str(mpps), "--time", str(seconds)]
    cmd += ["--size", str(size), "--out", str(out)]
    best: dict | None = None
    attempts: list[dict] = []
    for _ in range(ATTEMPTS):
        wait_quiet(QUIET_WAIT)
        idle0, total0 = cpu_ticks()
        own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        idle1, total1 = cpu_ticks()
        own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
        meta = json.loads(line)
        # CPU time of everything else while the run lasted, in % of one CPU
        busy = (total1 - total0 - (idle1 - idle0)) / os.sysconf("SC_CLK_TCK")
        own = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
        wall = (total1 - total0) / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
        meta["others_pct"] = max(busy - own, 0.0) / max(wall, 1e-9) * 100
        result = analyse(meta, np.fromfile(out, dtype=RECORD))
        attempts.append(result)
        # the run whose sending thread lost the least time to preemption (the pacer's own
        # count): the machine's disturbance, not the pacer, varies between attempts
        if best is None or result["thread_lost_pct"] < best["thread_lost_pct"]:
            best = result
    assert best is not None
    return {**best, "attempts": attempts}


def neighbour_gaps(recs: np.ndarray, hz: float) -> tuple[np.ndarray, np.ndarray]:
    """TX and RX gaps (ns) between frames the receiver saw with consecutive departure numbers
    (a frame lost on the way is not a late one)."""
    seq = recs["seq"].astype(np.int64)
    ok = np.diff(seq) == 1
    tx = np.diff(recs["tx"].astype(np.int64))[ok] * 1e9 / hz
    rx = np.diff(recs["rx"].astype(np.int64))[ok] * 1e9 / hz
    return tx, rx


def shares(gaps: np.ndarray, target: float) -> list[float]:
    err = np.abs(gaps - target)
    return [float(np.mean(err <= t)) * 100 for t in TOLERANCES_NS]


def pacer_share(meta: dict, cycles: str) -> float:
    """One of the pacer's cycle counts as a share (%) of its run, first to last departure."""
    span = meta["pacer_last"] - meta["pacer_first"]
    return meta[cycles] / span * 100 if span > 0 else 0.0


def thread_lost(meta: dict) -> float:
    """Share of the run (%) the sending thread did not run while it waited for a departure
    (the pacer's own count: two of its TSC reads more than 1 us apart)."""
    return pacer_share(meta, "pacer_lost_cycles")


def made_up(meta: dict) -> float:
    """Share of the run (%) that frames late after a stall had the schedule take from later
    gaps (the pacer's own count; Poisson pacing keeps its rate that way)."""
    return pacer_share(meta, "pacer_owed_cycles")


def least_ks_d(share: float) -> float:
    """The least KS distance from Exp(mean) of gaps whose average is `share` (a fraction)
    of the mean shorter, whichever gaps give the time: D with D * (1 + ln(1/D)) = share.
    A distribution within D of F everywhere is shortest on average when it is F raised by D
    (F's top D quantile moved to 0), and that top quantile of Exp(1) averages 1 + ln(1/D)
    means. A schedule that keeps its rate after stalls made up `share` of the run is at
    least this far from the exponential, however it spreads that time (its distribution:
    a sample adds its own deviation, either way)."""
    if share <= 0:
        return 0.0
    if share >= 1:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if mid * (1 - math.log(mid)) < share:
            lo = mid
        else:
            hi = mid
    return hi


def timer_interrupts(cpu: int) -> int | None:
    """The kernel's local timer interrupts on `cpu` so far (/proc/interrupts, LOC)."""
    try:
        with open("/proc/interrupts") as f:
            cpus = f.readline().split()
            for line in f:
                words = line.split()
                if words and words[0] == "LOC:":
                    return int(words[1 + cpus.index(f"CPU{cpu}")])
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_floor(cpu: int, seconds: float = 2.0) -> dict:
    """Time a bare loop reading the clock on `cpu` did not run (two reads more than 1 us
    apart), like the pacer's own count: how much of a core the machine itself takes (on a
    VM the hypervisor's share), whatever runs on it. Measured in a child pinned there,
    with the kernel's timer interrupts on that CPU meanwhile: on the development VM most
    stalls over 10 us are its 250 Hz tick (docs/timing.md)."""
    code = (
        "import os, sys, time\n"
        f"os.sched_setaffinity(0, {{{cpu}}})\n"
        "clock = time.perf_counter_ns\n"
        f"t = clock(); end = t + {int(seconds * 1e9)}; lost = 0; stalls = 0; big = 0\n"
        "while t < end:\n"
        "    now = clock()\n"
        "    if now - t > 1000:\n"
        "        lost += now - t; stalls += 1; big += now - t > 10000\n"
        "    t = now\n"
        "print(lost, stalls, big)\n"
    )
    ticks = timer_interrupts(cpu)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ticks_after = timer_interrupts(cpu)
    lost, stalls, big = (int(v) for v in out.stdout.split())
    return {
        "cpu": cpu,
        "seconds": seconds,
        "lost_pct": lost / (seconds * 1e9) * 100,
        "stalls_per_s": stalls / seconds,
        "over_10us_per_s": big / seconds,
        "timer_interrupts_per_s": (
            (ticks_after - ticks) / seconds if ticks is not None and ticks_after else None
        ),
    }


def rate_error(meta: dict) -> float:
    """Achieved (pacer departures) against target rate, in percent."""
    secs = (meta["pacer_last"] - meta["pacer_first"]) / meta["hz"]
    achieved = (meta["pacer_frames"] - 1) / secs / 1e6
    return (achieved / meta["mpps"] - 1) * 100


def ks_pvalue(d: float, n: int) -> tuple[float, str]:
    """p-value of a one-sample KS statistic d over n samples, and what computed it."""
    try:
        from scipy import stats

        return float(stats.kstwo.sf(d, n)), f"scipy {stats.__name__}.kstwo"
    except ImportError:
        pass
    # asymptotic Kolmogorov distribution
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(max(p, 0.0), 1.0), "own KS statistic (asymptotic p)"


def ks_exponential(x: np.ndarray, mean: float) -> tuple[float, float, str]:
    """One-sample KS test of x against Exp(mean): statistic, p-value, implementation."""
    xs = np.sort(x)
    n = len(xs)
    cdf = 1 - np.exp(-np.maximum(xs, 0) / mean)
    d = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    p, impl = ks_pvalue(d, n)
    return d, p, impl


def clock_step(tsc: np.ndarray) -> int:
    """The TSC's resolution in cycles, seen in departure TSC differences: a VM may scale the
    host's counter so that it reads in steps (26 cycles = 10 ns on the dev VM), give or
    take one cycle of rounding. 1 when no step over 3 cycles fits 99 % of them."""
    d = np.diff(tsc.astype(np.int64))
    d = d[d > 0][:200_000]
    for q in range(64, 3, -1):
        m = d % q
        if np.mean(np.minimum(m, q - m) <= 1) > 0.99:
            return q
    return 1


def ks_exponential_clocked(
    gaps: np.ndarray, wire: float, mean: float, step: float
) -> tuple[float, float]:
    """KS test of departure gaps (ns) against wire + Exp(mean) as a clock that reads in
    steps of `step` ns measures it. A departure is the first clock reading at or after its
    due time, so a gap X after a departure that read r steps (0 <= r < 1, uniform) late
    reads as step * ceil(X / step - r): P(gap <= k steps) = integral over r of
    F(k * step + r * step). The gaps take only multiples of the step, so D is taken at
    those values; the p-value of the continuous KS distribution is conservative for a
    discrete one. (A plain KS test rejects even a perfect pacer once steps of the clock
    are a visible part of the mean gap: 10 ns steps at 500 kpps, 1,000,000 gaps.)"""
    k = np.round(gaps / step).astype(np.int64)
    vals, counts = np.unique(k, return_counts=True)
    fn = np.cumsum(counts) / len(gaps)
    r = (np.arange(1000) + 0.5) / 1000

    def cdf(steps: np.ndarray) -> np.ndarray:
        x = (steps[:, None] + r[None, :]) * step - wire
        return np.mean(np.where(x > 0, 1 - np.exp(-np.maximum(x, 0) / mean), 0.0), axis=1)

    f, f_below = cdf(vals), cdf(vals - 1)
    fn_below = np.concatenate([[0.0], fn[:-1]])
    d = float(max(np.max(np.abs(fn - f)), np.max(np.abs(fn_below - f_below))))
    return d, ks_pvalue(d, len(gaps))[0]


def move_kernel_threads(cpus: set[int]) -> list[tuple[int, str, set[int]]]:
    """Keep kernel threads off the sender's core for the runs, as isolcpus would: every
    kernel thread allowed outside `cpus` (and not bound to one CPU) is restricted to them.
    On the dev VM, DAMON's kdamond.0 takes its CPU for 1-4 ms about twice a second, more
    than the pacer can make up without squeezing gaps. Returns (pid, name, old affinity)
    for restore_kernel_threads; needs root."""
    moved = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        pid, ppid = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        if pid != 2 and ppid != 2:  # kthreadd and its children
            continue
        try:
            old = os.sched_getaffinity(pid)
            if len(old) < 2 or old <= cpus:
                continue
            os.sched_setaffinity(pid, cpus)
        except OSError:
            continue  # bound to its CPU (per-CPU threads)
        moved.append((pid, name, old))
    return moved


def restore_kernel_threads(moved: list[tuple[int, str, set[int]]]) -> None:
    for pid, _, old in moved:
        try:
            os.sched_setaffinity(pid, old)
        except OSError:
            pass  # the thread has gone


def machine_note() -> str:
    load = os.getloadavg()
    busy = []
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines()[:6]:
            pid, pcpu, comm = line.split(None, 2)
            # ps's %CPU is over a process's lifetime: this one has just started
            if int(pid) != os.getpid() and float(pcpu) >= 5:
                busy.append(f"{comm.strip()} {pcpu}%")
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; "
        f"busy at start: {', '.join(busy) or 'nothing above 5 %'}"
    )


def cbr_result(meta: dict, recs: np.ndarray) -> dict:
    tx, rx = neighbour_gaps(recs, meta["hz"])
    target = 1e3 / meta["mpps"]
    return {
        "mode": meta["mode"],
        "mpps": meta["mpps"],
        "rate_error_pct": rate_error(meta),
        "gaps": len(tx),
        "tx_within_pct": shares(tx, target),
        "rx_within_pct": shares(rx, target),
        "rx_same_burst_pct": float(np.mean(rx == 0)) * 100,
        "received_pct": meta["received"] / max(meta["sent"], 1) * 100,
        "others_pct": meta["others_pct"],
        "thread_lost_pct": thread_lost(meta),
    }


def poisson_result(meta: dict, recs: np.ndarray, size: int) -> dict:
    tx, _ = neighbour_gaps(recs, meta["hz"])
    wire = (size + 24) * 0.8  # ns at the cable's 10 Gbit/s
    mean = 1e3 / meta["mpps"] - wire  # exponential part of the inter-departure time
    d, p, impl = ks_exponential(tx - wire, mean)
    step_cycles = clock_step(recs["tx"])
    step = step_cycles * 1e9 / meta["hz"]
    cd, cp = ks_exponential_clocked(tx, wire, mean, step) if step_cycles > 1 else (d, p)
    # the same test on the schedule (the ideal departures the pacer aimed at): are the
    # drawn gaps exponential, apart from how well the thread kept to them?
    ok = np.diff(recs["seq"].astype(np.int64)) == 1
    sched = np.diff(recs["ideal"].astype(np.int64))[ok] * 1e9 / meta["hz"]
    sd, sp, _ = ks_exponential(sched - wire, mean)
    # how short a gap the sender could make in this run: the departure gaps where the draw
    # asked for less than 20 ns after the wire time (one turn of the pacer's loop bounds
    # them from below, and that turn varies with the machine's state: docs/timing.md)
    short = sched < wire + 20
    enough = np.count_nonzero(short) >= 20
    floor = float(np.median(tx[short])) if enough else float("nan")
    floor90 = float(np.percentile(tx[short], 90)) if enough else float("nan")
    share = made_up(meta)
    least = least_ks_d(share / 100)
    return {
        "mode": meta["mode"],
        "mpps": meta["mpps"],
        "rate_error_pct": rate_error(meta),
        "gaps": len(tx),
        "mean_gap_ns": float(np.mean(tx)),
        "expected_gap_ns": mean + wire,
        "ks_d": d,
        "ks_p": p,
        "ks_impl": impl,
        "clock_step_ns": step,
        "clock_ks_d": cd,
        "clock_ks_p": cp,
        "schedule_ks_d": sd,
        "schedule_ks_p": sp,
        "short_gap_ns": floor,
        "short_gap_p90_ns": floor90,
        "made_up_pct": share,
        "least_ks_d": least,
        "least_ks_p": ks_pvalue(least, len(tx))[0],
        "wire_ns": wire,
        "received_pct": meta["received"] / max(meta["sent"], 1) * 100,
        "others_pct": meta["others_pct"],
        "thread_lost_pct": thread_lost(meta),
    }


NAMES = {
    "cbr": "setRate",
    "limiter-cbr": 'limiter task "cbr"',
    "poisson": "sendWithDelay + poissonDelay",
    "limiter-poisson": 'limiter task "poisson"',
}
CBR_MODES = ("cbr", "limiter-cbr")


def print_tables(results: list[dict], cmd: str, note: str) -> None:
    print(f"command: {cmd}")
    print(f"machine: {note}")
    print()
    print(
        "| CBR | rate | rate error | gaps | measured at | "
        + " | ".join(f"+-{t} ns" for t in TOLERANCES_NS)
        + " | sender lost |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if r["mode"] not in CBR_MODES:
            continue
        for side in ("tx", "rx"):
            w = r[f"{side}_within_pct"]
            label = "TX (departure TSC)" if side == "tx" else "RX (arrival TSC)"
            print(
                f"| {NAMES[r['mode']]} | {r['mpps'] * 1000:g} kpps | {r['rate_error_pct']:+.3f} % "
                f"| {r['gaps']} | {label} | "
                + " | ".join(f"{v:.2f} %" for v in w)
                + f" | {r['thread_lost_pct']:.2f} % |"
            )
    print()
    print(
        "| Poisson | mean rate | rate error | gaps | mean gap (expected) | KS D | KS p "
        "| as the TSC reads: KS D | KS p | schedule: KS D | KS p | made up | least D (p) "
        "| shortest gaps | sender lost |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if r["mode"] in CBR_MODES:
            continue
        print(
            f"| {NAMES[r['mode']]} | {r['mpps'] * 1000:g} kpps | "
            f"{r['rate_error_pct']:+.3f} % | {r['gaps']} | {r['mean_gap_ns']:.1f} ns "
            f"({r['expected_gap_ns']:.1f} ns) | {r['ks_d']:.5f} | {r['ks_p']:.3g} "
            f"| {r['clock_ks_d']:.5f} | {r['clock_ks_p']:.3g} "
            f"| {r['schedule_ks_d']:.5f} | {r['schedule_ks_p']:.3g} "
            f"| {r['made_up_pct']:.2f} % | {r['least_ks_d']:.5f} ({r['least_ks_p']:.2g}) "
            f"| {r['short_gap_ns']:.0f}/{r['short_gap_p90_ns']:.0f} ns "
            f"| {r['thread_lost_pct']:.2f} % |"
        )
    print()
    for r in results:
        name = NAMES[r["mode"]]
        if r["mode"] in CBR_MODES:
            extra = f", {r['rx_same_burst_pct']:.1f} % of RX gaps 0 (one RX burst)"
            runs = "; ".join(
                f"{a['thread_lost_pct']:.2f} %: {a['tx_within_pct'][2]:.2f} % within +-256 ns"
                for a in r["attempts"]
            )
        else:
            extra = (
                f", KS p by {r['ks_impl']}; the TSC reads in steps of "
                f"{r['clock_step_ns']:.2f} ns; made up = time late frames had the schedule "
                "take from later gaps (pacer_stats), least D = the least KS D any schedule "
                "that made up that much can have, and its p; shortest gaps = median/p90 "
                f"departure gap where the draw was under {r['wire_ns'] + 20:.0f} ns (wire "
                f"time {r['wire_ns']:.1f} ns)"
            )
            runs = "; ".join(
                f"{a['thread_lost_pct']:.2f} %: KS p {a['ks_p']:.2g} (as the TSC reads: "
                f"{a['clock_ks_p']:.2g}; least possible: {a['least_ks_p']:.2g}), "
                f"shortest gaps {a['short_gap_ns']:.0f}/{a['short_gap_p90_ns']:.0f} ns"
                for a in r["attempts"]
            )
        print(
            f"- {name} {r['mpps'] * 1000:g} kpps: {r['received_pct']:.1f} % of frames "
            f"received{extra}; other processes used {r['others_pct']:.1f} % of a CPU "
            f"during the run; the {len(r['attempts'])} runs (sender lost: result): {runs}"
        )


def main() -> int:
    global QUIET_WAIT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=2.0, help="seconds per run")
    ap.add_argument("--rates", default="0.1,0.5,1", help="CBR (setRate) rates in Mpps")
    ap.add_argument("--limiter-cbr", default="0.5,1", help="CBR (limiter task) in Mpps")
    ap.add_argument("--poisson", default="0.1,0.5", help="Poisson (sendWithDelay) in Mpps")
    ap.add_argument("--limiter", default="0.1,0.5", help="Poisson (limiter task) in Mpps")
    ap.add_argument("--size", type=int, default=60)
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=QUIET_WAIT,
        help="seconds to wait for an idle machine before each run",
    )
    ap.add_argument(
        "--kthreads-to",
        metavar="CPUS",
        help="keep kernel threads on these CPUs during the runs (e.g. 0, moonpy's master "
        "core), as isolcpus would for the sender's core; restored afterwards (root)",
    )
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument(
        "--moonpy",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the moonpy children, e.g. --moonpy=--eal=-d (repeatable)",
    )
    args = ap.parse_args()
    QUIET_WAIT = args.quiet_wait
    MOONPY_ARGS[:] = args.moonpy

    def rates(text: str) -> list[float]:
        return [float(r) for r in text.split(",") if r]

    note = machine_note()
    moved = []
    if args.kthreads_to:
        moved = move_kernel_threads({int(c) for c in args.kthreads_to.split(",")})
        names = sorted({name for _, name, _ in moved})
        note += f"; kernel threads kept on CPU {args.kthreads_to}: {', '.join(names) or 'none'}"
    results = []
    try:
        cpus = sorted(os.sched_getaffinity(0))
        floor = machine_floor(cpus[1] if len(cpus) > 1 else cpus[0])
        note += (
            f"; a bare clock-reading loop on CPU {floor['cpu']} (the sender's) lost "
            f"{floor['lost_pct']:.2f} % of {floor['seconds']:g} s ({floor['stalls_per_s']:.0f} "
            f"stalls over 1 us a second, {floor['over_10us_per_s']:.0f} over 10 us"
        )
        ticks = floor["timer_interrupts_per_s"]
        if ticks is not None:
            note += f"; the kernel's timer interrupts there: {ticks:.0f} a second"
        note += ")"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run.bin"
            for mode, text in (("cbr", args.rates), ("limiter-cbr", args.limiter_cbr)):
                for mpps in rates(text):
                    results.append(run_child(mode, mpps, args.time, args.size, out, cbr_result))
            for mode, text in (("poisson", args.poisson), ("limiter-poisson", args.limiter)):
                for mpps in rates(text):

                    def analyse(meta: dict, recs: np.ndarray) -> dict:
                        return poisson_result(meta, recs, args.size)

                    results.append(run_child(mode, mpps, args.time, args.size, out, analyse))
    finally:
        restore_kernel_threads(moved)
    cmd = " ".join(["python benchmarks/pacing.py", *sys.argv[1:]])
    print_tables(results, cmd, note)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": note, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
