"""An independent run of bad inputs (CLI flags, config files, script API misuse in small
Lua and Python scripts, hostile pcaps): each must end with a clear message and a
non-zero exit (or, where the input is usable, a warning), within its time limit, with
no Python traceback and no frame of moonpy's own Lua library.

    python3 benchmarks/bad_inputs.py [--jobs 2] [--only SUBSTRING] [--markdown]

Each case is (name, argv, expect) where expect is "error" (non-zero exit, one
message), "warn" (runs, with a [WARN] line), "exit" (the script's own non-zero exit
code) or "ok" (accepted: the input is valid).
Results: clean, TRACEBACK, HANG, SILENT (accepted without a word), WRONG-EXIT.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_HEAD = (
    'local mg = require "moongen"\nlocal device = require "device"\n'
    'local memory = require "memory"\n'
)
PY_HEAD = "import moonpy\nfrom moonpy import device, memory\n"


def pcap(records: list[tuple[int, int, bytes, int]], magic: int = 0xA1B2C3D4, link: int = 1,
         snaplen: int = 65535, major: int = 2) -> bytes:  # fmt: skip
    head = struct.pack("<IHHiIII", magic, major, 4, 0, 0, snaplen, link)
    body = b"".join(
        struct.pack("<IIII", sec, frac, len(data), orig) + data for sec, frac, data, orig in records
    )
    return head + body


FRAME = bytes.fromhex("ffffffffffff0200000000010800") + bytes(46)


def make_files(d: Path) -> None:
    """Hostile pcaps, config files and scripts the cases refer to as {d}/NAME."""
    files: dict[str, bytes | str] = {
        "empty.pcap": b"",
        "header-only.pcap": pcap([]),
        "garbage.pcap": os.urandom(200),
        "pcapng.pcap": b"\x0a\x0d\x0d\x0a" + bytes(60),
        "v1.pcap": pcap([(1, 0, FRAME, 60)], major=1),
        "link-105.pcap": pcap([(1, 0, FRAME, 60)], link=105),
        "huge-record.pcap": pcap([]) + struct.pack("<IIII", 1, 0, 0x7FFFFFF0, 60) + FRAME,
        "cut-header.pcap": pcap([(1, 0, FRAME, 60)]) + b"\x01\x02\x03",
        "cut-data.pcap": pcap([(1, 0, FRAME, 60)]) + struct.pack("<IIII", 2, 0, 60, 60) + FRAME[:7],
        "backwards.pcap": pcap([(100, 0, FRAME, 60), (50, 0, FRAME, 60), (101, 0, FRAME, 60)]),
        "zero-len.pcap": pcap([(1, 0, b"", 0), (2, 0, FRAME, 60)]),
        "all-zero-len.pcap": pcap([(1, 0, b"", 0), (2, 0, b"", 0)]),
        "tiny-frame.pcap": pcap([(1, 0, b"\x01", 1)]),
        "usec-overflow.pcap": pcap([(1, 5_000_000, FRAME, 60), (2, 0, FRAME, 60)]),
        "jumbo.pcap": pcap([(1, 0, bytes(9000), 9000)]),
        "orig-lt-incl.pcap": pcap([(1, 0, FRAME, 10)]),
        "max-time.pcap": pcap([(0xFFFFFFFF, 999999, FRAME, 60), (0, 0, FRAME, 60)]),
        "raw-empty.pcap": pcap([(1, 0, b"", 0)], link=101),
        "ok.pcap": pcap([(1, 0, FRAME, 60), (1, 100, FRAME, 60)]),
        "bad.toml": "this is [not toml",
        "unknown-key.toml": '[[ports]]\nkind = "cable"\nspeed = 10\n',
        "bad-kind.toml": '[[ports]]\nkind = "wire"\n',
        "no-ports.toml": "ports = []\n",
        "bad-queues.toml": '[[ports]]\nkind = "cable"\nqueues = 0\n',
        "ring-size.toml": '[[ports]]\nkind = "cable"\nring_size = 1000\n',
        "bad-mac.toml": '[[ports]]\nkind = "null"\nmac = "zz:zz"\n',
        "cores-str.toml": 'cores = "zero"\n',
        "memory-neg.toml": "memory = -5\n",
        "eal-log.toml": 'eal_log_level = "shouty"\n',
        "pci-no-addr.toml": '[[ports]]\nkind = "pci"\n',
        "iface-long.toml": '[[ports]]\nkind = "tap"\niface = "abcdefghijklmnopq"\n',
        "binary.lua": os.urandom(100),
        "empty.lua": "",
        "empty.py": "",
        "noperm.lua": "function master() end\n",
    }
    lua = {
        "setrate-neg": "device.config{port = 0}:getTxQueue(0):setRate(-100)",
        "setrate-nan": "device.config{port = 0}:getTxQueue(0):setRate(0/0)",
        "setrate-inf": "device.config{port = 0}:getTxQueue(0):setRate(math.huge)",
        "setrate-big": "device.config{port = 0}:getTxQueue(0):setRate(1e15)",
        "setrate-str": 'device.config{port = 0}:getTxQueue(0):setRate("fast")',
        "setratempps-neg": "device.config{port = 0}:getTxQueue(0):setRateMpps(-1)",
        "dev-setrate-nan": "device.config{port = 0}:setRate(0/0)",
        "config-nil": "device.config()",
        "config-string": 'device.config("zero")',
        "config-negport": "device.config{port = -1}",
        "config-floatport": "device.config{port = 0.5}",
        "config-rxq0": "device.config{port = 0, rxQueues = 0}",
        "config-txq-1000": "device.config{port = 0, txQueues = 1000}",
        "config-rxq-neg": "device.config{port = 0, rxQueues = -3}",
        "config-rxdescs": "device.config{port = 0, rxDescs = 0}",
        "getrxqueue-neg": "device.config{port = 0}:getRxQueue(-1)",
        "gettxqueue-str": 'device.config{port = 0}:getTxQueue("a")',
        "mempool-n0": "memory.createMemPool{n = 0}",
        "mempool-neg": "memory.createMemPool{n = -5}",
        "mempool-huge": "memory.createMemPool{n = 1e12}",
        "bufarray-0": "memory.createMemPool():bufArray(0)",
        "bufarray-neg": "memory.createMemPool():bufArray(-1)",
        "alloc-neg": "memory.createMemPool():bufArray(4):alloc(-60)",
        "alloc-nan": "memory.createMemPool():bufArray(4):alloc(0/0)",
        "starttask-nil": "mg.startTask()",
        "starttask-missing": 'mg.startTask("nosuch")',
        "settime-neg": "mg.setRuntime(-5)",
        "settime-nan": "mg.setRuntime(0/0)",
        "sleep-neg": "mg.sleepMillis(-10)",
        "error-table": 'error({code = 1, why = "x"})',
        "error-nil": "error()",
        "error-number": "error(42)",
        "error-nested": "error({a = {b = {c = {d = 1}}}})",
        "error-function": "error(print)",
        "os-exit-str": 'os.exit("x")',
        "infinite-recursion": "local function f() return 1 + f() end f()",
        "bad-ip": 'memory.createMemPool():bufArray(1):alloc(60)[1]:getUdpPacket():fill{ip4Src = "1.2.3"}',
        "bad-mac-fill": 'memory.createMemPool():bufArray(1):alloc(60)[1]:getEthPacket():fill{ethSrc = "zz"}',
        "wait-no-tasks": "mg.waitForTasks() mg.waitForTasks()",
    }
    for name, body in lua.items():
        files[f"{name}.lua"] = LUA_HEAD + f"function master()\n  {body}\nend\n"
    py = {
        "py-setrate-neg": "device.config(port=0).get_tx_queue(0).set_rate(-100)",
        "py-setrate-nan": "device.config(port=0).get_tx_queue(0).set_rate(float('nan'))",
        "py-setrate-inf": "device.config(port=0).get_tx_queue(0).set_rate(float('inf'))",
        "py-setrate-str": "device.config(port=0).get_tx_queue(0).set_rate('fast')",
        "py-setratempps-neg": "device.config(port=0).get_tx_queue(0).set_rate_mpps(-1)",
        "py-config-noport": "device.config(port=9)",
        "py-config-negport": "device.config(port=-1)",
        "py-config-queues": "device.config(port=0, tx_queues=1000)",
        "py-config-queues0": "device.config(port=0, rx_queues=0)",
        "py-queue-range": "device.config(port=0).get_tx_queue(5)",
        "py-mempool-0": "memory.create_mempool(n=0)",
        "py-mempool-neg": "memory.create_mempool(n=-1)",
        "py-bufarray-neg": "memory.create_mempool().buf_array(-1)",
        "py-alloc-big": "memory.create_mempool().buf_array(4).alloc(100000)",
        "py-runtime-neg": "moonpy.set_runtime(-1)",
        "py-runtime-nan": "moonpy.set_runtime(float('nan'))",
        "py-start-nonfunc": "moonpy.start_task(42)",
        "py-raise": "raise ValueError('script failed here')",
        "py-exit-3": "raise SystemExit(3)",
        "py-keyboard": "raise KeyboardInterrupt",
        "py-recursion": "def f():\n    return f()\n  f()",
    }
    for name, body in py.items():
        files[f"{name}.py"] = PY_HEAD + f"\n\ndef master():\n  {body}\n"
    files["py-no-master.py"] = "x = 1\n"
    files["py-syntax.py"] = "def master(:\n"
    files["py-import-error.py"] = "import nosuchmodule_xyz\n\ndef master():\n    pass\n"
    files["py-configure-bad.py"] = (
        "def configure(p):\n    raise RuntimeError('no')\n\ndef master(a):\n    pass\n"
    )
    files["lua-configure-bad.lua"] = (
        'function configure(p) error("no") end\nfunction master() end\n'
    )
    files["lua-master-not-fn.lua"] = "master = 5\n"
    for name, content in files.items():
        path = d / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    os.chmod(d / "noperm.lua", 0)


def cases() -> list[tuple[str, list[str], str]]:
    c: list[tuple[str, list[str], str]] = []
    add = c.append
    # -- moonpy's own options
    for argv in (
        ["--cores", "", "ports"], ["--cores", "5-1", "ports"], ["--cores", "-1", "ports"],
        ["--cores", "999", "ports"], ["--cores", "0,0", "ports"], ["--cores", "x", "ports"],
        ["--memory", "0", "ports"], ["--memory", "-1", "ports"], ["--memory", "abc", "ports"],
        ["--memory", "99999999", "ports"], ["--grace", "nan", "ports"], ["--grace", "inf", "ports"],
        ["--grace", "-0.5", "ports"], ["--grace", "x", "ports"],
        ["--eal-log-level", "", "ports"], ["--eal-log-level", "99", "ports"],
        ["--output", "", "ports"], ["--output", "x.JSONL.bak", "ports"], ["--output", "/", "ports"],
        ["--output", "/proc/x.jsonl", "ports"], ["--output", "{d}", "ports"],
        ["--port", "", "ports"], ["--port", "cable,queues=0", "ports"],
        ["--port", "cable,queues=abc", "ports"], ["--port", "cable,bogus=1", "ports"],
        ["--port", "null,iface=x", "ports"], ["--port", "pcap", "ports"],
        ["--port", "pcap,rx={d}/garbage.pcap", "ports"], ["--port", "pcap,tx=/nonexistent/o.pcap", "ports"],
        ["--port", "af_packet", "ports"], ["--port", "af_packet,iface=nosuchif0", "ports"],
        ["--port", "tap,iface=", "ports"], ["--port", "tap,iface=a/b", "ports"],
        ["--port", "tap,iface=abcdefghijklmnop", "ports"], ["--port", "pci", "ports"],
        ["--port", "pci,address=zz", "ports"], ["--port", "null,mac=1:2", "ports"],
        ["--config", "/nonexistent.toml", "ports"], ["--config", "{d}/bad.toml", "ports"],
        ["--config", "{d}/unknown-key.toml", "ports"], ["--config", "{d}/bad-kind.toml", "ports"],
        ["--config", "{d}/no-ports.toml", "ports"], ["--config", "{d}/bad-queues.toml", "ports"],
        ["--config", "{d}/ring-size.toml", "ports"], ["--config", "{d}/bad-mac.toml", "ports"],
        ["--config", "{d}/cores-str.toml", "ports"], ["--config", "{d}/memory-neg.toml", "ports"],
        ["--config", "{d}/eal-log.toml", "ports"], ["--config", "{d}/pci-no-addr.toml", "ports"],
        ["--config", "{d}/iface-long.toml", "ports"], ["--config", "{d}", "ports"],
        ["ports", "extra"], ["nosuchcommand"], ["{d}/binary.lua"],
        ["{d}/lua-master-not-fn.lua"], ["{d}/lua-configure-bad.lua"], ["--eal"],
        *([] if os.geteuid() == 0 else [["{d}/noperm.lua"]]),
    ):  # fmt: skip
        add((" ".join(argv), argv, "error"))
    add(("empty.lua", ["{d}/empty.lua"], "error"))
    add(("empty.py", ["{d}/empty.py"], "error"))
    # -- replay / dump
    for name in (
        "empty", "header-only", "garbage", "pcapng", "v1", "link-105", "huge-record",
        "all-zero-len", "raw-empty",
    ):  # fmt: skip
        add((f"replay {name}.pcap", ["replay", f"{{d}}/{name}.pcap"], "error"))
    for name in ("cut-header", "cut-data", "zero-len"):
        add((f"replay {name}.pcap", ["replay", f"{{d}}/{name}.pcap"], "warn"))
    add(("replay backwards --speed 1", ["replay", "{d}/backwards.pcap", "--speed", "1"], "warn"))
    add(("replay max-time --speed 1e9", ["replay", "{d}/max-time.pcap", "--speed", "1e9"], "warn"))
    for argv in (
        ["replay"], ["replay", "/nonexistent.pcap"], ["replay", "{d}"],
        ["replay", "{d}/ok.pcap", "--port", "9"], ["replay", "{d}/ok.pcap", "--port", "-1"],
        ["replay", "{d}/ok.pcap", "--speed", "nan"], ["replay", "{d}/ok.pcap", "--speed", "inf"],
        ["replay", "{d}/ok.pcap", "--rate", "nan"], ["replay", "{d}/ok.pcap", "--rate", "0"],
        ["replay", "{d}/ok.pcap", "--speed", "1", "--rate", "5"],
        ["replay", "{d}/ok.pcap", "--time", "-1"], ["replay", "{d}/ok.pcap", "--loop", "x"],
        ["replay", "{d}/ok.pcap", "--bogus"],
        ["dump"], ["dump", "-w", "{d}"], ["dump", "-w", "{d}/x.pcap", "--port", "7"],
        ["dump", "-w", "{d}/x.pcap", "--filter", "udp and and"],
        ["dump", "-w", "{d}/x.pcap", "--filter", "port 99999"],
        ["dump", "-w", "{d}/x.pcap", "--snaplen", "999999"],
        ["dump", "-w", "{d}/x.pcap", "--ring", "-2"], ["dump", "-w", "{d}/x.pcap", "--ring-mb", "0"],
        ["dump", "-w", "{d}/x.pcap", "--time", "nan"], ["dump", "-w", "/proc/x.pcap"],
    ):  # fmt: skip
        add((" ".join(argv), argv, "error"))
    add(("replay tiny-frame.pcap", ["replay", "{d}/tiny-frame.pcap"], "ok"))
    add(("replay jumbo.pcap", ["replay", "{d}/jumbo.pcap"], "ok"))
    # -- script API misuse (Lua and Python), simple, script options
    for name in sorted(p for p in SCRIPT_NAMES):
        add((name, [f"{{d}}/{name}"], "error"))
    # an exit code the script asks for is no error message
    add(("py-exit-3.py", ["{d}/py-exit-3.py"], "exit"))
    add(("os-exit-str.lua", ["{d}/os-exit-str.lua"], "exit"))
    add(("simple (no command: help)", ["simple"], "ok"))
    for argv in (
        ["simple", "start"], ["simple", "start", "udp-flows"],
        ["simple", "start", "udp-flows:0:1:timeLimit=-1s"], ["simple", "start", "udp-flows:0:1:rate=-5mbit"],
        ["simple", "start", "udp-flows:0:1:timeLimit=forever"], ["simple", "start", "udp-flows:x:y"],
        ["simple", "debug", "nosuch"], ["simple", "list", "/nonexistent"], ["simple", "frobnicate"],
        ["lua_scripts/udp-load.lua", "0", "1", "-s", "-60"],
        ["lua_scripts/udp-load.lua", "0", "1", "-s", "100000"],
        ["lua_scripts/udp-load.lua", "0", "1", "-t", "-1"],
        ["lua_scripts/udp-load.lua", "0", "9"], ["lua_scripts/udp-load.lua", "a", "b"],
        ["examples/udp-load.py", "0", "1", "-r", "-5"], ["examples/udp-load.py", "0", "9"],
        ["examples/udp-load.py", "0", "1", "-s", "5"], ["examples/udp-load.py"],
    ):  # fmt: skip
        add((" ".join(argv), argv, "error"))
    return c


SCRIPT_NAMES = [
    *(f"{n}.lua" for n in (
        "setrate-neg", "setrate-nan", "setrate-inf", "setrate-big", "setrate-str",
        "setratempps-neg", "dev-setrate-nan", "config-nil", "config-string", "config-negport",
        "config-floatport", "config-rxq0", "config-txq-1000", "config-rxq-neg",
        "config-rxdescs", "getrxqueue-neg", "gettxqueue-str", "mempool-n0", "mempool-neg",
        "mempool-huge", "bufarray-0", "bufarray-neg", "alloc-neg", "alloc-nan", "starttask-nil",
        "starttask-missing", "settime-neg", "settime-nan", "sleep-neg", "error-table",
        "error-nil", "error-number", "error-nested", "error-function",
        "infinite-recursion", "bad-ip", "bad-mac-fill",
    )),
    *(f"{n}.py" for n in (
        "py-setrate-neg", "py-setrate-nan", "py-setrate-inf", "py-setrate-str",
        "py-setratempps-neg", "py-config-noport", "py-config-negport", "py-config-queues",
        "py-config-queues0", "py-queue-range", "py-mempool-0", "py-mempool-neg",
        "py-bufarray-neg", "py-alloc-big", "py-runtime-neg", "py-runtime-nan",
        "py-start-nonfunc", "py-raise", "py-recursion", "py-no-master",
        "py-syntax", "py-import-error", "py-configure-bad",
    )),
]  # fmt: skip


def classify(expect: str, rc: int | None, out: str) -> str:
    if rc is None:
        return "HANG"
    if "Traceback (most recent call last)" in out or "/moonpy/lua/" in out:
        return "TRACEBACK"
    said = any(w in out for w in ("error", "Error", "[FATAL]", "[WARN]", "must", "invalid"))
    if expect == "error":
        if rc == 0:
            return "SILENT" if not said else "WRONG-EXIT"
        return "clean" if said else "SILENT"
    if expect == "exit":
        return "clean" if rc not in (0, None) else "SILENT"
    if expect == "warn":
        if rc != 0:
            return "WRONG-EXIT"
        return "clean" if "[WARN]" in out else "SILENT"
    return "clean" if rc == 0 else "WRONG-EXIT"


def run_case(d: Path, case: tuple[str, list[str], str], timeout: float) -> tuple[str, str, str]:
    name, argv, expect = case
    args = [a.replace("{d}", str(d)) for a in argv]
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOONPY_NO_INSTANCE_CHECK="1")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "moonpy", "--no-color", *args],
            capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
        )  # fmt: skip
        rc: int | None = proc.returncode
        out = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = None, str(e.stdout or "") + str(e.stderr or "")
    verdict = classify(expect, rc, out)
    lines = [ln for ln in out.splitlines() if ln.strip() and "another moonpy run" not in ln]
    last = next(
        (ln for ln in lines if any(w in ln for w in ("error", "Error", "FATAL", "WARN", "must"))),
        lines[-1] if lines else "",
    )
    return name, verdict, f"rc={rc} {last.strip()[:160]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--markdown", action="store_true", help="a table for docs/robustness.md")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="moonpy-bad-") as tmp:
        d = Path(tmp)
        make_files(d)
        todo = [c for c in cases() if opts.only in c[0]]
        with ThreadPoolExecutor(opts.jobs) as pool:
            results = list(pool.map(lambda c: run_case(d, c, opts.timeout), todo))
    bad = [r for r in results if r[1] != "clean"]
    for name, verdict, detail in results:
        detail = detail.replace(str(d), "{d}").replace("|", "\\|")
        if opts.markdown:
            print(f"| `{name.replace(str(d), '{d}')}` | {verdict} | {detail} |")
        else:
            print(f"{verdict:<10} {name.replace(str(d), '{d}')}\n           {detail}")
    print(f"\n{len(results)} inputs tried, {len(results) - len(bad)} handled cleanly, "
          f"{len(bad)} not")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
