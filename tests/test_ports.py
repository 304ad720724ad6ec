"""Foundation: ports that need no NIC, driven through real DPDK.

Every scenario runs in a child process and ends with a leak check: all mbufs
back in their pools after the ports are stopped.
"""

from __future__ import annotations

import pytest
from conftest import have_tun, run_python
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap, wrpcap

pytestmark = pytest.mark.dpdk

PRELUDE = """
import json
from moonpy import _dpdk
from moonpy.core.config import Config, PortSpec
from moonpy.core.engine import Engine

def frames(n, size=60):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    out = []
    for i in range(n):
        p = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
             / IP(src=f"10.0.{i // 256}.{i % 256}", dst="10.1.0.1", ttl=64 - i % 7)
             / UDP(sport=1000 + i, dport=319))
        raw = bytes(p)
        out.append(raw + bytes(max(0, size - len(raw))))
    return out

def send(port_dpdk, queue, pool, payloads):
    ba = _dpdk.BufArray(len(payloads))
    ba.alloc(pool, 60)
    for i, f in enumerate(payloads):
        ba.set_data(i, f)
    return ba.send(port_dpdk, queue)

def receive(port_dpdk, queue, want, tries=1000):
    got = []
    ba = _dpdk.BufArray(64)
    for _ in range(tries):
        n = ba.recv(port_dpdk, queue)
        got += [ba.get_data(i) for i in range(n)]
        ba.free()
        if len(got) >= want:
            break
    return got

def tap_port(iface, **configure):
    # an engine with one tap port, configured and its Linux interface up
    import subprocess
    eng = Engine(Config(ports=[PortSpec(kind="tap", iface=iface)])).start()
    p, _ = eng.configure_port(0, **configure)
    subprocess.run(["ip", "link", "set", iface, "up"], check=True)
    return eng, p

def finish(engine, result):
    result["leaks"] = engine.shutdown()
    print(json.dumps(result))
"""


def test_cable_delivers_every_tx_queue_to_rx_queue_0_unless_a_filter_steers():
    # a NIC without filters or RSS delivers what every TX queue of its peer sends to RX
    # queue 0; filters steer (ethertype before five-tuple, as ixgbe), byte-identical
    res = run_python(
        PRELUDE
        + """
eng = Engine(Config(ports=[PortSpec(kind="cable", queues=3)])).start()
a, _ = eng.configure_port(0, rx_queues=3, tx_queues=3)
b, _ = eng.configure_port(1, rx_queues=3, tx_queues=3)
pool = _dpdk.create_mempool(1023)
ok = []

def check(txq, n, rxq):
    sent = frames(n)
    assert send(a.dpdk_id, txq, pool, sent) == len(sent)
    ok.append(receive(b.dpdk_id, rxq, len(sent)) == sent)
    for other in range(3):  # nothing leaks onto another queue
        if other != rxq:
            assert receive(b.dpdk_id, other, 1, tries=3) == []

for q in range(3):
    check(q, 50 + q, 0)
# UDP to port 319 -> RX queue 2
eng.add_filter(1, "fivetuple", 2, [0, 0, 0, 0, 0, 0, 319, 0xFFFF, 17, 0xFF, 1])
check(0, 20, 2)
check(1, 21, 2)
eng.add_filter(1, "ethertype", 1, [0x0800])  # IPv4 -> RX queue 1: it applies first
check(2, 22, 1)
filters = eng.describe_filters(1)
ca, cb = eng.counters(0), eng.counters(1)
finish(eng, {"ok": ok, "a": ca.__dict__, "b": cb.__dict__, "filters": filters})
"""
    )
    assert res["ok"] == [True] * 6
    n = 50 + 51 + 52 + 20 + 21 + 22
    assert res["a"]["opackets"] == n and res["b"]["ipackets"] == n
    assert res["a"]["obytes"] == res["b"]["ibytes"] == n * 60
    assert res["b"]["imissed"] == 0
    assert res["filters"] == (
        "filters: ethertype 0x0800 -> queue 1; five-tuple dstPort=319 dstPortMask=65535 "
        "proto=17 protoMask=255 priority=1 -> queue 2 (others: RSS or queue 0)"
    )
    assert res["leaks"] == []


