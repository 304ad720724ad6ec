"""Receive-side scaling on a virtual cable: frames spread over the receiving port's RX
queues by the Toeplitz hash a NIC computes, checked frame by frame against a reference
implemented here (itself checked against the RSS verification suite's published hashes)."""

from __future__ import annotations

import random

import pytest
from conftest import ROOT, have_tun, run_moonpy, run_python
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

pytestmark = pytest.mark.dpdk

KEY = bytes.fromhex(
    "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa"
)


def toeplitz(data: bytes) -> int:
    key = int.from_bytes(KEY, "big")
    width = len(KEY) * 8
    h = 0
    for i, byte in enumerate(data):
        for b in range(8):
            if byte & (0x80 >> b):
                h ^= (key >> (width - 32 - (i * 8 + b))) & 0xFFFFFFFF
    return h


def test_reference_hash_matches_the_published_vectors():
    v4 = bytes([66, 9, 149, 187, 161, 142, 100, 80])
    ports = (2794).to_bytes(2, "big") + (1766).to_bytes(2, "big")
    assert toeplitz(v4) == 0x323E8FC2
    assert toeplitz(v4 + ports) == 0x51CCC178
    v6 = bytes.fromhex("3ffe250102001fff00000000000000073ffe2501020000030000000000000001")
    assert toeplitz(v6) == 0x2CC18CD5
    assert toeplitz(v6 + ports) == 0x40207D3D


def addr4(pkt) -> bytes:
    return bytes(pkt[IP])[12:20]


def addr6(pkt) -> bytes:
    return bytes(pkt[IPv6])[8:40]


def ports(pkt, l4) -> bytes:
    return bytes(pkt[l4])[:4]


def Eth(**kw):  # noqa: N802 - scapy's layer style
    # addresses given: scapy would otherwise ask the network for the destination's MAC
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **kw)


def corpus(seed: int) -> list[tuple[bytes, bytes | None, bytes | None]]:
    """(frame, hash input with all types, hash input with IPv4 addresses only)."""
    rng = random.Random(seed)
    out = []

    def ip4() -> str:
        return ".".join(str(rng.randrange(256)) for _ in range(4))

    def ip6() -> str:
        return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))

    for i in range(240):
        sport, dport = rng.randrange(65536), rng.randrange(65536)
        kind = i % 12
        wrap = [
            lambda p: p,
            lambda p: Dot1Q(vlan=7) / p,
            lambda p: Dot1AD(vlan=3) / Dot1Q(vlan=9) / p,
        ][i % 3]
        if kind in (0, 1, 2):  # IPv4 UDP/TCP, with options in some
            l4 = UDP if kind != 1 else TCP
            opts = b"\x01\x01\x01\x00" if kind == 2 else b""
            p = Eth() / wrap(IP(src=ip4(), dst=ip4(), options=opts) / l4(sport=sport, dport=dport))
            out.append((bytes(p), addr4(p) + ports(p, l4), addr4(p)))
        elif kind in (3, 4):  # IPv6 UDP/TCP
            l4 = UDP if kind == 3 else TCP
            p = Eth() / wrap(IPv6(src=ip6(), dst=ip6()) / l4(sport=sport, dport=dport))
            out.append((bytes(p), addr6(p) + ports(p, l4), None))
        elif kind == 5:  # IPv4 fragments: addresses only
            p = Eth() / wrap(IP(src=ip4(), dst=ip4(), flags="MF", frag=i % 2 * 10) / UDP())
            out.append((bytes(p), addr4(p), addr4(p)))
        elif kind == 6:  # ICMP: addresses only
            p = Eth() / wrap(IP(src=ip4(), dst=ip4()) / ICMP())
            out.append((bytes(p), addr4(p), addr4(p)))
        elif kind == 7:  # IPv6 without TCP/UDP (an ICMPv6 next header)
            p = Eth() / wrap(IPv6(src=ip6(), dst=ip6(), nh=58) / b"\x80\x00\x00\x00")
            out.append((bytes(p), addr6(p), None))
        elif kind == 8:  # not IP
            out.append((bytes(Eth() / wrap(ARP(psrc=ip4()))), None, None))
        elif kind == 9:  # IPv4 whose header is cut short: not hashed
            p = bytes(Eth() / wrap(IP(src=ip4(), dst=ip4()) / UDP()))
            out.append((p[: len(p) - 8 - rng.randrange(1, 20)], None, None))
        elif kind == 10:  # a UDP header cut to its source port: the addresses only
            p = Eth() / wrap(IP(src=ip4(), dst=ip4()) / UDP(sport=sport, dport=dport))
            out.append((bytes(p)[:-6], addr4(p), addr4(p)))
        else:  # garbage after an IPv4 ethertype: version and header length not IPv4's
            junk = bytes(rng.randrange(256) for _ in range(30))
            junk = bytes([0x43]) + junk[1:]
            out.append((bytes(Eth(type=0x0800)) + junk, None, None))
    return out


