"""How `moonpy bench` runs each kind of measurement, every one in a child process of its
own (DPDK starts once per process): moonpy on a Lua or Python script (the scenario's
ports, up to the script), the original MoonGen on the same Lua script, a C reference loop
of csrc/mp_bench.c, and dpdk-testpmd. Each returns a Measurement; the table and its
ratios are bench.py's."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# the package's parent: a checkout, or site-packages when moonpy is installed
ROOT = Path(__file__).resolve().parents[2]
# an installed wheel carries the scripts the benchmark runs in moonpy/tools/_data (setup.py
# copies them there at build time); in a checkout they are read where they are edited
PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
IN_CHECKOUT = (ROOT / "lua_scripts" / "benchmark.lua").is_file()


def _script(checkout_path: str) -> Path:
    if IN_CHECKOUT:
        return ROOT / checkout_path
    return PACKAGE_DATA / Path(checkout_path).name


BENCH_LUA = _script("lua_scripts/benchmark.lua")
UDP_LOAD_PY = _script("examples/udp-load.py")


@dataclass(frozen=True)
class Scenario:
    """One row of the table: what runs, and what it is compared with."""

    name: str
    what: str
    kind: str  # testpmd | c | lua | py | moongen: the function in MEASURE that runs it
    arg: str = ""  # the benchmark.lua / mp_bench.c scenario; py: udp-load.py options
    size: int = 60
    ref: str | None = None
    ports: str | None = None  # benchmark.lua --ports (its default when None)
    port_specs: tuple[str, ...] = ("null",)
    command: tuple[str, ...] = ()  # moongen: the MoonGen binary (and its options)
    dashboard: bool = False  # lua: with the live dashboard, under a pseudo-terminal


class Measurement(NamedTuple):
    """What one run of a scenario measured."""

    mpps: float
    cycles: float  # TSC cycles per packet
    rss_mib: float  # peak RSS of the process
    # RX rows: frames the receiving port dropped while measured (its ring was full),
    # per second; none means the receiver kept up and the rate is the sender's
    dropped_mpps: float | None = None


# Every row's memory: ordinary 4 KiB pages (DPDK's --no-huge, what every machine has) or,
# with `moonpy bench --hugepages`, reserved 2 MiB hugepages, for moonpy (MOONPY_HUGEPAGES,
# read by its Config), testpmd and the original MoonGen alike.
HUGEPAGES = False


def eal_memory_args() -> list[str]:
    """testpmd's and the original's EAL memory option (both know --huge-unlink)."""
    return ["--huge-unlink"] if HUGEPAGES else ["--no-huge"]


def run_child(
    cmd: list[str], timeout: float, env: dict[str, str] | None = None
) -> tuple[str, float]:
    """Run a command (with `env` added to ours); returns its stdout and its peak RSS in
    MiB."""
    env = dict(os.environ, **(env or {}))
    env["MOONPY_HUGEPAGES"] = "1" if HUGEPAGES else "0"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT if IN_CHECKOUT else None,
            text=True,
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


def parse_results(text: str, name: str, rss: float) -> Measurement:
    """Mpps (summed over tasks), mean cycles/packet and drops from the RESULT lines
    that benchmark.lua and examples/udp-load.py print."""
    # (under a pseudo-terminal the line may follow the dashboard's last frame)
    results = [
        dict(kv.split("=", 1) for kv in ln.split("RESULT ", 1)[1].split())
        for ln in text.splitlines()
        if "RESULT " in ln
    ]
    if not results:
        raise RuntimeError(f"no RESULT line from {name}: {text[-400:]}")
    mpps = sum(float(r["mpps"]) for r in results)
    cycles = statistics.mean(float(r["cycles_per_pkt"]) for r in results)
    drops = [int(r["dropped"]) / float(r["seconds"]) / 1e6 for r in results if "dropped" in r]
    return Measurement(mpps, cycles, rss, sum(drops) if drops else None)


def moonpy_command(sc: Scenario) -> list[str]:
    """`python -m moonpy` with the scenario's ports, up to the script."""
    cmd = [sys.executable, "-m", "moonpy", "--plain", "--no-color"]
    for spec in sc.port_specs:
        cmd += ["--port", spec]
    return cmd


def benchmark_lua_args(sc: Scenario, seconds: float) -> list[str]:
    args = [sc.arg, "--time", str(seconds), "--size", str(sc.size)]
    return args + (["--ports", sc.ports] if sc.ports else [])


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def lua_scenario(sc: Scenario, seconds: float) -> Measurement:
    cmd = moonpy_command(sc) + [str(BENCH_LUA), *benchmark_lua_args(sc, seconds)]
    if sc.dashboard:
        # the dashboard draws only on a terminal: util-linux `script` gives the run one
        if not shutil.which("script"):
            raise RuntimeError("needs util-linux `script` for a pseudo-terminal")
        cmd.remove("--plain")
        cmd = ["script", "-qec", shlex.join(cmd), "/dev/null"]
    text, rss = run_child(cmd, timeout=seconds + 60, env={"COLUMNS": "200", "LINES": "50"})
    return parse_results(ANSI.sub("", text), sc.name, rss)


