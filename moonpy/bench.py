"""`moonpy bench`: TX rates per core, side by side with C on the same DPDK.

Every measurement runs in its own process (DPDK starts once per process) on a
`null` port unless said otherwise: the Lua scenarios of lua_scripts/benchmark.lua,
the C reference loops of csrc/mp_bench.c doing the same work, and
`dpdk-testpmd --forward-mode=txonly` (with and without --txonly-multi-flow).
Each is run `--runs` times after a warm-up; the table shows min/median/max Mpps,
TSC cycles per packet and the ratio to its reference. Numbers on a shared 2-core
VM are noisy: compare ratios from the same run, never absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_LUA = ROOT / "lua_scripts" / "benchmark.lua"


@dataclass
class Result:
    name: str
    what: str
    mpps: list[float] = field(default_factory=list)
    cycles: list[float] = field(default_factory=list)
    rss_mib: float = 0.0
    reference: str | None = None
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.mpps) if self.mpps else 0.0


def run_child(cmd: list[str], timeout: float) -> tuple[str, float]:
    """Run a command; returns its stdout and its peak RSS in MiB."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode not in (0, 124, 130):  # 124: `timeout` ended testpmd on purpose
        raise RuntimeError(f"{' '.join(cmd[:6])}... failed ({proc.returncode}): {text[-400:]}")
    return text, usage.ru_maxrss / 1024


def lua_scenario(
    scenario: str,
    seconds: float,
    size: int,
    ports: str = "0",
    port_specs: tuple[str, ...] = ("null",),
) -> tuple[float, float, float]:
    cmd = [sys.executable, "-m", "moonpy", "--plain", "--no-color"]
    for spec in port_specs:
        cmd += ["--port", spec]
    cmd += [str(BENCH_LUA), scenario, "--time", str(seconds), "--size", str(size), "--ports", ports]
    text, rss = run_child(cmd, timeout=seconds + 60)
    results = [
        dict(kv.split("=") for kv in ln.split()[1:])
        for ln in text.splitlines()
        if ln.startswith("RESULT")
    ]
    if not results:
        raise RuntimeError(f"no RESULT line from {scenario}: {text[-400:]}")
    mpps = sum(float(r["mpps"]) for r in results)
    cycles = statistics.mean(float(r["cycles_per_pkt"]) for r in results)
    return mpps, cycles, rss


C_LOOP = """
import json, os
from moonpy import _dpdk
from moonpy.config import Config, PortSpec
from moonpy.engine import Engine
eng = Engine(Config(ports=[PortSpec(kind="null")])).start()
port, _ = eng.configure_port(0)
os.sched_setaffinity(0, {{eng.cores[-1]}})
pool = _dpdk.create_mempool(4095)
_dpdk.bench_c_loop("{scenario}", port.dpdk_id, 0, pool, {size}, 0.5)
pkts, secs = _dpdk.bench_c_loop("{scenario}", port.dpdk_id, 0, pool, {size}, {seconds})
print(json.dumps({{"pkts": pkts, "secs": secs, "hz": _dpdk.tsc_hz()}}))
eng.shutdown()
"""


def c_scenario(scenario: str, seconds: float, size: int) -> tuple[float, float, float]:
    code = C_LOOP.format(scenario=scenario, size=size, seconds=seconds)
    text, rss = run_child([sys.executable, "-c", code], timeout=seconds + 60)
    data = json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])
    mpps = data["pkts"] / data["secs"] / 1e6
    return mpps, data["secs"] * data["hz"] / max(1, data["pkts"]), rss


