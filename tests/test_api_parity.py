"""Method and metamethod parity with libmoon per object type, generated from one list
(tests/lua/api_surface.lua, taken from libmoon's and MoonGen's sources): every name is
there on moonpy's real objects (devices and queues on the cable, mempools, bufArrays,
packets and headers, counters, timers, pipes, histograms, timestamper, pcap files),
metamethods called as methods give what the operators give, and calls that return a
value in libmoon return one of the same Lua type here."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_SCRIPTS, run_moonpy

pytestmark = pytest.mark.dpdk

SURFACE = TEST_SCRIPTS / "api_surface.lua"


def expected_checks() -> tuple[int, int, int]:
    """(names, return specs) in the surface file, counted from its text, so a check the
    runner skipped shows as a wrong total."""
    text = "\n".join(line.split("--")[0] for line in SURFACE.read_text().splitlines())
    names_part, returns_part = text.split("returns = {", 1)
    names = len(re.findall(r'"[^"]+"', names_part))
    returns = len(re.findall(r"returns = \"", returns_part))
    types = len(re.findall(r"^    (\w+) = \{", names_part, re.M))
    return names, returns, types


def test_every_libmoon_name_and_metamethod_works_on_moonpys_objects(tmp_path):
    proc = run_moonpy(
        "--no-color", "--plain", str(SURFACE.with_name("api_parity.lua")), str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    fails = [line for line in proc.stdout.splitlines() if line.startswith("PARITY FAIL")]
    assert not fails, "\n".join(fails)
    m = re.search(r"PARITY (\d+) checked over (\d+) types, (\d+) failed", proc.stdout)
    assert m, proc.stdout
    names, returns, types = expected_checks()
    assert types >= 30
    # every name, every return spec and the link status check ran
    assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) == (
        names + returns + 1,
        types,
        0,
    )
