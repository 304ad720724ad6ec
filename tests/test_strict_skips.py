"""Strict mode (CI=true / MOONPY_STRICT=1): a skipped test fails, except a timing test
whose machine was too busy to judge. Checked by running pytest on planted tests with
this suite's conftest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PLANTED = """
import pytest
from conftest import MachineTooBusy

missing = pytest.importorskip("no_such_module_for_moonpy")
"""

PLANTED_TESTS = """
import pytest
from conftest import MachineTooBusy

@pytest.mark.skipif(True, reason="tool-x is the oracle")
def test_marker_skip():
    pass

def test_runtime_skip():
    pytest.skip("no oracle here")

def test_busy():
    raise MachineTooBusy("too busy to judge")

def test_passes():
    pass
"""


def run_planted(tmp_path: Path, strict: bool) -> subprocess.CompletedProcess[str]:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_planted.py").write_text(PLANTED_TESTS)
    (tmp_path / "test_planted_module.py").write_text(PLANTED)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MOONPY_STRICT")}
    if strict:
        env["MOONPY_STRICT"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "--continue-on-collection-errors",
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def summary(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout.strip().splitlines()[-1]


def test_without_strict_mode_skips_stay_skips(tmp_path):
    proc = run_planted(tmp_path, strict=False)
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 4 skipped" in summary(proc), proc.stdout


def test_strict_mode_fails_every_skip_but_a_busy_machine(tmp_path):
    proc = run_planted(tmp_path, strict=True)
    assert proc.returncode == 1, proc.stdout
    last = summary(proc)
    # a skip in setup (skipif marker) or at collection reports as an error, in the body
    # as a failure; either way the run fails
    assert "1 failed, 1 passed, 1 skipped, 2 errors" in last, proc.stdout
    assert "tool-x is the oracle" in proc.stdout
    assert "no_such_module_for_moonpy" in proc.stdout
    assert "too busy to judge" in proc.stdout  # reported as the one skip left