def testpmd(multi_flow: bool, seconds: float, size: int) -> tuple[float, float, float]:
    exe = shutil.which("dpdk-testpmd")
    if not exe:
        raise RuntimeError("dpdk-testpmd not found: apt-get install dpdk-dev")
    cores = sorted(os.sched_getaffinity(0))
    cmd = [
        "timeout",
        "-s",
        "INT",
        str(seconds + 4),
        exe,
        "--no-huge",
        "-m",
        "1024",
        "--no-pci",
        "--vdev=net_null0",
        "-l",
        f"{cores[0]},{cores[-1]}",
        "--file-prefix",
        f"mpbench{os.getpid()}",
        "--no-telemetry",
        "--log-level",
        "error",
        "--",
        "--forward-mode=txonly",
        "--auto-start",
        "--stats-period=1",
        "--total-num-mbufs=8192",
        f"--txpkts={size}",
    ]
    if multi_flow:
        cmd.append("--txonly-multi-flow")
    text, rss = run_child(cmd, timeout=seconds + 30)
    pps = [int(m) for m in re.findall(r"Tx-pps:\s+(\d+)", text)]
    pps = [p for p in pps if p > 0]
    if len(pps) > 1:
        pps = pps[1:]  # the first period includes the start
    if not pps:
        raise RuntimeError(f"no Tx-pps in testpmd output: {text[-400:]}")
    mpps = statistics.median(pps) / 1e6
    hz = _tsc_hz()
    return mpps, hz / (mpps * 1e6), rss


def _tsc_hz() -> float:
    """The TSC frequency, measured against the monotonic clock (no EAL needed)."""
    from moonpy import _dpdk

    t0, c0 = time.perf_counter(), _dpdk.rdtsc()
    time.sleep(0.2)
    return (_dpdk.rdtsc() - c0) / (time.perf_counter() - t0)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dpdk = subprocess.run(
        ["pkg-config", "--modversion", "libdpdk"], capture_output=True, text=True
    ).stdout.strip()
    from moonpy import _dpdk  # noqa: F401  (the extension must import)

    lj = run_child(
        [
            sys.executable,
            "-c",
            "from lupa import luajit21 as l; print(l.LuaRuntime().eval('jit.version'))",
        ],
        timeout=30,
    )[0].strip()
    return {
        "cpu": model,
        "cores": str(len(os.sched_getaffinity(0))),
        "dpdk": dpdk,
        "luajit": lj,
        "python": platform.python_version(),
        "tsc_hz": f"{_tsc_hz():.0f}",
    }


SCENARIOS: list[tuple[str, str, str, dict]] = [
    # name, description, kind, parameters
    ("testpmd-fixed", "dpdk-testpmd txonly, 64 B", "testpmd", {"multi": False, "size": 64}),
    (
        "testpmd-multiflow",
        "dpdk-testpmd txonly --txonly-multi-flow",
        "testpmd",
        {"multi": True, "size": 64},
    ),
    ("c-fixed", "C loop: alloc + send, 60 B", "c", {"scenario": "fixed", "size": 60}),
    (
        "c-random",
        "C loop: random IP src + UDP port, offload",
        "c",
        {"scenario": "random", "size": 60},
    ),
    ("c-heavy", "C loop: 8 random fields", "c", {"scenario": "heavy", "size": 60}),
    (
        "lua-fixed",
        "1: Lua, prefilled 60 B, no per-packet work",
        "lua",
        {"scenario": "fixed", "size": 60, "ref": "c-fixed"},
    ),
    (
        "lua-random",
        "2: Lua, seed load task (random src IP + port)",
        "lua",
        {"scenario": "random", "size": 60, "ref": "c-random"},
    ),
    (
        "lua-raw",
        "2 via raw FFI pointers",
        "lua",
        {"scenario": "raw", "size": 60, "ref": "c-random"},
    ),
    (
        "lua-checksum",
        "2 + ip4:calculateChecksum() per packet",
        "lua",
        {"scenario": "checksum", "size": 60, "ref": "lua-random"},
    ),
    (
        "lua-heavy",
        "3: Lua, 8 math.random fields per packet",
        "lua",
        {"scenario": "heavy", "size": 60, "ref": "c-heavy"},
    ),
    (
        "lua-fixed-1514",
        "5: scenario 1 with 1514 B frames",
        "lua",
        {"scenario": "fixed", "size": 1514, "ref": "c-fixed-1514"},
    ),
    ("c-fixed-1514", "C loop, 1514 B", "c", {"scenario": "fixed", "size": 1514}),
    (
        "lua-random-1514",
        "5: scenario 2 with 1514 B frames",
        "lua",
        {"scenario": "random", "size": 1514, "ref": "lua-random"},
    ),
    (
        "lua-random-cable",
        "2 on a virtual cable (software checksums, nobody reads)",
        "lua",
        {"scenario": "random", "size": 60, "ports_spec": ("cable",), "ref": "lua-random"},
    ),
    (
        "lua-random-2tasks",
        "7: scenario 2, one task per null port, 2 ports",
        "lua",
        {
            "scenario": "random",
            "size": 60,
            "ports": "0,1",
            "ports_spec": ("null", "null"),
            "ref": "lua-random",
        },
    ),
]


