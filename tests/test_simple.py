"""`moonpy simple`: MoonGen's flow-file command line (moongen-simple)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import child_env, run_moonpy
from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import rdpcap

pytestmark = pytest.mark.dpdk

FLOWS = """
Flow{"base", Packet.Udp{
        ethSrc = txQueue(),
        ethDst = mac"02:00:00:00:00:aa",
        ip4Src = ip"10.0.0.10",
        ip4Dst = ip"10.1.0.10",
        udpSrc = 1234,
        udpDst = 319,
        pktLength = 80
    }
}

Flow{"child", Packet.Udp{
        ip4Src = list{ ip"10.0.0.10", ip"10.0.0.11", ip"10.0.0.20" },
        udpSrc = range(2000, 2004),
    },
    parent = "base",
    mode = "all",
    dataLimit = "600p",
}

Flow{"syn", Packet.Tcp4{
        ip4Src = randomList{ ip"10.9.0.1", ip"10.9.0.2" },
        tcpSyn = 1,
        pktLength = 60,
    },
    mode = "random",
}
"""


def run_in(tmp_path, *args, ports=()):
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "test.lua").write_text(FLOWS)
    cmd = [sys.executable, "-m", "moonpy", "--no-color"]
    for p in ports:
        cmd += ["--port", p]
    return subprocess.run(
        [*cmd, "simple", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=child_env(),
    )


def test_list_shows_flows_from_flow_files(tmp_path):
    proc = run_in(tmp_path, "list")
    assert proc.returncode == 0, proc.stderr
    names = [ln.split()[0] for ln in proc.stdout.splitlines()[1:]]
    assert {"base", "child", "syn", "udp-basic", "tcp-syn"} <= set(names)
    assert "(parent: base)" in proc.stdout


def test_start_sends_what_the_flow_describes(tmp_path):
    out = tmp_path / "out.pcap"
    proc = run_in(tmp_path, "start", "child:0::rate=20:udpDst=4242", ports=[f"pcap,tx={out}"])
    assert proc.returncode == 0, proc.stderr
    pkts = rdpcap(str(out))
    # dataLimit=600p: whole batches of 63 until at least 600 packets went out
    assert 600 <= len(pkts) < 600 + 63
    assert {p[IP].src for p in pkts} == {"10.0.0.10", "10.0.0.11", "10.0.0.20"}
    assert {p[UDP].sport for p in pkts} == {2000, 2001, 2002, 2003, 2004}
    assert {p[UDP].dport for p in pkts} == {4242}  # the override wins
    assert all(len(p) == 80 and p.dst == "02:00:00:00:00:aa" for p in pkts)
    # txQueue(): the sending port's MAC (net_pcap's own), not the fill default
    assert {p.src for p in pkts} == {"02:70:63:61:70:00"}
    for p in pkts[:20]:  # checksums are valid on the wire
        raw = IP(bytes(p[IP]))
        del raw[IP].chksum, raw[UDP].chksum
        assert IP(bytes(raw))[UDP].chksum == p[UDP].chksum


def test_time_limit_and_tcp_flow(tmp_path):
    out = tmp_path / "syn.pcap"
    proc = run_in(tmp_path, "start", "syn:0::timeLimit=500ms,rate=5", ports=[f"pcap,tx={out}"])
    assert proc.returncode == 0, proc.stderr
    pkts = rdpcap(str(out))
    assert 1000 < len(pkts) < 10000  # ~5 Mbit/s of 64-byte frames for half a second
    assert all(p[TCP].flags == "S" for p in pkts)
    assert {p[IP].src for p in pkts} == {"10.9.0.1", "10.9.0.2"}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("base:0:1:time=10m", "unknown option 'time'"),
        ("nope:0", "no flow named 'nope'"),
        ("base:0::rate=fast", "rate 'fast'"),
        ("base:x", "'x' in 'base:x' is not a port number"),
        ("base:0::mode=sideways", "mode 'sideways' is not one of"),
    ],
)
def test_bad_flow_specs_name_the_problem(tmp_path, spec, message):
    proc = run_in(tmp_path, "start", spec)
    assert proc.returncode == 1
    assert message in proc.stderr
    if "unknown option" in message:
        assert "valid options: dataLimit, mode, rate, ratePattern, timeLimit" in proc.stderr


def test_debug_dumps_packets_without_sending():
    proc = run_moonpy("--no-color", "simple", "debug", "udp-flows:0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("IP4 10.0.0.") == 4 and "IP4 10.0.0.4 > 10.1.0.1" in proc.stdout


def test_timestamp_option_measures_latency_on_a_cable(tmp_path):
    proc = run_in(tmp_path, "start", "base:0:1:timestamp,rate=50,timeLimit=2s")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("[latency base]"))
    samples = int(line.split("Samples: ")[1].split(",")[0])
    assert samples > 100  # about 1000 timestamped packets a second
    assert "software timestamps (TSC)" in proc.stdout
