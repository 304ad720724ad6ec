"""Shared helpers: moonpy runs in child processes (DPDK's EAL starts once per
process), each reporting what it measured as JSON on its last stdout line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LUA_SCRIPTS = ROOT / "lua_scripts"
TEST_SCRIPTS = ROOT / "tests" / "lua"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    # every moonpy run in the suite fails (exit 70) if a mempool did not get all its
    # buffers back: the leak check of each test's child process
    env["MOONPY_CHECK_LEAKS"] = "1"
    # the suite runs moonpy processes side by side on purpose (and other suites may run
    # beside it): no "another moonpy run uses core N" warnings in outputs compared exactly
    env["MOONPY_NO_INSTANCE_CHECK"] = "1"
    return env


def run_python(code: str, timeout: float = 60) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object last."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"child printed no JSON:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1])


def run_moonpy(
    *args: str, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``moonpy`` command line (as ``python -m moonpy``)."""
    return subprocess.run(
        [sys.executable, "-m", "moonpy", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=ROOT,
        input=input,
    )


@pytest.fixture
def moonpy():
    return run_moonpy


# ---- strict mode: CI never passes by skipping what it is meant to check -----------------
#
# With CI=true (or MOONPY_STRICT=1) a skipped test fails: a missing oracle (tcpdump, numpy,
# scapy, lupa.luajit21, a tun device) means the set-up is incomplete, and `make deps` /
# the test extras install all of them. The one skip left is MachineTooBusy: a timing test
# whose run lost so much CPU to other work that its statistics say nothing either way.


class MachineTooBusy(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """A skip that strict mode keeps: the machine's load, not a missing tool."""


def strict() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("MOONPY_STRICT") == "1"


def _fail_skip(report: pytest.CollectReport | pytest.TestReport, why: str) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true/MOONPY_STRICT=1, which allows no missing oracle: {why}\n"
        "install what the tests need with `make deps build` (apt packages, test extras)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    report = yield
    if (
        strict()
        and report.skipped
        and not hasattr(report, "wasxfail")
        and not (call.excinfo is not None and call.excinfo.errisinstance(MachineTooBusy))
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _fail_skip(report, str(reason))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    report = yield
    if strict() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _fail_skip(report, f"{collector.nodeid}: {reason}")
    return report


def have_tun() -> bool:
    return os.path.exists("/dev/net/tun") and os.geteuid() == 0


def assert_run_went_on_past_a_dead_task(proc: subprocess.CompletedProcess[str], empty: str) -> None:
    """The run of tests/lua/task_error.lua or tests/py/task_error.py: as libmoon, the dead
    task's result is empty (``empty`` is how the master prints it), the master and the other
    task go on until the run's end (1.5 s, long after the crash at 0.1 s), and the last line
    says which task failed, where the exit status is read."""
    assert proc.returncode == 1
    assert f"crasher result: {empty}" in proc.stdout
    assert "master continued, running=" in proc.stdout
    m = re.search(r"spinner stopped after ([\d.]+) s", proc.stdout)
    assert m and float(m.group(1)) >= 1.2, proc.stdout
    assert "spinner result: 42" in proc.stdout
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "[ERROR] 1 task failed (crasher; errors above); exit status 1"
    ), proc.stderr
