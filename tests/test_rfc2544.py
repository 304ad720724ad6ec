"""`moonpy rfc2544` and moonpy.app.rfc2544: the search against a software device under test with
a known capacity (C's police_loop between two cables), the self-checking trials, and the
report files (JSON, CSV, PNG plots, one self-contained HTML)."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import pytest
from conftest import run_moonpy

pytestmark = pytest.mark.dpdk

RATE = 2000.0  # frames/s the device under test forwards
RES = 0.05


def dut_run(mode: str, stem: Path) -> dict:
    proc = run_moonpy(
        "--plain", "--port", "cable", "--port", "cable", "tests/py/rfc2544_dut.py", mode,
        str(RATE), str(stem), timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[rfc2544] 64 B trial 1:" in proc.stdout  # progress while it searches
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])


def test_binary_search_finds_the_known_rate(tmp_path: Path) -> None:
    report = dut_run("binary", tmp_path / "b")
    r = report["results"][0]
    # within the stated resolution below the capacity (the bucket of 128 frames lets a
    # 1 s trial pass up to 6.4 % above it)
    assert RATE * (1 - 2 * RES) <= r["throughput"]["rate"] <= RATE * 1.07
    # the loss curve above the capacity is the excess: 1 - RATE / offered
    top = [p for p in r["loss_curve"] if p["rate"] == RATE * 2][0]
    assert top["loss_ratio"] == pytest.approx(0.5, abs=0.05)
    for t in report["trials"]:
        assert {
            "intended_rate",
            "achieved_rate",
            "unsent",
            "gap_within_256ns",
            "ts_source",
        } <= t.keys()
        # a trial is valid only if the generator sent everything near its rate
        if t["valid"]:
            assert t["unsent"] == 0 and t["achieved_rate"] >= t["intended_rate"] * 0.9


def test_mlrsearch_ndr_pdr(tmp_path: Path) -> None:
    report = dut_run("mlr", tmp_path / "m")
    r = report["results"][0]
    # MLRsearch is stricter than the binary search: one lossy trial makes an upper bound,
    # and the generator's bursts near the capacity cost it up to 15 %
    assert RATE * 0.8 <= r["ndr"]["rate"] <= RATE * 1.07
    assert r["ndr"]["rate"] <= r["pdr"]["rate"] <= RATE * 1.1
    assert r["latency"]["ndr"]["p50"] > 0


def test_cli_report_on_the_cable(tmp_path: Path) -> None:
    stem = tmp_path / "rep"
    proc = run_moonpy(
        "--plain", "rfc2544", "--mode", "binary", "--sizes", "64,1518", "--min-rate", "1000",
        "--max-rate", "4000", "--trial", "0.2", "--final-trial", "0.3", "--resolution", "0.2",
        "--rate-tolerance", "0.1", "--report", str(stem), timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[rfc2544] 64 B: throughput" in proc.stdout
    report = json.loads((tmp_path / "rep.json").read_text())
    assert [r["size"] for r in report["results"]] == [64, 1518]
    for r in report["results"]:
        assert r["back_to_back"] > 0  # the cable takes bursts
    rows = list(csv.DictReader((tmp_path / "rep.csv").open()))
    assert [int(r["size"]) for r in rows] == [64, 1518]
    for name in ("throughput", "loss", "latency"):
        png = (tmp_path / f"rep-{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = struct.unpack(">II", png[16:24])
        assert (w, h) == (700, 400) and len(png) > 10_000
    html = (tmp_path / "rep.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "NDR" in html


def test_bad_sizes_one_line() -> None:
    proc = run_moonpy("--plain", "rfc2544", "--sizes", "10,64", timeout=60)
    assert proc.returncode != 0
    assert "frame sizes go from 64 to 1518 bytes" in proc.stderr + proc.stdout
