"""Per-stream statistics on the console: the live stream table (under a pseudo-terminal),
the stream records of --output FILE.jsonl and the FILE-streams.csv next to MoonGen's CSV."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import run_moonpy
from rich.console import Console
from test_console import run_under_pty

from moonpy.console.results import ResultWriter
from moonpy.console.streams_table import StreamView, fmt_ns

pytestmark = pytest.mark.dpdk

N = 30_000  # frames of tests/py/streams_trial.py: three streams in turn, 10,000 each
RATE = 15_000  # frames/s: the run takes 2 s, long enough for the dashboard to draw


def test_fmt_ns_picks_a_short_unit():
    assert [fmt_ns(v) for v in (850, 12_345, 4_070_000, 2.5e9)] == [
        "850 ns",
        "12.3 us",
        "4.07 ms",
        "2.50 s",
    ]
    assert fmt_ns(-1) == "" and fmt_ns(None) == ""


def stream(sid: int, **kw: float) -> dict:
    base = {"stream": sid, "tx_pkts": 1000, "tx_bytes": 60_000, "rx_pkts": 990,
            "rx_bytes": 59_400, "lost": 10, "loss_ratio": 0.01, "out_of_order": 3,
            "duplicates": 2, "late": 0, "lat_min_ns": 100.0, "lat_avg_ns": 900.0,
            "lat_max_ns": 40_000.0, "lat_stdev_ns": 50.0, "jitter_ns": 75.0,
            "percentiles": {"p50": 850.0, "p99": 12_345.0}}  # fmt: skip
    return {**base, **kw}


def test_stream_table_rows_and_malformed_caption():
    sets = [
        {"set": 2, "streams": [stream(i) for i in range(20)], "counted": 19_800,
         "short_frames": 3, "foreign": 10, "bad_stream": 5, "rx_tsc": 19_800,
         "timestamps": {"tx": "t", "rx": "software TSC after rx_burst (C)"}}
    ]  # fmt: skip
    console = Console(record=True, width=140, color_system=None, force_terminal=False)
    table = StreamView().table(sets)
    assert table is not None
    console.print(table)
    text = console.export_text()
    row = re.search(r"^2\.7 .*$", text, re.M)
    assert row, text
    assert row.group(0).split() == [
        "2.7", "1,000", "990", "10", "1.000", "%", "3", "2", "850", "ns", "12.3", "us",
        "40.0", "us", "75", "ns",
    ]  # fmt: skip
    # 16 rows, then the other 4 summed up
    assert "2.15 " in text and "2.16 " not in text
    assert re.search(r"\+4 more\s+4,000\s+3,960\s+40", text), text
    assert "set 2: 3 short, 10 foreign, 5 bad stream id" in text
    assert "latency: RX software TSC after rx_burst (C)" in text
    assert StreamView().table([]) is None


def test_live_stream_table_under_a_pseudo_terminal():
    screen = re.sub(
        r"\x1b\[[0-9;?]*[a-zA-Z]", "", run_under_pty(f"tests/py/streams_trial.py {N} {RATE}")
    )
    live, _, end = screen.rpartition("summary")
    # drawn while the run went on (live area), with rows for the three streams
    assert "reorder" in live and re.search(r"^0\.2\s+[\d,]+", live, re.M), screen[-3000:]
    # and the final table below the summary: every frame of each stream sent (what was
    # received, exactly, is the results tests' business: a descheduled receiver may miss)
    for sid in range(3):
        assert re.search(rf"^0\.{sid}\s+10,000\s+[1-9][\d,]*\s", end, re.M), end


def test_jsonl_has_stream_records(tmp_path: Path):
    out = tmp_path / "run.jsonl"
    proc = run_moonpy(
        "--plain", "--output", str(out), "tests/py/streams_trial.py", str(N), str(RATE),
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recs = [json.loads(ln) for ln in out.read_text().splitlines()]
    samples = [r for r in recs if r["type"] == "streams"]
    assert len(samples) >= 2  # one a second while the run goes on, one at its end
    tx = [sum(s["tx_pkts"] for s in r["sets"][0]["streams"]) for r in samples]
    assert tx == sorted(tx) and tx[-1] == N
    last = samples[-1]["sets"][0]
    summary = [r for r in recs if r["type"] == "summary"][-1]["streams"][0]
    assert [s["rx_pkts"] for s in last["streams"]] == [s["rx_pkts"] for s in summary["streams"]]
    assert summary["timestamps"]["rx"] == "software TSC after rx_burst (C)"


def test_csv_stream_rows_next_to_moongen_csv(tmp_path: Path):
    out = tmp_path / "run.csv"
    proc = run_moonpy(
        "--plain", "--output", str(out), "tests/py/streams_trial.py", str(N), str(RATE),
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.read_text().splitlines()[0] == ResultWriter.CSV_HEADER  # MoonGen's, unchanged
    rows = list(csv.DictReader((tmp_path / "run-streams.csv").open()))
    final = {r["Stream"]: r for r in rows}  # the last row of each stream
    assert sorted(final) == ["0", "1", "2"]
    result = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    for s in result["streams"]:
        r = final[str(s["stream"])]
        assert int(r["TxPackets"]) == s["tx_pkts"] == N // 3
        assert int(r["RxPackets"]) == s["rx_pkts"] and int(r["Lost"]) == s["lost"]
        assert float(r["LatP99Ns"]) == s["percentiles"]["p99"]