@pytest.mark.parametrize("types", ["all", "ip4"])
def test_cable_spreads_frames_over_rx_queues_by_rss_hash(tmp_path, types):
    frames = corpus(seed=7)
    path = tmp_path / "frames.hex"
    path.write_text("".join(f.hex() + "\n" for f, _, _ in frames))
    proc = run_moonpy(
        "--no-color", str(ROOT / "tests/lua/rss_frames.lua"), str(path), "--types", types
    )
    assert proc.returncode == 0, proc.stderr
    got = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RX "):
            _, queue, rss, data = line.split()
            got.setdefault(data, []).append((int(queue), int(rss, 16)))
    assert sum(len(v) for v in got.values()) == len(frames), "every frame arrives once"
    per_queue = {0: 0, 1: 0, 2: 0}
    for frame, tuple_all, tuple_ip4 in frames:
        inputs = tuple_all if types == "all" else tuple_ip4
        want = toeplitz(inputs) if inputs is not None else 0
        queue, rss = got[frame.hex()].pop()
        assert rss == want, f"hash of {frame.hex()}"
        # libmoon's table: entry i -> rssBaseQueue + i % rssQueues, 128 entries
        assert queue == 1 + (want % 128) % 2
        per_queue[queue] += inputs is not None
    hashed = sum(1 for f in frames if (f[1] if types == "all" else f[2]) is not None)
    assert per_queue[0] == 0 and min(per_queue[1], per_queue[2]) > hashed // 4


def test_rss_needs_the_queues_it_names(tmp_path):
    script = tmp_path / "rss.lua"
    script.write_text(
        'local device = require "device"\n'
        "function master()\n"
        "  device.config{port = 1, rxQueues = 2, rssQueues = 2, rssBaseQueue = 1}\nend\n"
    )
    proc = run_moonpy("--no-color", str(script))
    assert proc.returncode == 1
    assert "rssQueues=2 from rssBaseQueue=1 needs 3 rx queues, it is configured with 2" in (
        proc.stderr
    )


PY_SCRIPT = """
from moonpy import device, memory
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether


def master():
    tx = device.config(port=0)
    rx = device.config(port=1, rx_queues=2, rss_queues=2, rss_types=TYPES)
    device.wait_for_links()
    bufs = memory.create_mempool(n=255).buf_array(64)
    bufs.alloc(60)
    for i, pkt in enumerate(bufs):
        pkt.set_data(
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=53)
        )
    tx.get_tx_queue(0).send(bufs)
    got = memory.buf_array(64)
    for q in (0, 1):
        n = rx.get_rx_queue(q).try_recv(got, 1.0)
        print("QUEUE", q, *sorted(int.from_bytes(p.get_bytes()[34:36], "big") for p in got))
        got.free()
"""