def measure(name: str, kind: str, p: dict, seconds: float) -> tuple[float, float, float]:
    if kind == "testpmd":
        return testpmd(p["multi"], seconds, p["size"])
    if kind == "c":
        return c_scenario(p["scenario"], seconds, p["size"])
    return lua_scenario(
        p["scenario"], seconds, p["size"], p.get("ports", "0"), p.get("ports_spec", ("null",))
    )


def run(seconds: float, runs: int, only: list[str] | None) -> tuple[dict, list[Result]]:
    results: dict[str, Result] = {}
    for name, what, kind, p in SCENARIOS:
        if only and name not in only:
            continue
        r = Result(name, what, reference=p.get("ref"))
        for _ in range(runs):
            try:
                mpps, cycles, rss = measure(name, kind, p, seconds)
            except (RuntimeError, OSError) as e:
                r.error = str(e).splitlines()[0][:200]
                break
            r.mpps.append(mpps)
            r.cycles.append(cycles)
            r.rss_mib = max(r.rss_mib, rss)
        results[name] = r
        print(
            f"  {name:<20} {r.median:8.2f} Mpps" + (f"  ({r.error})" if r.error else ""),
            file=sys.stderr,
            flush=True,
        )
    return machine(), list(results.values())


def table(info: dict, results: list[Result]) -> str:
    by = {r.name: r for r in results}
    lines = [
        f"CPU: {info['cpu']} ({info['cores']} cores, TSC {int(info['tsc_hz']) / 1e9:.2f} GHz)"
        f"; DPDK {info['dpdk']}; {info['luajit']}; Python {info['python']}",
        "",
        "| scenario | what | Mpps min / median / max | TSC cycles/pkt | vs reference "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.name} | {r.what} | failed: {r.error} | | | |")
            continue
        ratio = ""
        ref = by.get(r.reference or "")
        if ref and ref.median and not ref.error:
            ratio = f"{r.median / ref.median:.2f}x {ref.name}"
        lines.append(
            f"| {r.name} | {r.what} | {min(r.mpps):.2f} / {r.median:.2f} / "
            f"{max(r.mpps):.2f} | {statistics.median(r.cycles):.1f} | {ratio} "
            f"| {r.rss_mib:.0f} |"
        )
    extra = []
    for a, b in (
        ("lua-fixed", "testpmd-fixed"),
        ("lua-random", "testpmd-multiflow"),
        ("lua-heavy", "testpmd-multiflow"),
    ):
        if a in by and b in by and by[b].median and not by[a].error:
            extra.append(f"{a} / {b} = {by[a].median / by[b].median:.2f}x")
    if "lua-random-2tasks" in by and "lua-random" in by and by["lua-random"].median:
        extra.append(
            f"scaling 2 tasks / 1 task = "
            f"{by['lua-random-2tasks'].median / by['lua-random'].median:.2f}x "
            f"(a {info['cores']}-core machine has {int(info['cores']) - 1} worker "
            "core(s): tasks beyond that share a core)"
        )
    return "\n".join(lines + [""] + extra)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="moonpy bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per scenario")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, what, _, _ in SCENARIOS:
            print(f"{name:<20} {what}")
        return 0
    only = args.only.split(",") if args.only else None
    if only:
        unknown = set(only) - {s[0] for s in SCENARIOS}
        if unknown:
            valid = ", ".join(s[0] for s in SCENARIOS)
            print(
                f"moonpy bench: unknown scenario(s) {sorted(unknown)}; valid: {valid}",
                file=sys.stderr,
            )
            return 2
    info, results = run(args.time, args.runs, only)
    print(table(info, results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "command": " ".join(sys.argv),
                    "results": [asdict(r) for r in results],
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
