"""`moonpy SCRIPT.py`: task arguments and results, the script's own arguments, errors with
file and line (in the master, in a task, API misuse), a task that never checks running(),
and signals ending a run; each run is a child process on real DPDK ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, assert_run_went_on_past_a_dead_task, child_env, run_moonpy

PY = ROOT / "tests" / "py"
EXAMPLES = ROOT / "examples"


def script(name: str) -> str:
    return str((PY / name).relative_to(ROOT))


# ---- scripts: arguments, errors, exit codes -----------------------------------------------


@pytest.mark.dpdk
def test_task_arguments_results_and_exit_code():
    proc = run_moonpy("--no-color", script("task_values.py"))
    assert proc.returncode == 3, proc.stderr
    assert "ALL VALUES OK" in proc.stdout
    assert "more tasks than worker cores" in proc.stderr


@pytest.mark.dpdk
def test_script_without_configure_gets_raw_words_with_numbers_converted():
    proc = run_moonpy("--no-color", script("raw_args.py"), "0x10", "abc", "1e3")
    assert proc.returncode == 0, proc.stderr
    assert "ARGS int:16 str:abc float:1000.0" in proc.stdout


def test_script_help_and_bad_arguments():
    proc = run_moonpy(str(EXAMPLES / "udp-load.py"), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: moonpy" in proc.stdout and "--rate RATE" in proc.stdout
    proc = run_moonpy(str(EXAMPLES / "udp-load.py"), "0", "1", "--rat", "5")
    assert proc.returncode == 1
    assert "unrecognized arguments: --rat" in proc.stderr or "ambiguous" in proc.stderr


def test_syntax_error_shows_file_and_line(tmp_path):
    bad = tmp_path / "syntax_error.py"
    bad.write_text("def master():\n    x = = 1\n")
    proc = run_moonpy("--no-color", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:2: SyntaxError: invalid syntax" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.dpdk
def test_error_in_master_shows_script_frames_only_and_stops_tasks():
    proc = run_moonpy("--no-color", script("master_error.py"))
    assert proc.returncode == 1
    assert "[FATAL] Python error in task master" in proc.stderr
    assert 'File "tests/py/master_error.py", line 16, in master' in proc.stderr
    assert "AttributeError: 'NoneType' object has no attribute 'value'" in proc.stderr
    assert "moonpy/" not in proc.stderr  # no frames of moonpy itself
    assert "spinner stopped" in proc.stdout


@pytest.mark.dpdk
def test_error_in_task_is_reported_and_the_run_goes_on():
    proc = run_moonpy("--no-color", script("task_error.py"))
    assert "[FATAL] Python error in task crasher" in proc.stderr
    assert 'tests/py/task_error.py", line 13, in helper' in proc.stderr
    assert "RuntimeError: boom in task 7" in proc.stderr
    assert "master continued, running=True" in proc.stdout
    assert_run_went_on_past_a_dead_task(proc, "None")


@pytest.mark.dpdk
def test_api_misuse_is_one_line_with_file_and_line():
    proc = run_moonpy("--no-color", script("bad_port.py"))
    assert proc.returncode == 1
    assert "tests/py/bad_port.py:7: port 9 does not exist; valid ports: 0" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.dpdk
def test_task_that_never_checks_running_is_reported_not_hung():
    start = time.monotonic()
    proc = run_moonpy("--no-color", "--grace", "1", script("stuck_task.py"), timeout=30)
    assert time.monotonic() - start < 15
    assert proc.returncode == 1
    assert "task 'stuck' on core" in proc.stderr and "must check moonpy.running()" in proc.stderr


@pytest.mark.dpdk
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_field_engine_cleanly(sig, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "moonpy", "--no-color", "--port", "null", script("load_forever.py")],
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
    assert "counters finalized: True" in out
    assert "not returned" not in err
