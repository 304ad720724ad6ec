"""`moonpy bench --list` from an installed wheel, outside any checkout: what the bench runs
travels as package data (moonpy/tools/_data), not read from lua_scripts/ of a clone.

Slow (a wheel build compiles the extension: one to three minutes), so marked `slow`."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_list_works_from_an_installed_wheel(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("moonpy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "moonpy/tools/_data/benchmark.lua" in names, names
    assert "moonpy/tools/_data/udp-load.py" in names
    assert "moonpy/lua/moongen.lua" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert inst.returncode == 0, inst.stdout + inst.stderr

    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(py), "-c",
         "import moonpy.tools.bench as b; print(b.__file__, b.IN_CHECKOUT, b.BENCH_LUA)"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    path, in_checkout, bench_lua = where.stdout.split()
    assert str(env_dir) in path, where.stdout  # the wheel's copy, not the checkout
    assert in_checkout == "False"
    assert Path(bench_lua).is_file(), bench_lua

    moonpy_cmd = env_dir / "bin" / "moonpy"
    proc = subprocess.run(
        [str(moonpy_cmd), "bench", "--list"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lua-fixed" in proc.stdout and "py-batch" in proc.stdout, proc.stdout
