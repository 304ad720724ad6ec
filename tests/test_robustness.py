"""Robustness: signals at random moments, hostile frames through RX parsers."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, child_env, run_moonpy

pytestmark = [pytest.mark.dpdk, pytest.mark.slow]

RUNS = 50


def test_signals_at_random_moments_always_end_cleanly_within_2s():
    rng = random.Random(20261125)
    failures = []
    for i in range(RUNS):
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        delay = rng.uniform(0.1, 1.5)  # imports, EAL start, set-up, task start, full-rate TX
        proc = subprocess.Popen(
            [sys.executable, "-m", "moonpy", "--no-color", "tests/lua/load_forever.lua", "0"],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            failures.append(f"run {i}: {sig.name} after {delay:.2f}s: hung")
            continue
        took = time.monotonic() - sent
        problems = []
        if took > 2.0:
            problems.append(f"took {took:.2f}s")
        if proc.returncode not in (128 + sig, 0):
            problems.append(f"exit {proc.returncode}")
        if "not returned" in err:
            problems.append("mbufs not returned")
        if "Traceback" in err:
            problems.append("python traceback")
        if "started" in out and "counters finalized: true" not in out and proc.returncode:
            problems.append("counters not finalized")
        if problems:
            failures.append(
                f"run {i}: {sig.name} after {delay:.2f}s: {', '.join(problems)}\n{err[-300:]}"
            )
    assert not failures, "\n".join(failures)


def test_hostile_frames_through_the_rx_parsers():
    proc = run_moonpy("--no-color", "lua_scripts/fuzz-rx.lua", "0", "1", "-n", "20000", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = re.search(r"FUZZ sent=(\d+) received=(\d+) decoded=(\d+)", proc.stdout)
    assert m, proc.stdout
    sent, received, decoded = map(int, m.groups())
    assert sent == 20000 and received > sent // 4 and decoded == received
