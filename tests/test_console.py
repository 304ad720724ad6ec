"""The console: live dashboard, MoonGen's plain lines, results files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, child_env, run_moonpy
from rich.console import Console

from moonpy.console.dashboard import (
    PortRates,
    lua_number,
    port_table,
    rates,
    render_dashboard,
    summary_table,
)
from moonpy.core.engine import Counters

SNAPSHOTS = Path(__file__).parent / "snapshots"
ESC = "\x1b"


def test_rate_math_counts_crc_and_framing_like_moongen():
    prev = Counters()
    cur = Counters(opackets=14_880_952, obytes=14_880_952 * 60)
    tx_mpps, tx_mbit, tx_wire, rx_mpps, _, _ = rates(prev, cur, 1.0)
    assert round(tx_mpps, 2) == 14.88
    assert round(tx_mbit) == 7619  # (60 + 4) * 8 bits per frame
    assert round(tx_wire) == 10000  # + 20 B of preamble, SFD and gap
    assert rx_mpps == 0


def test_lua_number_formatting_matches_lua_tostring():
    assert lua_number(10000.0) == "10000"
    assert lua_number(7619.047619047619) == "7619.0476190476"
    assert lua_number(float("nan")) == "nan"


def dashboard_text() -> str:
    ports = [
        PortRates(
            0,
            "cable",
            tx_mpps=14.88,
            tx_mbit=7619,
            tx_wire_mbit=10000,
            tx_packets=148_809_523,
            tx_bytes=9_523_809_472,
        ),
        PortRates(
            1,
            "cable",
            rx_mpps=14.5,
            rx_mbit=7424,
            rx_wire_mbit=9744,
            rx_packets=145_000_000,
            rx_bytes=9_280_000_000,
            missed=3_809_523,
        ),
    ]
    tasks = [
        ("loadSlave", 1, "worker", "running", 148_809_523),
        ("counterSlave", 0, "shared", "done", 145_000_000),
    ]
    console = Console(record=True, width=130, color_system=None, force_terminal=False)
    console.print(
        render_dashboard(
            "udp-load.lua 0 1",
            12.0,
            8.0,
            ports,
            tasks,
            {(0, 0): (1000.0, 0.0)},
            {(0, 0): 998.7},
            pacing={
                (0, 0): {"mpps": 1.95, "gaps_within_256ns": 99.61, "thread_lost": 1.21},
                (0, 1): {"mpps": 0.25, "gaps_within_256ns": 99.02, "thread_lost": 1.4},
            },
            histograms={
                "timerSlave#1": (
                    5000,
                    1500.0,
                    1900.0,
                    2600.0,
                    9100.0,
                    1200.0,
                    2600.0,
                    [300, 1400, 1900, 800, 300, 150, 80, 70],
                )
            },
        )
    )
    return console.export_text()


def test_dashboard_snapshot():
    text = dashboard_text()
    # regenerate after an intended change with: python -c "import tests.test_console as t;
    # open('tests/snapshots/dashboard.txt', 'w').write(t.dashboard_text())"
    assert text == (SNAPSHOTS / "dashboard.txt").read_text()
    assert "148,809,523" in text and "3,809,523" in text and "8.0 s left" in text
    assert "1000 Mbit/s" in text and "999 Mbit/s" in text
    assert "timerSlave#1" in text and "2600" in text  # the latency histogram


def test_summary_table_shows_loss():
    console = Console(record=True, width=140, color_system=None)
    console.print(
        summary_table(
            {
                "ports": [
                    {
                        "port": 1,
                        "kind": "cable",
                        "tx_packets": 0,
                        "tx_avg_mpps": 0.0,
                        "tx_peak_mpps": 0.0,
                        "rx_packets": 900,
                        "rx_avg_mpps": 0.9,
                        "rx_peak_mpps": 1.0,
                        "missed": 100,
                        "loss": 0.1,
                    }
                ]
            }
        )
    )
    assert "10.000 %" in console.export_text()


PLAIN_UPDATE = re.compile(
    rf"^{ESC}\[(0;34|1;36)m\[Device: id=\d+\] (TX|RX){ESC}\[0m: \d+\.\d\d Mpps, \d+ Mbit/s "
    r"\(\d+ Mbit/s with framing\)$"
)
PLAIN_FINAL = re.compile(
    rf"^{ESC}\[(0;34|1;36)m\[Device: id=\d+\] (TX|RX){ESC}\[0m: (-?nan|\d+\.\d\d) \(StdDev "
    r"(-?nan|\d+\.\d\d)\) Mpps, (-?nan|\d+) \(StdDev (-?nan|\d+)\) Mbit/s \((-?nan|\d+) Mbit/s "
    r"with framing\), total (\d+) packets with (\d+) bytes \(incl\. CRC\)$"
)


def test_plain_output_keeps_moongen_lines_and_jsonl_totals_match(tmp_path):
    out = tmp_path / "r.jsonl"
    proc = run_moonpy(
        "--color", "--output", str(out), "lua_scripts/udp-load.lua", "0", "1", "--time", "3"
    )
    assert proc.returncode == 0, proc.stderr
    updates = [ln for ln in proc.stdout.splitlines() if PLAIN_UPDATE.match(ln)]
    finals = [PLAIN_FINAL.match(ln) for ln in proc.stdout.splitlines()]
    finals = [m for m in finals if m]
    assert len(updates) >= 2 and len(finals) == 2
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["script"] == "lua_scripts/udp-load.lua"
    assert records[0]["ports"][0]["kind"] == "cable" and records[0]["moonpy_version"]
    assert any(r["type"] == "sample" for r in records)
    summary = records[-1]
    assert summary["type"] == "summary" and summary["exit_code"] == 0
    by_port = {p["port"]: p for p in summary["ports"]}
    tx_final = next(m for m in finals if m.group(2) == "TX")
    # the stats task's final TX total equals the summary's device counter
    assert int(tx_final.group(8)) == by_port[0]["tx_packets"]
    assert by_port[1]["rx_packets"] + by_port[1]["missed"] <= by_port[0]["tx_packets"]


def test_csv_output_uses_moongen_header(tmp_path):
    out = tmp_path / "r.csv"
    proc = run_moonpy(
        "--port", "null", "--output", str(out), "lua_scripts/udp-load.lua", "0", "0", "--time", "2"
    )
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert (
        lines[0] == "Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes"
    )
    assert any(",Device: id=0,TX," in ln for ln in lines[1:])


@pytest.mark.skipif(
    subprocess.run(["which", "script"], capture_output=True).returncode != 0,
    reason="needs util-linux `script` for a pseudo-terminal",
)
def run_under_pty(script_args: str) -> str:
    """``moonpy SCRIPT_ARGS`` on a 140x40 pseudo-terminal (the live dashboard draws);
    what the terminal was sent."""
    cmd = f"{sys.executable} -m moonpy {script_args}"
    proc = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**child_env(), "COLUMNS": "140", "LINES": "40", "TERM": "xterm"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_live_dashboard_under_a_pseudo_terminal():
    screen = run_under_pty("lua_scripts/udp-load.lua 0 1 --time 2")
    # the live tables were drawn (headers are two lines: "TX" over "Mpps")
    assert "Mpps" in screen and "total" in screen and "loadSlave" in screen
    assert screen.count("elapsed") >= 2  # and refreshed
    assert "summary" in screen and "avg Mpps" in screen
    assert "2 devices are up." in screen  # Lua's output scrolled above the live area


@pytest.mark.skipif(
    subprocess.run(["which", "script"], capture_output=True).returncode != 0,
    reason="needs util-linux `script` for a pseudo-terminal",
)
def test_python_script_tasks_show_their_own_packets_on_the_dashboard():
    screen = re.sub(
        r"\x1b\[[0-9;?]*[a-zA-Z]", "", run_under_pty("examples/udp-load.py 0 1 --time 2")
    )
    # each task's row counts the queues it was handed (the sender's TX, the counter's RX)
    for task in ("engine_load", "counter"):
        rows = re.findall(rf"{task}\s*│[^\n]*│\s*([\d,]+)\s*│", screen)
        assert rows and int(rows[-1].replace(",", "")) > 0, screen[-3000:]


def test_live_histograms_and_script_counters_render():
    console = Console(record=True, width=130, color_system=None, force_terminal=False)
    console.print(
        render_dashboard(
            "l3-load-latency.lua 0 1",
            3.0,
            -1.0,
            [],
            [],
            {},
            {},
            counters={"Device: id=0 TX": (1.92, 981.0, 5_589_627)},
            histograms={
                "timer#1": (
                    1024,
                    160.0,
                    430.0,
                    3100.0,
                    14570.0,
                    110.0,
                    3100.0,
                    [900, 60, 30, 10, 5, 3, 1, 15],
                )
            },
        )
    )
    text = console.export_text()
    assert "script counters" in text and "5,589,627" in text
    assert "latency (live, ns)" in text and "14570" in text
    assert "110 █" in text and " 3100 │" in text


def test_sparkline_scales_to_the_largest_bucket():
    from moonpy.console.dashboard import sparkline

    assert sparkline([0, 4, 8]) == " ▄█"
    assert sparkline([0, 0]) == "  "


def test_port_table_keeps_every_digit_at_120_columns():
    big = 123_456_789_012
    rows = [
        PortRates(
            port=i,
            kind="cable",
            tx_mpps=148.81,
            tx_mbit=99999.0,
            tx_wire_mbit=99999.0,
            rx_mpps=148.81,
            rx_mbit=99999.0,
            rx_wire_mbit=99999.0,
            tx_packets=big,
            rx_packets=big,
            missed=big,
            errors=123_456,
        )
        for i in range(2)
    ]
    console = Console(record=True, width=120, color_system=None)
    console.print(port_table(rows, {}))
    text = console.export_text()
    assert text.count("123,456,789,012") == 6 and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 120
