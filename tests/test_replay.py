"""pcap replay and capture: byte-identical round trips, timing, filters, bad files."""

from __future__ import annotations

import pytest
from conftest import run_moonpy
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter, rdpcap, wrpcap

from moonpy.app.bpf import compile_filter
from moonpy.app.pcapfile import read_pcap
from moonpy.errors import ConfigError

pytestmark = pytest.mark.dpdk


def sample(path, n=60, gap=0.002, nano=False):
    pkts = [
        Ether(src="02:00:00:00:00:01")
        / IP(src=f"10.0.0.{i}")
        / UDP(sport=i, dport=319)
        / (b"x" * i)
        for i in range(1, n + 1)
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i * gap
    w = PcapWriter(str(path), nano=nano)
    w.write(pkts)
    w.close()
    return [bytes(p) for p in pkts]


@pytest.mark.parametrize("nano", [False, True])
def test_replay_is_byte_identical_and_loops(tmp_path, nano):
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    frames = sample(src, nano=nano)
    proc = run_moonpy("--port", f"pcap,tx={out}", "replay", str(src), "--port", "0", "--loop", "3")
    assert proc.returncode == 0, proc.stderr
    assert "replayed 180 frames of 60" in proc.stdout
    assert [bytes(p) for p in rdpcap(str(out))] == frames * 3


def test_replay_at_file_timing_keeps_the_gaps(tmp_path):
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    sample(src, n=40, gap=0.005)
    proc = run_moonpy("--port", f"pcap,tx={out}", "replay", str(src), "--port", "0", "--speed", "1")
    assert proc.returncode == 0, proc.stderr
    stamps = [float(p.time) for p in rdpcap(str(out))]
    span = stamps[-1] - stamps[0]
    # 39 gaps of 5 ms: the whole replay takes ~195 ms (the pcap PMD's clock is coarse)
    assert 0.18 < span < 0.30, span
    proc = run_moonpy("--port", f"pcap,tx={out}", "replay", str(src), "--port", "0", "--speed", "5")
    stamps = [float(p.time) for p in rdpcap(str(out))]
    assert 0.03 < stamps[-1] - stamps[0] < 0.10


def test_raw_ip_link_type_gets_an_ethernet_header(tmp_path):
    src = tmp_path / "raw.pcap"
    wrpcap(str(src), [IP(dst="10.9.9.9") / UDP(dport=53)], linktype=101)
    recs = read_pcap(str(src))
    assert recs[0].data[12:14] == b"\x08\x00"
    assert Ether(recs[0].data)[IP].dst == "10.9.9.9"


def test_dump_captures_what_arrives_with_filter(tmp_path):
    src, cap, filt = tmp_path / "in.pcap", tmp_path / "cap.pcap", tmp_path / "f.pcap"
    frames = sample(src)
    proc = run_moonpy(
        "--port",
        f"pcap,rx={src}",
        "dump",
        "--port",
        "0",
        "-w",
        str(cap),
        "--count",
        "60",
        "--time",
        "5",
    )
    assert proc.returncode == 0, proc.stderr
    assert [bytes(p) for p in rdpcap(str(cap))] == frames
    proc = run_moonpy(
        "--port",
        f"pcap,rx={src}",
        "dump",
        "--port",
        "0",
        "-w",
        str(filt),
        "--time",
        "1",
        "--filter",
        "udp and (src port 5 or src host 10.0.0.7)",
    )
    assert proc.returncode == 0, proc.stderr
    assert [p[UDP].sport for p in rdpcap(str(filt))] == [5, 7]


def test_dump_ring_buffer_rotates_files(tmp_path):
    src, cap = tmp_path / "in.pcap", tmp_path / "ring.pcap"
    sample(src, n=200)
    proc = run_moonpy(
        "--port",
        f"pcap,rx={src}",
        "dump",
        "--port",
        "0",
        "-w",
        str(cap),
        "--time",
        "1",
        "--ring",
        "3",
        "--ring-mb",
        "0.005",
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(tmp_path.glob("ring.pcap.*"))
    assert [f.name for f in files] == ["ring.pcap.0", "ring.pcap.1", "ring.pcap.2"]
    assert all(len(rdpcap(str(f))) > 0 for f in files)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is not a pcap file"),
        (b"\x0a\x0d\x0d\x0a" + b"\x00" * 40, "pcapng is not supported"),
        (
            bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000") + b"\x01\x02",
            "truncated in the header of record 0",
        ),
        (
            bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
            + bytes.fromhex("00000000000000003c0000003c000000")
            + b"\x00" * 10,
            "truncated in record 0",
        ),
    ],
)
def test_corrupt_pcap_files_are_clear_errors(tmp_path, content, message):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_pcap(str(bad))
    proc = run_moonpy("replay", str(bad), "--port", "0")
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_filter_language():
    f = bytes(
        Ether(dst="02:00:00:00:00:02")
        / IP(src="1.2.3.4", dst="5.6.7.8")
        / UDP(sport=1000, dport=319)
    )
    assert compile_filter("udp and dst port 319")(f)
    assert compile_filter("host 5.6.7.8 && !tcp")(f)
    assert not compile_filter("src host 5.6.7.8")(f)
    assert compile_filter("ip and (tcp or udp) and len >= 42")(f)
    assert not compile_filter("ip6")(f)
    assert not compile_filter("udp")(f[:20])  # truncated frames never match, never crash
    with pytest.raises(ConfigError, match="unsupported term 'portrange'"):
        compile_filter("portrange 1-2")
