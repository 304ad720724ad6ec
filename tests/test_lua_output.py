"""Output lines in one piece: lines printed by several task threads at once, moonpy's own
stderr lines among them, never interleave mid-line (users parse scripts' output)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT, TEST_SCRIPTS, child_env

pytestmark = pytest.mark.dpdk

LINE = re.compile(r"(\[INFO\]  )?LINE[\t ](\d+)[\t ](\d+)[\t ](x*)[\t ]END")
ERRLINE = re.compile(r"ERRLINE (\d+) (\d+) (x*) END")
MASTER = re.compile(r"master\t(\d+)\t(m*)")


def test_concurrent_prints_and_stderr_lines_stay_whole():
    tasks = 4
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "moonpy",
            "--no-color",
            "--plain",
            str(TEST_SCRIPTS / "print_lines.lua"),
            str(tasks),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe: stdout and stderr lines side by side
        text=True,
        timeout=120,
        env=child_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    seen: dict[int, set[int]] = {i: set() for i in range(1, tasks + 1)}
    errs = master = warns = 0
    for line in proc.stdout.splitlines():
        if m := LINE.fullmatch(line):
            tid, i = int(m.group(2)), int(m.group(3))
            assert len(m.group(4)) == (i * 7 + tid) % 90, line
            seen[tid].add(i)
        elif m := ERRLINE.fullmatch(line):
            assert len(m.group(3)) == (int(m.group(2)) * 7 + int(m.group(1))) % 90, line
            errs += 1
        elif m := MASTER.fullmatch(line):
            assert len(m.group(2)) == int(m.group(1)) % 50, line
            master += 1
        elif line.startswith("[WARN]  "):
            assert "cannot cross to another task" in line or "cores" in line, line
            warns += 1
        else:
            # moonpy's end-of-run lines (counters, summary) are whole lines of their own
            assert "LINE" not in line and "master\t" not in line, line
    assert all(s == set(range(1, 2001)) for s in seen.values()), {
        k: 2000 - len(v) for k, v in seen.items()
    }
    assert errs == tasks * 200 and master == 2000 and warns >= 1