def test_cable_keeps_order_across_many_ring_wraps():
    # moonpy fills cable rings itself (mp_cable.c: cable_tx, a cached head and free
    # count): 40 bursts of 50 frames through a 64-slot ring, the receiver emptying it
    # after every burst, wrap the ring 31 times and refill the free count from the
    # receiver's progress each time
    res = run_python(
        PRELUDE
        + """
eng = Engine(Config(ports=[PortSpec(kind="cable", queues=1, ring_size=64)])).start()
a, _ = eng.configure_port(0)
b, _ = eng.configure_port(1)
pool = _dpdk.create_mempool(1023)
all_frames = frames(2000)
ok = True
for k in range(40):
    sent = all_frames[k * 50:(k + 1) * 50]
    assert send(a.dpdk_id, 0, pool, sent) == 50
    ok = ok and receive(b.dpdk_id, 0, 50) == sent
cb = eng.counters(1)
finish(eng, {"ok": ok, "rx": cb.ipackets, "missed": cb.imissed})
"""
    )
    assert res["ok"] is True
    assert res["rx"] == 2000 and res["missed"] == 0
    assert res["leaks"] == []


def test_cable_nobody_reads_never_blocks_and_counts_missed():
    res = run_python(
        PRELUDE
        + """
eng = Engine(Config(ports=[PortSpec(kind="cable", queues=1, ring_size=256)])).start()
a, _ = eng.configure_port(0)
eng.configure_port(1)
pool = _dpdk.create_mempool(2047)
sent = _dpdk.tx_loop(a.dpdk_id, 0, pool, 60, max_packets=63 * 1000)
c0, c1 = eng.counters(0), eng.counters(1)
finish(eng, {"sent": sent, "tx": c0.opackets, "missed": c1.imissed, "rx": c1.ipackets})
"""
    )
    assert res["sent"] == res["tx"] == 63_000
    # the ring holds 255 frames, which reached the port (a NIC counts what sits unread in
    # its RX ring as received); everything else was dropped at the receiver
    assert res["missed"] == 63_000 - 255
    assert res["rx"] == 255
    assert res["leaks"] == []


def test_pcap_port_writes_frames_scapy_reads(tmp_path):
    out = tmp_path / "out.pcap"
    res = run_python(
        PRELUDE
        + f"""
eng = Engine(Config(ports=[PortSpec(kind="pcap", tx="{out}")])).start()
p, _ = eng.configure_port(0)
pool = _dpdk.create_mempool(511)
n = send(p.dpdk_id, 0, pool, frames(20))
c = eng.counters(0)
finish(eng, {{"n": n, "tx": c.opackets}})
"""
    )
    assert res["n"] == res["tx"] == 20
    pkts = rdpcap(str(out))
    assert len(pkts) == 20
    for i, pkt in enumerate(pkts):
        assert pkt[Ether].src == "02:00:00:00:00:01" and pkt[Ether].dst == "02:00:00:00:00:02"
        assert pkt[IP].src == f"10.0.{i // 256}.{i % 256}" and pkt[IP].dst == "10.1.0.1"
        assert pkt[IP].ttl == 64 - i % 7
        assert pkt[UDP].sport == 1000 + i and pkt[UDP].dport == 319
        assert len(pkt) == 60
    assert res["leaks"] == []


def test_pcap_port_replays_file(tmp_path):
    src = tmp_path / "in.pcap"
    pkts = [
        Ether(src="02:00:00:00:00:0a", dst="ff:ff:ff:ff:ff:ff")
        / IP(dst=f"10.9.0.{i}")
        / UDP(sport=i, dport=53)
        / (b"x" * i)
        for i in range(1, 31)
    ]
    wrpcap(str(src), pkts)
    res = run_python(
        PRELUDE
        + f"""
eng = Engine(Config(ports=[PortSpec(kind="pcap", rx="{src}")])).start()
p, _ = eng.configure_port(0)
got = receive(p.dpdk_id, 0, 30)
c = eng.counters(0)
finish(eng, {{"got": [g.hex() for g in got], "rx": c.ipackets}})
"""
    )
    assert [bytes.fromhex(g) for g in res["got"]] == [bytes(p) for p in pkts]
    assert res["rx"] == 30
    assert res["leaks"] == []