def py_scenario(sc: Scenario, seconds: float) -> Measurement:
    """examples/udp-load.py sending on port 0 with nobody receiving. The load task
    times its own sending loop; there is no warm-up (nothing to compile)."""
    cmd = moonpy_command(sc) + [str(UDP_LOAD_PY), "0", "0", "--time", str(seconds)]
    cmd += ["--size", str(sc.size), *sc.arg.split()]
    text, rss = run_child(cmd, timeout=seconds + 60)
    return parse_results(text, sc.name, rss)


def moongen_dpdk_config(path: Path) -> None:
    """libmoon's DPDK configuration for one run: the cores (the first for the
    master), and EAL options for a `net_null` port without hugepages or PCI
    devices. libmoon appends the `cli` entries to the EAL command line."""
    cores = sorted(os.sched_getaffinity(0))
    eal = [
        *eal_memory_args(),
        "-m",
        "1024",
        "--no-pci",
        "--vdev=net_null0",
        "--file-prefix",
        f"mpbench{os.getpid()}",
    ]
    path.write_text(
        "-- written by `moonpy bench --moongen` for one run\n"
        "DPDKConfig {\n"
        f"    cores = {{{', '.join(str(c) for c in sorted({cores[0], cores[-1]}))}}},\n"
        f"    cli = {{{', '.join(json.dumps(a) for a in eal)}}},\n"
        "}\n"
    )


def moongen_scenario(sc: Scenario, seconds: float) -> Measurement:
    """The same benchmark.lua scenario on the original MoonGen. Its ports come from
    a dpdk-conf.lua; `--dpdk-config=FILE` follows the script (libmoon's usage:
    `MoonGen SCRIPT [--dpdk-config=FILE] [script args]`)."""
    with tempfile.TemporaryDirectory(prefix="mpbench") as tmp:
        conf = Path(tmp) / "dpdk-conf.lua"
        moongen_dpdk_config(conf)
        cmd = [*sc.command, str(BENCH_LUA), f"--dpdk-config={conf}"]
        text, rss = run_child(cmd + benchmark_lua_args(sc, seconds), timeout=seconds + 60)
    return parse_results(text, sc.name, rss)


C_LOOP = """
import json, os
from moonpy import _dpdk
from moonpy.core.config import Config, PortSpec
from moonpy.core.engine import Engine
eng = Engine(Config(ports=[PortSpec(kind="null")])).start()
port, _ = eng.configure_port(0)
os.sched_setaffinity(0, {{eng.cores[-1]}})
pool = _dpdk.create_mempool(4095)
_dpdk.bench_c_loop("{scenario}", port.dpdk_id, 0, pool, {size}, 0.5)
pkts, secs = _dpdk.bench_c_loop("{scenario}", port.dpdk_id, 0, pool, {size}, {seconds})
print(json.dumps({{"pkts": pkts, "secs": secs, "hz": _dpdk.tsc_hz()}}))
eng.shutdown()
"""


def c_scenario(sc: Scenario, seconds: float) -> Measurement:
    code = C_LOOP.format(scenario=sc.arg, size=sc.size, seconds=seconds)
    text, rss = run_child([sys.executable, "-c", code], timeout=seconds + 60)
    data = json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])
    mpps = data["pkts"] / data["secs"] / 1e6
    return Measurement(mpps, data["secs"] * data["hz"] / max(1, data["pkts"]), rss)


def testpmd(sc: Scenario, seconds: float) -> Measurement:
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
        *eal_memory_args(),
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
        f"--txpkts={sc.size}",
    ]
    if sc.arg == "multi-flow":
        cmd.append("--txonly-multi-flow")
    text, rss = run_child(cmd, timeout=seconds + 30)
    pps = [int(m) for m in re.findall(r"Tx-pps:\s+(\d+)", text)]
    pps = [p for p in pps if p > 0]
    if len(pps) > 1:
        pps = pps[1:]  # the first period includes the start
    if not pps:
        raise RuntimeError(f"no Tx-pps in testpmd output: {text[-400:]}")
    mpps = statistics.median(pps) / 1e6
    return Measurement(mpps, _tsc_hz() / (mpps * 1e6), rss)


MEASURE: dict[str, Callable[[Scenario, float], Measurement]] = {
    "testpmd": testpmd,
    "c": c_scenario,
    "lua": lua_scenario,
    "py": py_scenario,
    "moongen": moongen_scenario,
}


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
        "memory": "2 MiB hugepages" if HUGEPAGES else "4 KiB pages (--no-huge)",
    }
