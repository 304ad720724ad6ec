"""Bad input: one clear message naming the problem (and the fix), a non-zero exit
code, no Python traceback, nothing left running. One row per case."""

from __future__ import annotations

import json
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, child_env, run_moonpy

pytestmark = pytest.mark.dpdk

HEAD = (
    'local mg = require "moongen"\nlocal device = require "device"\n'
    'local memory = require "memory"\n'
)

# (id, moonpy options, script body or None, script arguments, expected text, exit code)
ROWS = [
    ("missing-script", [], None, ["nope.lua"], "script 'nope.lua' does not exist", 1),
    ("not-a-script", [], None, ["README.md"], "is not a script (.lua or .py)", 1),
    ("directory", [], None, ["tests"], "is a directory", 1),
    (
        "syntax-error",
        [],
        "function master()\n  local = 1\nend\n",
        [],
        "bad.lua:2: '<name>' expected near '='",
        1,
    ),
    (
        "runtime-error-master",
        [],
        "function master()\n  local x = nil + 1\nend\n",
        [],
        "bad.lua:2: attempt to perform arithmetic on a nil value",
        1,
    ),
    (
        "runtime-error-task",
        [],
        HEAD + 'function master() mg.startTask("t") mg.waitForTasks() end\n'
        'function t() error("task failed here") end\n',
        [],
        "bad.lua:5: task failed here",
        1,
    ),
    ("no-master", [], "local x = 1\n", [], "defines no global function 'master'", 1),
    (
        "task-not-global",
        [],
        HEAD + "local function t() end\n"
        'function master() mg.startTask("t") mg.waitForTasks() end\n',
        [],
        "task function 't' is not a global function",
        1,
    ),
    (
        "task-name-not-string",
        [],
        HEAD + "function master() mg.startTask(42) end\n",
        [],
        "the first argument must be the name of a global function",
        1,
    ),
    (
        "unserializable-arg",
        [],
        HEAD + 'function master() mg.startTask("t", require("ffi").new("struct { int a; }")) end\n'
        "function t() end\n",
        [],
        "argument 1: cdata<struct",
        1,
    ),
    (
        "start-task-in-task",
        [],
        HEAD + 'function master() mg.startTask("t") mg.waitForTasks() end\n'
        'function t() mg.startTask("t") end\n',
        [],
        "only available on the master task",
        1,
    ),
    (
        "unknown-script-option",
        [],
        None,
        ["lua_scripts/udp-load.lua", "0", "1", "--rat", "5"],
        "unknown option '--rat'",
        1,
    ),
    ("missing-argument", [], None, ["lua_scripts/udp-load.lua"], "missing argument 'txDev'", 1),
    ("wrong-type", [], None, ["lua_scripts/udp-load.lua", "0", "1", "--rate", "abc"], "abc", 1),
    (
        "unknown-port",
        [],
        HEAD + "function master() device.config{port = 9} end\n",
        [],
        "port 9 does not exist; valid ports: 0 (cable to port 1), 1 (cable to port 0)",
        1,
    ),
    (
        "port-not-a-number",
        [],
        HEAD + 'function master() device.config{port = "x"} end\n',
        [],
        "'port' must be a port number",
        1,
    ),
    (
        "too-many-queues",
        [],
        HEAD + "function master() device.config{port = 0, txQueues = 129} end\n",
        [],
        "supports 1 to 128 tx queues, asked for 129",
        1,
    ),
    (
        "queue-out-of-range",
        [],
        HEAD + "function master()\n  device.config{port = 0}:getTxQueue(3)\nend\n",
        [],
        "device 0 is configured with tx queues 0 to 0, tried to get queue number 3",
        1,
    ),
    (
        "packet-too-large",
        [],
        HEAD + "function master()\n"
        "  local b = memory.createMemPool{n = 63}:bufArray(4)\n  b:alloc(5000)\nend\n",
        [],
        "cannot allocate packets of 5000 bytes",
        1,
    ),
    (
        "packet-too-small",
        [],
        HEAD + "function master()\n"
        "  local b = memory.createMemPool{n = 63}:bufArray(4)\n  b:alloc(4)\nend\n",
        [],
        "cannot allocate packets of 4 bytes",
        1,
    ),
    (
        "mempool-exhausted",
        [],
        HEAD + "function master()\n"
        "  local p = memory.createMemPool{n = 63}\n  local a = p:bufArray(40)\n  a:alloc(60)\n"
        "  local b = p:bufArray(40)\n  b:alloc(60)\nend\n",
        [],
        "mempool exhausted",
        1,
    ),
    (
        "invalid-ip-string",
        [],
        HEAD + "function master()\n"
        "  local b = memory.createMemPool{n = 63}:bufArray(1)\n  b:alloc(60)\n"
        '  b[1]:getUdpPacket():fill{ip4Src = "10.0.0.300"}\nend\n',
        [],
        "10.0.0.300",
        1,
    ),
    ("unknown-moonpy-option", ["--bogus"], None, ["ports"], "unrecognized arguments", 2),
    ("bad-cores", ["--cores", "a-b"], None, ["ports"], "use a list such as 0,1 or 0-3", 1),
    ("unknown-port-kind", ["--port", "wire"], None, ["ports"], "unknown port kind 'wire'", 1),
    ("too-little-memory", ["--memory", "8"], None, ["ports"], "too little for DPDK", 1),
    (
        "eal-failure",
        ["--eal=--no-such-eal-option"],
        None,
        ["ports"],
        "DPDK EAL initialisation failed",
        1,
    ),
    (
        "missing-pcap",
        ["--port", "pcap,rx=/nonexistent.pcap"],
        None,
        ["ports"],
        "pcap file '/nonexistent.pcap' does not exist",
        1,
    ),
    (
        "dpdk-config-file",
        [],
        None,
        ["lua_scripts/udp-load.lua", "--dpdk-config=x.lua"],
        "dpdk-conf.lua files are not read by moonpy",
        1,
    ),
    ("os-exit-code", [], "function master() os.exit(3) end\n", [], "", 3),
]


