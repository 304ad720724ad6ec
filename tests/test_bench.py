"""`moonpy bench`: the scenario list, a short run with one row of each kind of
measurement (C loop, Lua TX, Lua RX, Python), the error for an unknown scenario,
and the --moongen plumbing with moonpy standing in for the MoonGen binary. Every
measurement is a child process with the leak check on (child_env)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import run_moonpy

from moonpy.tools import bench, bench_stages


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The main table's rows by scenario name: the cells after the name."""
    block = stdout.split("| scenario | what |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def median_mpps(cells: list[str]) -> float:
    return float(cells[1].split(" / ")[1])


def test_list_names_every_scenario():
    proc = run_moonpy("bench", "--list")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    for sc in bench.SCENARIOS:
        assert sc.name in names
    for name in ("py-batch", "py-loop", "lua-rx-cable", "lua-forward-cable", "moongen-fixed"):
        assert name in names
    assert "(with --moongen PATH)" in proc.stdout


@pytest.mark.dpdk
@pytest.mark.slow
def test_short_run_gives_rates_cycles_and_json(tmp_path):
    out = tmp_path / "bench.json"
    only = ["lua-fixed", "c-fixed", "lua-rx-cable", "py-batch"]
    proc = run_moonpy(
        "bench", "--only", ",".join(only), "--time", "0.3", "--runs", "1", "--json", str(out),
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = table_rows(proc.stdout)
    assert sorted(rows) == sorted(only), proc.stdout
    for name, cells in rows.items():
        assert not cells[1].startswith("failed"), (name, cells)
        assert median_mpps(cells) > 0 and float(cells[2]) > 0, (name, cells)
    assert rows["lua-fixed"][3].endswith("x c-fixed")
    assert rows["py-batch"][3] == ""  # its reference, lua-random, did not run
    assert "lua-rx-cable: no C reference" in proc.stdout
    data = json.loads(out.read_text())
    order = [sc.name for sc in bench.SCENARIOS if sc.name in only]
    assert [r["name"] for r in data["results"]] == order  # the table's order, not --only's
    for r in data["results"]:
        assert r["error"] is None and r["mpps"][0] > 0 and r["cycles"][0] > 0, r
    rx = next(r for r in data["results"] if r["name"] == "lua-rx-cable")
    assert len(rx["dropped_mpps"]) == 1 and rx["dropped_mpps"][0] >= 0
    assert float(data["machine"]["tsc_hz"]) > 0


def test_unknown_scenario_is_one_line_naming_the_valid_ones():
    proc = run_moonpy("bench", "--only", "lua-fixed,no-such-row")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no-such-row" in lines[0] and "valid:" in lines[0]
    for sc in bench.SCENARIOS:
        assert sc.name in lines[0]
    assert proc.stdout == ""


@pytest.mark.dpdk
@pytest.mark.slow
def test_moongen_rows_run_the_same_script_on_the_given_command():
    # moonpy stands in for MoonGen: it accepts libmoon's --dpdk-config=FILE (with a
    # note, ports from --port) and runs lua_scripts/benchmark.lua unchanged
    stand_in = f"{sys.executable} -m moonpy --port null"
    proc = run_moonpy(
        "bench", "--moongen", stand_in, "--only", "lua-fixed", "--time", "0.3", "--runs", "1",
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = table_rows(proc.stdout)
    assert sorted(rows) == ["lua-fixed", "moongen-fixed"], proc.stdout
    assert median_mpps(rows["moongen-fixed"]) > 0 and float(rows["moongen-fixed"][2]) > 0
    three_way = [ln for ln in proc.stdout.splitlines() if ln.startswith("| fixed |")]
    assert len(three_way) == 1 and three_way[0].split("|")[5].strip().endswith("x")
    assert stand_in in proc.stdout


@pytest.mark.dpdk
@pytest.mark.slow
def test_stages_time_every_stage_of_each_path(tmp_path):
    out = tmp_path / "stages.json"
    proc = run_moonpy("bench", "--stages", "--time", "0.2", "--json", str(out), timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stages = json.loads(out.read_text())["stages"]
    assert sorted(stages) == sorted(name for name, _, _ in bench_stages.COLUMNS)
    for name, r in stages.items():
        assert "error" not in r, (name, r)
        assert r["bursts"] > 100 and r["total"] > 0 and r["clock"] > 0, (name, r)
        assert r["free"] > 0, (name, r)  # every other burst is freed instead of sent
    # each loop does the work its column says, and only that
    assert stages["random"]["fill"] > 0 and stages["random"]["pass"] > 0
    # the send's pass: the offload request costs cycles, software checksums more
    assert stages["fixed"]["pass"] < stages["random"]["pass"] < stages["random-cable"]["pass"]
    assert stages["heavy"]["fill"] > stages["random"]["fill"]
    assert "| total |" in proc.stdout and "txonly-mf" in proc.stdout