def test_mixed_ports_cable_and_pcap_sink(tmp_path):
    out = tmp_path / "sink.pcap"
    res = run_python(
        PRELUDE
        + f"""
eng = Engine(Config(ports=[PortSpec(kind="cable"), PortSpec(kind="pcap", tx="{out}"),
                           PortSpec(kind="null")])).start()
kinds = [p.kind for p in eng.ports]
for i in range(4):
    eng.configure_port(i)
pool = _dpdk.create_mempool(511)
fr = frames(5)
send(eng.port(0).dpdk_id, 0, pool, fr)
got = receive(eng.port(1).dpdk_id, 0, 5)
send(eng.port(2).dpdk_id, 0, pool, got)   # forward what arrived to the pcap sink
send(eng.port(3).dpdk_id, 0, pool, fr)
finish(eng, {{"kinds": kinds, "sent": [f.hex() for f in fr],
              "null_tx": eng.counters(3).opackets, "pcap_tx": eng.counters(2).opackets}})
"""
    )
    assert res["kinds"] == ["cable", "cable", "pcap", "null"]
    assert [bytes(p) for p in rdpcap(str(out))] == [bytes.fromhex(h) for h in res["sent"]]
    assert res["null_tx"] == 5 and res["pcap_tx"] == 5
    assert res["leaks"] == []


@pytest.mark.skipif(not have_tun(), reason="needs /dev/net/tun and root")
def test_tap_port_talks_to_the_kernel():
    res = run_python(
        PRELUDE
        + """
import subprocess, time
eng, p = tap_port("mptest0")
subprocess.run(["ip", "addr", "add", "198.18.7.1/24", "dev", "mptest0"], check=True)
def rx_count():
    return int(open("/sys/class/net/mptest0/statistics/rx_packets").read())
before = rx_count()
pool = _dpdk.create_mempool(511)
send(p.dpdk_id, 0, pool, frames(10))
time.sleep(0.2)
kernel_saw = rx_count() - before
# the kernel asks who has 198.18.7.2 when we send it a datagram: the ARP request
# reaches our port
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(b"hello", ("198.18.7.2", 9))
got = []
deadline = time.time() + 5
while time.time() < deadline and not any(g[12:14] == b"\\x08\\x06" for g in got):
    got += receive(p.dpdk_id, 0, 1, tries=10)
    time.sleep(0.05)
sock.close()
arps = [g.hex() for g in got if g[12:14] == b"\\x08\\x06"]
finish(eng, {"kernel_saw": kernel_saw, "arps": arps})
"""
    )
    assert res["kernel_saw"] >= 10
    assert res["arps"], "no ARP request from the kernel arrived on the tap port"
    arp = Ether(bytes.fromhex(res["arps"][0]))
    assert arp[ARP].op == 1 and arp[ARP].pdst == "198.18.7.2" and arp[ARP].psrc == "198.18.7.1"
    assert res["leaks"] == []


