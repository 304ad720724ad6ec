"""`moonpy rfc2544` and moonpy.app.rfc2544: the search against a software device under test with
a known capacity (C's police_loop between two cables), the self-checking trials, and the
report files (JSON, CSV, PNG plots, one self-contained HTML)."""

from __future__ import annotations

import base64
import csv
import json
import re
import struct
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import run_moonpy

pytestmark = pytest.mark.dpdk

C0 = np.array([0x1F, 0x77, 0xB4]) / 255  # matplotlib's first colour (the first frame size)
C1 = np.array([0xFF, 0x7F, 0x0E]) / 255  # its second
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
    pngs = {}
    for name in ("throughput", "loss", "latency"):
        png = (tmp_path / f"rep-{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = struct.unpack(">II", png[16:24])
        assert (w, h) == (700, 400) and len(png) > 10_000
        pngs[name] = png
        # looked at as a picture: the data is drawn, in the colour of each frame size
        # (matplotlib's first two: 64 B, 1518 B; bars: NDR), not just axes and labels (on
        # the cable both loss curves lie on 0 %: the second hides all but the first's legend)
        px = plt.imread(tmp_path / f"rep-{name}.png")[:, :, :3]
        for colour, min_px in ((C0, 60), (C1, 60 if name != "throughput" else 0)):
            near = (np.abs(px - colour).max(axis=2) < 0.08).sum()
            assert near >= min_px, (name, colour, near)
    html = (tmp_path / "rep.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "NDR" in html
    # the page embeds the very same pictures (self-contained: no links to files)
    embedded = [base64.b64decode(m) for m in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]
    assert embedded == [pngs["throughput"], pngs["loss"], pngs["latency"]]
    assert 'src="rep' not in html


def test_bad_sizes_one_line() -> None:
    proc = run_moonpy("--plain", "rfc2544", "--sizes", "10,64", timeout=60)
    assert proc.returncode != 0
    assert "frame sizes go from 64 to 1518 bytes" in proc.stderr + proc.stdout


def test_trial_frames_are_well_formed_on_the_wire(tmp_path: Path) -> None:
    # what a real device under test gets: each size's own IPv4/UDP lengths and a valid IPv4
    # header checksum (a router drops the rest), the stream signature in the UDP payload
    from scapy.all import IP, UDP, Ether, rdpcap

    cap = tmp_path / "tx.pcap"
    proc = run_moonpy(
        "--plain", "--port", f"pcap,tx={cap}", "--port", "cable", "rfc2544", "--tx", "0",
        "--rx", "1", "--mode", "binary", "--sizes", "64,1518", "--min-rate", "1000",
        "--max-rate", "2000", "--trial", "0.05", "--final-trial", "0.05", "--resolution",
        "0.5", "--no-back-to-back", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    frames = [bytes(p) for p in rdpcap(str(cap))]
    assert {len(f) for f in frames} == {60, 1514}  # without CRC
    for f in frames:
        p = Ether(f)
        sent = p[IP].chksum
        del p[IP].chksum
        assert Ether(bytes(p))[IP].chksum == sent
        assert p[IP].len == len(f) - 14 and p[UDP].len == len(f) - 34
        assert f[42:44] == b"PM"  # the signature's magic (docs/streams.md)