@pytest.mark.parametrize("name, opts, body, args, expected, code", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input(tmp_path, name, opts, body, args, expected, code):
    if body is not None:
        script = tmp_path / "bad.lua"
        script.write_text(body)
        args = [str(script), *args]
    proc = run_moonpy("--no-color", *opts, *args, timeout=60)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert expected in proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr


def test_corrupt_pcap_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a pcap file at all")
    proc = run_moonpy("--port", f"pcap,rx={bad}", "ports")
    assert proc.returncode == 1
    assert "cannot create virtual device" in proc.stderr and "Traceback" not in proc.stderr


def test_lupa_without_luajit_says_how_to_fix():
    code = (
        "import sys; sys.modules['lupa.luajit21'] = None\n"
        "from moonpy.app.cli import main\n"
        "sys.exit(main(['lua_scripts/udp-load.lua', '0', '1']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        timeout=60,
    )
    assert proc.returncode == 1
    assert "lupa built with LuaJIT 2.1" in proc.stderr and "pip install" in proc.stderr


def test_configuring_a_port_twice_keeps_the_first_and_warns(tmp_path):
    script = tmp_path / "twice.lua"
    script.write_text(
        HEAD + "function master()\n  device.config{port = 0, txQueues = 2}\n"
        "  local d = device.config{port = 0, txQueues = 3}\n"
        "  print('QUEUES ' .. d.numTxQueues)\nend\n"
    )
    proc = run_moonpy("--no-color", str(script))
    assert proc.returncode == 0, proc.stderr
    assert "Device 0 already configured, skipping initilization" in proc.stdout
    assert "QUEUES 2" in proc.stdout


# ---- one line for each bad input, before DPDK starts where it can ------------------------

PCAP_HEAD = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
FRAME = bytes(range(60))


def pcap_record(t: float, data: bytes) -> bytes:
    return struct.pack("<IIII", int(t), int(round(t % 1 * 1e6)), len(data), len(data)) + data


def write_pcaps(folder: Path) -> None:
    (folder / "ok.pcap").write_bytes(PCAP_HEAD + pcap_record(1.0, FRAME) + pcap_record(1.1, FRAME))
    (folder / "backwards.pcap").write_bytes(
        PCAP_HEAD
        + pcap_record(100.5, FRAME)
        + pcap_record(100.2, FRAME)
        + pcap_record(100.6, FRAME)
    )
    (folder / "zero.pcap").write_bytes(
        PCAP_HEAD + pcap_record(1.0, FRAME) + pcap_record(2.0, b"") + pcap_record(3.0, FRAME)
    )
    (folder / "cut.pcap").write_bytes(
        PCAP_HEAD + pcap_record(1.0, FRAME) + pcap_record(2.0, FRAME) + pcap_record(3.0, FRAME)[:30]
    )
    (folder / "setrate.lua").write_text(
        HEAD + "function master(r)\n  device.config{port = 0}:getTxQueue(0):setRate(r)\nend\n"
    )
    (folder / "setrate_nan.lua").write_text(
        HEAD + "function master()\n  device.config{port = 0}:getTxQueue(0):setRate(0/0)\nend\n"
    )
    (folder / "error_table.lua").write_text('function master()\n  error({why = "bad"})\nend\n')


# (id, argv ({tmp} is the test's folder), the one expected line as a regex, exit code).
# The line is searched in stdout + stderr; no traceback may appear anywhere.
LINE_ROWS = [
    ("replay-backwards", ["replay", "{tmp}/backwards.pcap", "--speed", "1"],
     r"\[WARN\]  1 frame\(s\) have a timestamp before the previous frame's: "
     r"sent right after it", 0),
    ("replay-loop-negative", ["replay", "{tmp}/ok.pcap", "--loop", "-1"],
     r"^moonpy: error: --loop -1: must be a number >= 0$", 1),
    ("dump-no-dir", ["dump", "-w", "/nonexistent/x.pcap"],
     r"^moonpy: error: -w /nonexistent/x.pcap: directory '/nonexistent' does not exist$", 1),
    ("dump-snaplen-negative", ["dump", "-w", "{tmp}/x.pcap", "--snaplen", "-1"],
     r"^moonpy: error: --snaplen -1: must be 1 to 262144 bytes per frame$", 1),
    ("dump-snaplen-zero", ["dump", "-w", "{tmp}/x.pcap", "--snaplen", "0"],
     r"^moonpy: error: --snaplen 0: must be 1 to 262144", 1),
    ("dump-count-negative", ["dump", "-w", "{tmp}/x.pcap", "--count", "-5"],
     r"^moonpy: error: --count -5: must be a number >= 0$", 1),
    ("dump-ring-zero", ["dump", "-w", "{tmp}/x.pcap", "--ring", "0"],
     r"^moonpy: error: --ring 0: must be a number >= 1$", 1),
    ("output-no-dir", ["--output", "/nonexistent/x.jsonl", "ports"],
     r"^moonpy: error: --output /nonexistent/x.jsonl: directory '/nonexistent' does not exist$", 1),
    ("output-unknown-kind", ["--output", "{tmp}/x.txt", "ports"],
     r"^moonpy: error: --output .*x\.txt: unknown file type; use a name ending in "
     r"\.jsonl, \.json, \.csv", 1),
    ("setrate-negative", ["{tmp}/setrate.lua", "-100"],
     r"setrate\.lua:\d+: setRate\(-100\): the rate must be a number of Mbit/s from 0 \(off\)", 1),
    ("setrate-nan", ["{tmp}/setrate_nan.lua"], r"setRate\((-?nan)\): the rate must be", 1),
    ("setrate-overflow", ["{tmp}/setrate.lua", "1e15"], r"setRate\(1e\+15\): the rate must be", 1),
    ("rate-option-nan", ["lua_scripts/udp-load.lua", "0", "1", "-r", "nan"],
     r"setRate\(nan\): the rate must be a number", 1),
    ("rate-option-inf", ["lua_scripts/udp-load.lua", "0", "1", "-r", "inf"],
     r"setRate\(inf\): the rate must be a number", 1),
    ("rate-option-negative", ["lua_scripts/udp-load.lua", "0", "1", "-r", "-500"],
     r"setRate\(-500\): the rate must be a number", 1),
    ("rate-option-huge", ["lua_scripts/udp-load.lua", "0", "1", "-r", "1e15"],
     r"setRate\(1e\+15\): the rate must be a number .* to 4294967295$", 1),
    ("py-rate-nan", ["examples/udp-load.py", "0", "1", "-r", "nan"],
     r"set_rate\(nan\): the rate must be a number", 1),
    ("grace-negative", ["--grace", "-1", "ports"],
     r"^moonpy: error: --grace -1\.0: give a number of seconds >= 0", 1),
    ("replay-speed-zero", ["replay", "{tmp}/ok.pcap", "--speed", "0"],
     r"^moonpy: error: --speed 0: must be a number > 0$", 1),
    ("replay-speed-negative", ["replay", "{tmp}/ok.pcap", "--speed", "-1"],
     r"^moonpy: error: --speed -1: must be a number > 0$", 1),
    ("replay-rate-negative", ["replay", "{tmp}/ok.pcap", "--rate", "-5"],
     r"^moonpy: error: --rate -5: must be a number > 0$", 1),
    ("replay-zero-length", ["replay", "{tmp}/zero.pcap"],
     r"\[WARN\]  .*zero\.pcap: 1 zero-length record\(s\) skipped \(nothing to send\)", 0),
    ("replay-cut-off", ["replay", "{tmp}/cut.pcap"],
     r"\[WARN\]  '.*cut\.pcap' is truncated in record 2 \(14 of 60 bytes\): replaying the 2 "
     r"complete records before it", 0),
    ("eal-log-level", ["--eal-log-level", "shouty", "ports"],
     r"^moonpy: error: --eal-log-level shouty: unknown level; use one of emergency", 1),
    ("simple-help", ["simple", "--help"], r"^moonpy simple start FLOW:TX:RX", 0),
    ("simple-no-flow", ["simple", "start", "nosuchflow:0:1"],
     r"^\[FATAL\] Lua error in task master: moonpy simple: no flow named 'nosuchflow'; "
     r"known flows: ", 1),
    ("simple-bad-rate", ["simple", "start", "udp-flows:0:1:rate=fast"],
     r"^\[FATAL\] Lua error in task master: moonpy simple: rate 'fast': use <number>", 1),
    ("simple-no-port", ["simple", "start", "udp-flows:42:1"],
     r"^\[FATAL\] Lua error in task master: port 42 does not exist; valid ports: 0", 1),
    ("simple-bad-option", ["simple", "start", "udp-flows:0:1:txQueues=1000"],
     r"^\[FATAL\] Lua error in task master: moonpy simple: unknown option 'txQueues'", 1),
    ("eal-readme-form", ["--eal", "--huge-dir=/dev/hugepages", "ports"], r"^\s+0\s+cable\s", 0),
    ("hugepages-too-few", ["--hugepages", "--memory", "4000000", "ports"],
     r"^moonpy: error: hugepages: 4000000 MB needs 2000000 free 2 MiB hugepages on a mounted "
     r"hugetlbfs; this machine has \d+ free.*; reserve them as root \(sysctl "
     r"vm\.nr_hugepages=2000000; mount -t hugetlbfs nodev /dev/hugepages\) or run without "
     r"hugepages$", 1),
    ("help-lists-commands", ["--help"], r"^  replay FILE\.pcap\s+send a pcap file", 0),
    ("ports-help", ["ports", "--help"], r"^usage: moonpy \[moonpy options\] ports$", 0),
    ("version", ["--version"], r"^moonpy \d+\.\d+\.\d+$", 0),
    ("script-usage-name", ["lua_scripts/udp-load.lua", "--help"],
     r"^Usage: moonpy lua_scripts/udp-load\.lua ", 0),
    ("tap-name-too-long", ["--port", "tap,iface=averyveryverylongname", "ports"],
     r"^moonpy: error: port entry 0 \(tap\): interface name 'averyveryverylongname' is 21 "
     r"bytes; Linux allows 1 to 15$", 1),
    ("error-table", ["{tmp}/error_table.lua"], r"^error object \(table\): \{why = bad\}$", 1),
    ("replay-progress", ["replay", "{tmp}/ok.pcap", "--loop", "0", "--time", "1.5"],
     r"^\[INFO\]  replay: \d+ frames sent after 1 s$", 0),
    # the example scripts check sizes while parsing: a load task dying on one would let
    # the run go on (as in libmoon) until Ctrl-C
    ("lua-example-size", ["lua_scripts/udp-load.lua", "0", "1", "-s", "100000"],
     r"^Error: size 100000: give a whole number of bytes from 60 to 1514$", 1),
    ("python-example-size", ["examples/udp-load.py", "0", "1", "-s", "5"],
     r"error: argument -s/--size: size 5: give a whole number of bytes from 60 to 1514$", 1),
]  # fmt: skip


@pytest.mark.parametrize("name, argv, line, code", LINE_ROWS, ids=[r[0] for r in LINE_ROWS])
def test_one_clear_line(tmp_path, name, argv, line, code):
    write_pcaps(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = run_moonpy("--no-color", *args, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert re.search(line, out, re.MULTILINE), out
    # no Python traceback, and no frame of moonpy's own Lua library (a script's own
    # frames may follow a script error)
    assert "Traceback (most recent call last)" not in out
    assert "moonpy/lua/" not in out, out


def test_bad_output_is_refused_before_dpdk_starts(tmp_path):
    # the EAL is never started: no runtime directory, no DPDK log line
    proc = run_moonpy("--output", str(tmp_path / "x.txt"), "lua_scripts/udp-load.lua", "0", "1")
    assert proc.returncode == 1
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr


def test_python_script_writes_results_like_a_lua_script(tmp_path):
    out = tmp_path / "x.jsonl"
    proc = run_moonpy("--output", str(out), "examples/udp-load.py", "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    kinds = [json.loads(line)["type"] for line in out.read_text().splitlines()]
    assert kinds[0] == "run" and kinds[-1] == "summary" and "sample" in kinds
    summary = json.loads(out.read_text().splitlines()[-1])
    tx = {p["port"]: p["tx_packets"] for p in summary["ports"]}
    assert tx[0] > 0 and summary["exit_code"] == 0
    csv = tmp_path / "x.csv"
    proc = run_moonpy("--output", str(csv), "examples/udp-load.py", "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    assert csv.read_text().startswith("Time,Device,Direction,PacketRate,Mbit,")


def test_run_leaves_no_runtime_directory():
    code = (
        "import os, sys\nfrom moonpy.app.cli import main\n"
        "from moonpy.core.instances import runtime_dirs\n"
        "rc = main(['ports'])\n"
        "left = [d for d in runtime_dirs() if os.path.exists(d)]\n"
        "print('LEFT', left)\nsys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env=child_env(), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "LEFT []" in proc.stdout


def test_no_colour_escapes_in_piped_output():
    proc = run_moonpy("lua_scripts/udp-load.lua", "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("suffix, body, signals", [
    (".py", "def master():\n    print('SPINNING', flush=True)\n    while True:\n        pass\n", 1),
    (".lua", "function master()\n  print('SPINNING') io.stdout:flush()\n"
     "  local x = 0\n  while true do x = x + 1 end\nend\n", 2),
])  # fmt: skip
def test_ctrl_c_on_a_busy_master_says_what_happens_and_ends(tmp_path, suffix, body, signals):
    script = tmp_path / f"spin{suffix}"
    script.write_text(body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moonpy", "--no-color", str(script)],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    while "SPINNING" not in proc.stdout.readline():
        pass
    sent = time.monotonic()
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2.5
    assert proc.returncode == 130
    assert "press Ctrl-C again to abort now" in err
    if signals == 2:  # a Lua loop cannot be interrupted: the second Ctrl-C aborts
        assert "Received more than one SIGINT/SIGTERM, aborting" in err
    else:
        assert "interrupting it" in err and "Traceback" not in err


def test_hugepages_run_where_reserved_and_say_what_is_missing_elsewhere():
    # `--hugepages` takes DPDK's memory from hugetlbfs: where this machine has the pages the
    # run sends and counts as without them; where it has not, one line says how to get them
    from moonpy.core.config import hugepage_problem

    proc = run_moonpy(
        "--no-color", "--hugepages", "--memory", "64", "--plain",
        "lua_scripts/udp-load.lua", "0", "1", "--time", "1", timeout=60,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    problem = hugepage_problem(64)
    if problem is None:
        assert proc.returncode == 0, out
        tx = re.search(r"\[Device: id=0\] TX: .* total (\d+) packets", out)
        assert tx and int(tx.group(1)) > 0, out
    else:
        assert proc.returncode == 1, out
        assert f"moonpy: error: {problem}" in out
