"""Long runs of counting scripts finish complete on a 2-core machine (issue 22 item 5):
each of the 65,536 ethertypes sent once and counted once with the tasks sharing cores,
without a rate limit towards a receiver with ``dropEnable = false`` (the full RX ring holds
the sender back, as a NIC without RX drop does with flow control) and paced at a rate one
core carries; timestamps of every frame written to a file. ``make long-counts`` runs the
timestamps with 10^6 frames."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ROOT, run_moonpy

SCRIPT = str(ROOT / "tests/lua/long_counts.lua")


def run(*args: str) -> dict:
    # the master's core and one worker for a sender, a receiver and a busy task
    proc = run_moonpy("--no-color", "--plain", "--cores", "0,1", SCRIPT, *args, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def assert_complete(r: dict, n: int) -> None:
    assert r["sent"] == n and r["dev_rx"] == n
    assert r["received"] == r["distinct"] == r["ipackets"] == n
    assert r["duplicates"] == 0 and r["first_missing"] == -1 and r["imissed"] == 0


@pytest.mark.dpdk
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ethertypes", "paced"])
def test_every_ethertype_once_on_shared_cores(mode):
    assert_complete(run(mode), 65536)


@pytest.mark.dpdk
@pytest.mark.slow
def test_every_timestamp_in_the_file(tmp_path):
    n = int(os.environ.get("MOONPY_LONG_TIMESTAMPS", "20000"))
    out = tmp_path / "ts.csv"
    assert_complete(run("timestamps", "-n", str(n), "-f", str(out)), n)
    rows = [ln.split(",") for ln in out.read_text().splitlines()]
    assert sorted(int(seq) for seq, _ in rows) == list(range(n))
    assert all(float(lat) > 0 for _, lat in rows)