@pytest.mark.parametrize("types", ["None", "device.RSS_IPV4 | device.RSS_NONFRAG_IPV4_TCP"])
def test_python_scripts_configure_rss_too(tmp_path, types):
    script = tmp_path / "rss.py"
    script.write_text(PY_SCRIPT.replace("TYPES", types))
    proc = run_moonpy("--no-color", str(script))
    assert proc.returncode == 0, proc.stderr
    queues = {}
    for line in proc.stdout.splitlines():
        if line.startswith("QUEUE "):
            words = line.split()
            queues[int(words[1])] = [int(w) for w in words[2:]]
    addrs = bytes([10, 0, 0, 1, 10, 0, 0, 2])
    for sport in range(1000, 1064):
        # UDP frames: their ports count only where the types name IPv4 UDP (the default)
        l4 = sport.to_bytes(2, "big") + (53).to_bytes(2, "big") if types == "None" else b""
        want = toeplitz(addrs + l4) % 128 % 2
        assert sport in queues[want], f"source port {sport} belongs on queue {want}"
    assert len(queues[0]) + len(queues[1]) == 64
    if types == "None":  # (hashed by addresses only, the 64 frames are one flow: one queue)
        assert queues[0] and queues[1]


SET_RSS_LUA = """
local device = require "device"
local memory = require "memory"
local mg = require "moongen"
function master()
    local tx = device.config{port = 0}
    local rx = device.config{port = 1, rxQueues = 4}
    rx:setRssQueues(2, 2)
    device.waitForLinks()
    local mem = memory.createMemPool(function(buf) buf:getUdpPacket():fill{} end)
    local bufs = mem:bufArray(64)
    bufs:alloc(60)
    for i, buf in ipairs(bufs) do buf:getUdpPacket().udp:setSrcPort(1000 + i) end
    tx:getTxQueue(0):send(bufs)
    mg.sleepMillis(100)
    local got = memory.bufArray(64)
    for q = 0, 3 do
        local n = rx:getRxQueue(q):tryRecv(got, 0)
        print("QUEUE", q, n)
        got:free(n)
    end
    print(pcall(rx.setRssQueues, rx, 4, 1))
end
"""


def test_set_rss_queues_after_config(tmp_path):
    script = tmp_path / "setrss.lua"
    script.write_text(SET_RSS_LUA)
    proc = run_moonpy("--no-color", str(script))
    assert proc.returncode == 0, proc.stderr
    counts = {}
    for line in proc.stdout.splitlines():
        if line.startswith("QUEUE"):
            _, q, n = line.split()
            counts[int(q)] = int(n)
    assert counts[0] == counts[1] == 0 and counts[2] > 0 and counts[3] > 0
    assert counts[2] + counts[3] == 64
    assert "rssQueues=4 from rssBaseQueue=1 needs 5 rx queues" in proc.stdout


def test_ports_with_rss_in_their_driver_get_it_configured():
    # the null PMD has a redirection table, as a NIC does: RSS is set up in the port
    out = run_python(
        """
        import json
        from moonpy import _dpdk
        from moonpy.core.config import Config, PortSpec
        from moonpy.core.engine import Engine
        eng = Engine(Config(ports=[PortSpec(kind="null")])).start()
        eng.configure_port(0, rx_queues=4, rss_queues=2, rss_base=1)
        first = _dpdk.port_get_reta(eng.port(0).dpdk_id)
        eng.set_rss(0, 4)
        second = _dpdk.port_get_reta(eng.port(0).dpdk_id)
        print(json.dumps({"first": first, "second": second, "leaks": eng.shutdown()}))
        """
    )
    assert len(out["first"]) == 128 and out["first"] == [1 + i % 2 for i in range(128)]
    assert out["second"] == [i % 4 for i in range(128)]
    assert out["leaks"] == []


@pytest.mark.skipif(not have_tun(), reason="needs /dev/net/tun and root")
def test_ports_without_rss_say_so(tmp_path):
    script = tmp_path / "tap_rss.lua"
    script.write_text(
        'local device = require "device"\n'
        "function master()\n"
        "  device.config{port = 0, rxQueues = 2, txQueues = 2, rssQueues = 2}\nend\n"
    )
    proc = run_moonpy("--no-color", "--port", "tap,iface=mprss0", str(script))
    assert proc.returncode == 0, proc.stderr
    assert "port 0 (tap mprss0): its driver has no RSS; every frame it receives arrives on " in (
        proc.stderr + proc.stdout
    )
