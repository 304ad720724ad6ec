"""Bad input: one clear message naming the problem (and the fix), a non-zero exit
code, no Python traceback, nothing left running. One row per case."""

from __future__ import annotations

import subprocess
import sys

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
        HEAD + "function master() device.config{port = 0, txQueues = 9} end\n",
        [],
        "supports 1 to 4 tx queues, asked for 9",
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
        "from moonpy.cli import main\n"
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
