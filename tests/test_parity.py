"""Parity between the two script APIs: the same deterministic UDP load written
once in Lua (tests/lua/parity_udp.lua, MoonGen's API) and once in Python
(tests/py/parity_udp.py: the field engine, and a per-packet Python loop) puts
byte-identical frames on the wire and reports the same counters."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, run_moonpy
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

pytestmark = pytest.mark.dpdk

RUNS = {
    "lua": ["tests/lua/parity_udp.lua"],
    "python-engine": ["tests/py/parity_udp.py", "--mode", "engine"],
    "python-loop": ["tests/py/parity_udp.py", "--mode", "loop"],
}
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
TOTAL_RE = re.compile(r"\[Device: id=0\] TX: .*(total \d+ packets with \d+ bytes \(incl\. CRC\))")


def run(kind: str, tmp_path, size: int, count: int) -> tuple[list[bytes], str]:
    out = tmp_path / f"{kind}.pcap"
    script, *extra = RUNS[kind]
    proc = run_moonpy(
        "--no-color", "--port", f"pcap,tx={out}", str(ROOT / script), "0",
        "--count", str(count), "--size", str(size), *extra,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "not returned" not in proc.stderr
    totals = TOTAL_RE.findall(ANSI_RE.sub("", proc.stdout))
    assert len(totals) == 1, proc.stdout
    return [bytes(p) for p in rdpcap(str(out))], totals[0]


@pytest.mark.parametrize("size, count", [(60, 1008), (124, 630)])
def test_udp_increment_load_is_byte_identical_in_lua_and_python(tmp_path, size, count):
    results = {kind: run(kind, tmp_path, size, count) for kind in RUNS}
    lua_frames, lua_total = results["lua"]
    assert len(lua_frames) == count
    assert lua_total == f"total {count} packets with {count * (size + 4)} bytes (incl. CRC)"
    for kind in ("python-engine", "python-loop"):
        frames, total = results[kind]
        assert total == lua_total, kind
        assert len(frames) == len(lua_frames), kind
        for i, (a, b) in enumerate(zip(lua_frames, frames, strict=True)):
            assert a == b, f"{kind}: frame {i} differs:\n{a.hex()}\n{b.hex()}"
    # the comparison is not vacuous: the frames vary as the scripts say, checksums are valid
    pk = [Ether(f) for f in lua_frames]
    assert [p[IP].src for p in pk[:3]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    last = min(count, 1000) - 1
    assert pk[256][IP].src == "10.0.0.1" and pk[last][UDP].sport == 1000 + last
    assert len({p[UDP].sport for p in pk}) == min(count, 1000)
    for p in pk[:100]:
        rebuilt = IP(bytes(p[IP]))
        del rebuilt.chksum
        del rebuilt[UDP].chksum
        rebuilt = IP(bytes(rebuilt))
        assert (rebuilt.chksum, rebuilt[UDP].chksum) == (p[IP].chksum, p[UDP].chksum)
        assert len(bytes(p)) == size and p.dst == "10:11:12:13:14:15" and p[UDP].dport == 319