@pytest.mark.skipif(not have_tun(), reason="needs /dev/net/tun and root")
def test_filters_steer_in_software_on_a_tap_port():
    # the kernel's tun driver picks a tap port's RX queue by its own flow hash; filters
    # (which the PMD does not have) steer in moonpy's RX path: ethertype 0x88b5 to queue 1,
    # UDP to port 4000 dropped, everything else to queue 0, as on a NIC without RSS
    res = run_python(
        PRELUDE
        + """
import socket, time
eng, p = tap_port("mptest1", rx_queues=2, tx_queues=2)
eng.add_filter(0, "ethertype", 1, [0x88B5])
eng.add_filter(0, "fivetuple", -1, [0, 0, 0, 0, 0, 0, 4000, 0xFFFF, 17, 0xFF, 1])
me, bcast = bytes.fromhex("020000aabb01"), bytes.fromhex("ffffffffffff")
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("mptest1", 0))
sent = {"ether": 0, "udp": 0, "drop": 0}
for i in range(300):
    kind = ("ether", "udp", "drop")[i % 3]
    if kind == "ether":
        f = bcast + me + bytes.fromhex("88b5") + bytes([i % 256]) * 46
    else:  # many flows, so that the kernel spreads them over both queues
        f = bytes(frames(1)[0])
        f = bcast + me + f[12:]
        dport = 4000 if kind == "drop" else 5000 + i
        f = f[:34] + (1000 + i).to_bytes(2, "big") + dport.to_bytes(2, "big") + f[38:]
    sock.send(f)
    sent[kind] += 1
sock.close()
got = {0: [], 1: []}
deadline = time.time() + 5
while time.time() < deadline and len(got[0]) + len(got[1]) < 200:
    for q in (0, 1):
        got[q] += [g for g in receive(p.dpdk_id, q, 1, tries=5) if g[6:12] == me]
kinds = {q: sorted({"ether" if g[12:14] == bytes.fromhex("88b5") else
                    "drop" if g[36:38] == (4000).to_bytes(2, "big") else "udp" for g in got[q]})
         for q in (0, 1)}
c = eng.counters(0)
finish(eng, {"q0": len(got[0]), "q1": len(got[1]), "kinds": kinds, "sent": sent,
             "imissed": c.imissed})
"""
    )
    assert res["kinds"] == {"0": ["udp"], "1": ["ether"]}, res
    assert res["q1"] == res["sent"]["ether"] == 100
    assert res["q0"] == res["sent"]["udp"] == 100
    assert res["imissed"] >= 100  # the dropped UDP (and anything else the kernel sent)
    assert res["leaks"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "bogus", "ports"], "unknown port kind 'bogus'"),
        (["--port", "pcap,rx=/nonexistent/in.pcap", "ports"], "does not exist"),
        (["--port", "cable,queues=999", "ports"], "queues must be 1..128"),
        (["--port", "null,iface=x", "ports"], "unknown option 'iface' for null ports"),
        (["--cores", "0,999", "ports"], "cores [999] are not available"),
        (["--config", "/nonexistent.toml", "ports"], "does not exist"),
    ],
)
def test_bad_port_configuration_is_one_clear_line(moonpy, args, message):
    proc = moonpy(*args)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("moonpy: error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_cable_rings_beyond_dpdk_memory_are_one_clear_error(moonpy, tmp_path):
    # a cable end's RX rings are made when it is configured, one per RX queue
    script = tmp_path / "cfg.lua"
    script.write_text(
        'local device = require "device"\n'
        "function master() device.config{port = 1, rxQueues = 16} end\n"
    )
    proc = moonpy("--memory", "40", "--port", "cable,ring_size=4194304", str(script))
    assert proc.returncode == 1
    assert "cannot create cable ring" in proc.stderr and "give DPDK more memory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_toml_config(moonpy, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[ports]]\nkind = 'cable'\nspeed = 10\n")
    proc = moonpy("--config", str(bad), "ports")
    assert proc.returncode == 1 and "unknown fields: {'speed'}" in proc.stderr
    bad.write_text("[[ports]\nkind=")
    proc = moonpy("--config", str(bad), "ports")
    assert proc.returncode == 1 and "is not valid TOML" in proc.stderr


def test_ports_command_lists_ports(moonpy, tmp_path):
    proc = moonpy(
        "--port", "cable", "--port", "null", "--port", f"pcap,tx={tmp_path}/x.pcap", "ports"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:3] == ["0", "cable", "0"] and "cable to port 1" in lines[1]
    assert lines[3].split()[1] == "null" and lines[4].split()[1] == "pcap"
    assert "02:4D:50:00:00:00" in lines[1]


def test_port_out_of_range_in_a_script(moonpy, tmp_path):
    script = tmp_path / "bad_port.lua"
    script.write_text(
        'local device = require "device"\nfunction master() device.config{port = 7} end\n'
    )
    proc = moonpy(str(script))
    assert proc.returncode == 1
    assert (
        "port 7 does not exist; valid ports: 0 (cable to port 1), 1 (cable to port 0)"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
