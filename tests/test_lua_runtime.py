"""The Lua runtime: `moonpy SCRIPT.lua args` runs MoonGen's configure/master/task
model with one LuaJIT VM per task; errors, signals and odd scripts end cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import (
    LUA_SCRIPTS,
    ROOT,
    TEST_SCRIPTS,
    assert_run_went_on_past_a_dead_task,
    child_env,
    run_moonpy,
)
from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import rdpcap

pytestmark = pytest.mark.dpdk


def script(name: str) -> str:
    return str((TEST_SCRIPTS / name).relative_to(ROOT))


def test_task_arguments_and_results_of_every_kind_cross_between_vms():
    proc = run_moonpy("--no-color", script("task_values.lua"))
    assert proc.returncode == 0, proc.stderr
    assert "ALL VALUES OK" in proc.stdout


def test_unserializable_argument_names_the_argument():
    proc = run_moonpy("--no-color", script("bad_argument.lua"))
    assert proc.returncode == 1
    assert "[FATAL] Lua error in task master" in proc.stderr
    assert (
        'tests/lua/bad_argument.lua:5: startTask("victim") argument 2: cdata<struct' in proc.stderr
    )
    assert "is an anonymous struct, which cannot cross to another task" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_task_arguments_cross_as_one_dump_with_shared_tables_cycles_and_cdata():
    proc = run_moonpy("--no-color", script("task_one_dump.lua"))
    assert proc.returncode == 0, proc.stderr
    assert "ONE DUMP OK" in proc.stdout
    assert 'startTask("check") argument 3: a function cannot cross' in proc.stderr


def test_function_nested_in_a_table_arrives_as_nil_with_a_warning():
    proc = run_moonpy("--no-color", script("nested_function.lua"))
    assert proc.returncode == 0, proc.stderr
    assert "TASK SAW true" in proc.stdout
    assert 'startTask("check") argument 1.cb: a function cannot cross' in proc.stderr


def test_syntax_error_shows_file_and_line():
    proc = run_moonpy("--no-color", script("syntax_error.lua"))
    assert proc.returncode == 1
    assert "tests/lua/syntax_error.lua:4: unexpected symbol near '='" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_runtime_error_in_master_stops_tasks_and_fails():
    proc = run_moonpy("--no-color", script("master_error.lua"))
    assert proc.returncode == 1
    assert "[FATAL] Lua error in task master" in proc.stderr
    assert "tests/lua/master_error.lua:7: attempt to index local 't' (a nil value)" in proc.stderr
    assert "stack traceback:" in proc.stderr
    assert "spinner stopped" in proc.stdout  # the other task left its loop


def test_runtime_error_in_task_is_reported_and_the_run_goes_on():
    proc = run_moonpy("--no-color", script("task_error.lua"))
    assert "[FATAL] Lua error in task crasher" in proc.stderr
    assert "tests/lua/task_error.lua:17: boom in task" in proc.stderr
    assert "master continued, running=true" in proc.stdout
    assert_run_went_on_past_a_dead_task(proc, "0 values")


def test_task_that_never_checks_running_is_reported_not_hung():
    start = time.monotonic()
    proc = run_moonpy("--no-color", "--grace", "1", script("stuck_task.lua"), timeout=30)
    assert time.monotonic() - start < 15
    assert proc.returncode == 1
    assert "task 'stuck' on core" in proc.stderr and "must check mg.running()" in proc.stderr


def test_more_tasks_than_cores_share_cores_with_a_warning():
    proc = run_moonpy("--no-color", "--cores", "0,1", script("many_tasks.lua"), "4")
    assert proc.returncode == 0, proc.stderr
    assert "SUM 100" in proc.stdout
    assert "more tasks than worker cores (1 worker cores: [1])" in proc.stderr


def test_lua52_compat_ipairs_len_and_utils_globals():
    proc = run_moonpy("--no-color", script("compat52.lua"))
    assert proc.returncode == 0, proc.stderr
    assert "COMPAT OK" in proc.stdout


def test_script_without_configure_gets_raw_words_with_numbers_converted():
    proc = run_moonpy("--no-color", script("raw_args.lua"), "0x10", "abc", "1e3")
    assert proc.returncode == 0, proc.stderr
    assert "ARGS number:16 string:abc number:1000 nil" in proc.stdout


def test_script_help_comes_from_configure():
    proc = run_moonpy("lua_scripts/udp-load.lua", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: moonpy lua_scripts/udp-load.lua" in proc.stdout
    assert "-r <rate>, --rate <rate>" in proc.stdout


def test_unknown_script_option_is_an_error_naming_it():
    proc = run_moonpy("lua_scripts/udp-load.lua", "0", "1", "--rat", "5")
    assert proc.returncode == 1
    assert "unknown option '--rat'" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.lua"], "script 'missing.lua' does not exist"),
        (["README.md"], "'README.md' is not a script (.lua or .py)"),
    ],
)
def test_bad_script_path(args, message):
    proc = run_moonpy(*args)
    assert proc.returncode == 1 and message in proc.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_with_counters_and_no_leaks(sig, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "moonpy", "--no-color", script("load_forever.lua"), "0"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line and "started" not in line:
        line = proc.stdout.readline()
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == code, err
    assert "counters finalized: true" in out
    assert "not returned" not in err  # every mbuf back in its pool


def test_udp_load_sends_random_sources_that_arrive_across_the_cable(tmp_path):
    out = tmp_path / "udp.pcap"
    # port 2 captures; the cable carries the same script's traffic in the second run
    proc = run_moonpy(
        "--no-color",
        "--port",
        f"pcap,tx={out}",
        str(LUA_SCRIPTS / "udp-load.lua"),
        "0",
        "0",
        "--time",
        "1",
        "--rate",
        "20",
    )
    assert proc.returncode == 0, proc.stderr
    pkts = rdpcap(str(out))
    assert len(pkts) > 1000
    srcs = {p[IP].src for p in pkts}
    sports = {p[UDP].sport for p in pkts}
    # 32-bit sources rarely repeat; 16-bit ports collide as often as chance says (~75 % unique)
    assert len(srcs) > len(pkts) * 0.95 and len(sports) > len(pkts) * 0.6
    for p in pkts[:200]:
        assert p[IP].dst == "10.1.0.1" and p[UDP].dport == 319 and len(p) == 60
        # checksums computed in software for the offload request
        assert IP(bytes(p[IP]))[IP].chksum == p[IP].chksum
        rebuilt = IP(bytes(p[IP]))
        del rebuilt[IP].chksum
        del rebuilt[UDP].chksum
        rebuilt = IP(bytes(rebuilt))
        assert rebuilt[IP].chksum == p[IP].chksum and rebuilt[UDP].chksum == p[UDP].chksum
    proc = run_moonpy("--no-color", str(LUA_SCRIPTS / "udp-load.lua"), "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    received = [ln for ln in proc.stdout.splitlines() if "Received" in ln]
    assert received and int(received[0].split("Received ")[1].split()[0]) > 10_000


def test_software_checksums_on_a_port_without_offload(tmp_path):
    # UDP and TCP, 54..1514 bytes (odd sizes too), with and without IPv4 options, random
    # payloads: every checksum moonpy wrote is the one scapy computes
    out = tmp_path / "cs.pcap"
    proc = run_moonpy("--no-color", "--port", f"pcap,tx={out}", "tests/lua/sw_checksums.lua")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "SENT 132" in proc.stdout
    pkts = rdpcap(str(out))
    assert len(pkts) == 132
    seen = set()
    for p in pkts:
        ip = p[IP]
        l4 = UDP if ip.proto == 17 else TCP
        seen.add((ip.proto, ip.ihl, len(p) % 2))
        rebuilt = IP(bytes(ip))
        del rebuilt[IP].chksum
        del rebuilt[l4].chksum
        rebuilt = IP(bytes(rebuilt))
        assert rebuilt[IP].chksum == ip.chksum, (len(p), ip.proto, ip.ihl)
        assert rebuilt[l4].chksum == p[l4].chksum, (len(p), ip.proto, ip.ihl)
    assert {(17, 5, 0), (17, 6, 1), (6, 5, 1), (6, 6, 0)} <= seen


def test_an_offload_request_is_carried_out_when_the_array_is_sent(tmp_path):
    # bufArray:offloadUdpChecksums() waits for the send (one pass over the buffers): what
    # the script changes after it is in the checksums, bufs[i] sees its flags, a split
    # send gets it on both halves, and a request never sent stays off the next alloc's
    out = tmp_path / "ol.pcap"
    proc = run_moonpy("--no-color", "--port", f"pcap,tx={out}", "tests/lua/offload_at_send.lua")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "B flags true l2 14 l3 20" in proc.stdout and "SENT 16" in proc.stdout
    pkts = rdpcap(str(out))
    assert len(pkts) == 16
    for i, p in enumerate(pkts):
        ip = p[IP]
        rebuilt = IP(bytes(ip))
        del rebuilt[IP].chksum
        del rebuilt[UDP].chksum
        rebuilt = IP(bytes(rebuilt))
        if i < 12:  # A, B, C
            assert (ip.chksum, p[UDP].chksum) == (rebuilt[IP].chksum, rebuilt[UDP].chksum), i
        else:  # D: no request, the bytes as written
            assert (ip.chksum, p[UDP].chksum) == (0xADDE, 0xADDE), i
    assert [p[IP].src for p in pkts[:4]] == [f"10.1.1.{i}" for i in range(1, 5)]
    assert {p[IP].src for p in pkts[12:]} == {"10.0.0.6"}


def test_buffers_of_a_task_that_died_go_back_to_their_pool():
    proc = run_moonpy("--no-color", script("task_dies_holding_buffers.lua"))
    assert proc.returncode == 1
    assert "task_dies_holding_buffers.lua:29: dies holding 34 buffers" in proc.stderr
    assert "receiver stopped" in proc.stdout
    # exactly what it held: a sent buffer put back twice would show as a pool over full
    assert "34 buffers held by the failed run's tasks were returned" in proc.stderr
    assert "not returned" not in proc.stderr


def test_old_moongen_forms_and_a_tx_queue_the_peer_has_no_rx_queue_for():
    """Third-party scripts: device.config(port, mempool, rx, tx) of MoonGen before
    libmoon, a task pinned to a core this machine lacks, and frames sent on TX queue 1
    towards a port with one RX queue (a NIC delivers them to RX queue 0)."""
    proc = run_moonpy("--no-color", script("legacy_config_pinned.lua"), "0", "1")
    assert proc.returncode == 0, proc.stderr
    assert "TXQ1 true" in proc.stdout
    assert "startTaskOnCore: core 9 is not one of moonpy's cores" in proc.stderr
    # 200 UDP frames of 124 bytes (+4 CRC as counted by MoonGen's getSize: 124)
    assert "RECEIVED 200 BYTES 24800" in proc.stdout, proc.stdout
