"""Benchmark (not a test): one core generating UDP with a random source address
and port in every packet, sent to a `null` port, in the same run:

* the Lua script, lua_scripts/udp-load.lua (MoonGen's API, LuaJIT per packet);
* the Python script examples/udp-load.py with the field engine (C per burst);
* the same Python script with --python-loop (a per-packet Python loop);
* dpdk-testpmd --forward-mode=txonly --txonly-multi-flow, when it is installed.

    python benchmarks/python_load.py                 # 3 rounds of 10 s each
    python benchmarks/python_load.py --time 5 --rounds 5 --markdown

Rounds interleave the variants so that a noisy machine hurts them alike; the
table shows the median (and range) of each variant's average rate, as the
final MoonGen counter line reports it (first and last second left out).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FINAL = re.compile(r"\] TX: ([0-9.]+) \(StdDev")


def moonpy_rate(args: list[str], seconds: float, cores: str) -> float:
    cmd = [sys.executable, "-m", "moonpy", "--no-color", "--port", "null", "--cores", cores]
    cmd += args + ["0", "0", "--time", str(seconds)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=seconds + 60)  # fmt: skip
    m = FINAL.search(ANSI.sub("", proc.stdout))
    if proc.returncode != 0 or m is None:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return float(m.group(1))


def testpmd_rate(seconds: float, cores: str) -> float | None:
    exe = shutil.which("dpdk-testpmd")
    if exe is None:
        return None
    cmd = [exe, "-l", cores, "--no-huge", "-m", "1024", "--no-pci", "--vdev", "net_null0",
           "--file-prefix", f"bench{os.getpid()}", "--log-level", "error", "--",
           "--forward-mode=txonly", "--txonly-multi-flow", "--nb-cores=1", "--txpkts=60",
           "--stats-period", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    rates = [int(x) / 1e6 for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    rates = rates[1:-1] if len(rates) > 2 else rates
    return statistics.mean(rates) if rates else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--time", type=float, default=10, help="seconds per run (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--cores", default="0,1", help="master core, then the worker (default 0,1)")
    ap.add_argument("--loop-time", type=float, default=5, help="seconds for the Python loop")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    opts = ap.parse_args()
    variants: dict[str, list[float]] = {
        "Lua (lua_scripts/udp-load.lua)": [],
        "Python, field engine (examples/udp-load.py)": [],
        "Python, per-packet loop (--python-loop)": [],
        "dpdk-testpmd txonly-multi-flow": [],
    }
    names = list(variants)
    for r in range(opts.rounds):
        variants[names[0]].append(moonpy_rate(["lua_scripts/udp-load.lua"], opts.time, opts.cores))
        variants[names[1]].append(moonpy_rate(["examples/udp-load.py"], opts.time, opts.cores))
        variants[names[2]].append(
            moonpy_rate(["examples/udp-load.py", "--python-loop"], opts.loop_time, opts.cores)
        )
        pmd = testpmd_rate(opts.time, opts.cores)
        if pmd is not None:
            variants[names[3]].append(pmd)
        print(f"round {r + 1}: " + ", ".join(f"{v[-1]:.2f}" for v in variants.values() if v),
              file=sys.stderr, flush=True)  # fmt: skip
    lua = statistics.median(variants[names[0]])
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    head = (
        f"{cpu}, {os.cpu_count()} CPUs; {opts.rounds} rounds x {opts.time:g} s; cores {opts.cores}"
    )
    rows = []
    for name, vals in variants.items():
        if not vals:
            continue
        med = statistics.median(vals)
        rows.append((name, med, min(vals), max(vals), med / lua))
    if opts.markdown:
        print(f"_{head}_\n")
        print("| variant | Mpps (median) | range | vs. Lua |")
        print("|---|---:|---:|---:|")
        for name, med, lo, hi, ratio in rows:
            print(f"| {name} | {med:.2f} | {lo:.2f}-{hi:.2f} | {ratio:.2f}x |")
    else:
        print(head)
        for name, med, lo, hi, ratio in rows:
            print(f"{name:46s} {med:7.2f} Mpps  ({lo:.2f}-{hi:.2f})  {ratio:5.2f}x Lua")
    return 0


if __name__ == "__main__":
    sys.exit(main())
