"""Per-stream statistics (csrc/mp_streams.c) through a software device under test on two
virtual cables: loss, reordering and duplicate counts exact; latency percentiles against a
reference computed from the raw timestamps of every frame."""

from __future__ import annotations

import json
import math

import pytest
from conftest import run_moonpy

pytestmark = pytest.mark.dpdk

N = 400


def nearest_rank(values: list[float], pct: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(pct / 100 * len(s)) - 1)]


@pytest.fixture(scope="module")
def result() -> dict:
    proc = run_moonpy(
        "--plain", "--port", "cable", "--port", "cable", "tests/py/streams_dut.py", str(N),
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def test_counts_exact(result: dict) -> None:
    s = {r["stream"]: r for r in result["streams"]}
    assert all(s[i]["tx_pkts"] == N for i in range(4))
    assert (s[0]["lost"], s[0]["out_of_order"], s[0]["duplicates"]) == (0, 0, 0)
    assert s[1]["lost"] == N // 5 and s[1]["rx_pkts"] == N - N // 5
    assert s[2]["out_of_order"] == N // 10 and s[2]["lost"] == 0
    dups = len([q for q in range(N) if q % 7 == 0])
    assert s[3]["duplicates"] == dups and s[3]["rx_pkts"] == N + dups and s[3]["lost"] == 0
    # the generator's frames without a signature and its too-short frames
    assert result["malformed"]["foreign"] == 10
    assert result["malformed"]["short_frames"] == 3
    assert result["malformed"]["bad_stream"] == 0


def test_latency_matches_reference(result: dict) -> None:
    for r in result["streams"]:
        ref = result["ref"][str(r["stream"])]
        assert len(ref) == r["rx_pkts"]
        assert r["lat_min_ns"] == pytest.approx(min(ref), abs=2)
        assert r["lat_max_ns"] == pytest.approx(max(ref), abs=2)
        assert r["lat_avg_ns"] == pytest.approx(sum(ref) / len(ref), rel=1e-6)
        for p in (50, 90, 99):
            # a bucket's highest value: never below the exact value, at most 0.4 % above
            exact = nearest_rank(ref, p)
            got = r["percentiles"][f"p{p}"]
            assert exact - 2 <= got <= exact * 1.004 + 2, (r["stream"], p, got, exact)


def test_hdr_export(result: dict) -> None:
    assert result["hist_buckets"] > 0
    if result["hdr"] is not None:
        assert result["hdr"].startswith("HISTF")


def test_lua_api_summary_and_jsonl(tmp_path) -> None:
    out = tmp_path / "run.jsonl"
    proc = run_moonpy(
        "--plain", "--output", str(out), "tests/lua/streams_cable.lua", "0", "1", timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "STREAM 0 tx=300 rx=300 lost=0 ooo=0 dup=0 lat=true" in proc.stdout
    assert "STREAM 1 tx=100 rx=100 lost=0 ooo=0 dup=0 lat=true" in proc.stdout
    # the end-of-run summary and the JSONL record have the streams
    assert "[Stream 0.0] TX 300 RX 300 lost 0 (0.0000%) out of order 0 duplicates 0" in proc.stdout
    recs = [json.loads(ln) for ln in out.read_text().splitlines()]
    summary = [r for r in recs if r["type"] == "summary"][-1]
    streams = summary["streams"][0]["streams"]
    assert [(s["stream"], s["tx_pkts"], s["rx_pkts"]) for s in streams] == [
        (0, 300, 300),
        (1, 100, 100),
    ]
