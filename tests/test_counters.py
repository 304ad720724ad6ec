"""Exact counters on the virtual cable, counted as a NIC counts them (a load generator is
only as good as its counts): frames of known, mixed sizes; packets and bytes checked on
both ends, per task and per device, read and unread receivers, over capacity, stopped
mid-run, and with tasks sharing cores."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, run_moonpy

SCRIPT = str(ROOT / "tests/lua/counters_exact.lua")
SIZES = (60, 64, 128, 333, 1000, 1514)


def run(*args: str, cores: str | None = None) -> tuple[dict, str]:
    extra = ["--cores", cores] if cores else []
    proc = run_moonpy("--no-color", "--plain", *extra, SCRIPT, *args, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line), proc.stderr


def expected_bytes(n: int) -> int:
    return sum(SIZES[i % len(SIZES)] for i in range(n))


@pytest.mark.dpdk
@pytest.mark.parametrize("mode", ["low", "unread", "unconfigured"])
def test_low_rate_every_frame_counted_on_both_ends(mode):
    n = 900  # below what one ring holds (half the sender's 2047-buffer pool)
    r, _ = run(mode, "-n", str(n))
    want = [n, expected_bytes(n)]
    assert r["task_tx"] == want and r["dev_tx"] == want
    # getRxStats: every frame that reached the port, read or still in its ring, or missed
    assert r["dev_rx"] == want
    if mode == "low":
        assert r["task_rx"] == want and r["ipackets"] == n and r["imissed"] == 0
    elif mode == "unread":  # a NIC counts frames sitting unread in its RX ring
        assert r["task_rx"] == [0, 0] and r["ipackets"] == n and r["imissed"] == 0
    else:  # no RX queue: on the wire, dropped by the receiver, the sender's buffers freed
        assert r["ipackets"] == 0 and r["imissed"] == n


@pytest.mark.dpdk
def test_over_capacity_received_plus_missed_is_sent():
    n = 300_000
    r, _ = run("over", "-n", str(n))
    want = [n, expected_bytes(n)]
    assert r["task_tx"] == want and r["dev_tx"] == want
    assert r["dev_rx"] == want  # bytes of missed frames count with their real length
    assert r["ipackets"] + r["imissed"] == n
    assert r["task_rx"] == [r["ipackets"], r["ibytes"]]  # the receiver read all that arrived


@pytest.mark.dpdk
def test_unread_over_capacity_small_pool_does_not_block():
    n = 30_000  # 2047-buffer pool: the ring takes 1023, the rest is missed, alloc goes on
    r, _ = run("unread", "-n", str(n))
    assert r["task_tx"] == r["dev_tx"] == r["dev_rx"] == [n, expected_bytes(n)]
    assert r["ipackets"] == 1023 and r["imissed"] == n - 1023


@pytest.mark.dpdk
def test_stopping_mid_run_adds_nothing():
    r, _ = run("stop")
    sent = r["task_tx"]
    assert sent[0] > 0 and r["dev_tx"] == sent and r["dev_rx"] == sent
    assert r["ipackets"] + r["imissed"] == sent[0]
    # what the receiver did not read after the stop is what sits in its ring
    assert 0 <= r["ipackets"] - r["task_rx"][0] <= 4095


@pytest.mark.dpdk
@pytest.mark.parametrize("extra", [0, 2])
def test_shared_cores_low_rate_lose_nothing(extra):
    # 2 cores: the master's and one worker; sender, receiver and `extra` busy tasks
    n = 30_000  # 30 frames per ms
    r, err = run("low", "-n", str(n), "--extra", str(extra), cores="0,1")
    want = [n, expected_bytes(n)]
    assert r["task_tx"] == r["dev_tx"] == r["dev_rx"] == r["task_rx"] == want
    assert r["imissed"] == 0
    lines = [ln for ln in err.splitlines() if "more tasks than worker cores" in ln]
    assert len(lines) == 1 and "core 0 (the master's): " in lines[0]
