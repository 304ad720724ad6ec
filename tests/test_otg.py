"""moonpy serve driven by the real snappi client (the OTG API): flows on the virtual cable
counted per flow, an unsupported field answered with an OTG error, a stop in the middle of
a run, and two servers (one per "host", each its own EAL) driven by one configuration."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import ROOT, child_env

snappi = pytest.importorskip("snappi")

pytestmark = [pytest.mark.dpdk]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(*moonpy_opts: str, port: int | None = None, netns: str | None = None) -> Iterator[str]:
    """A ``moonpy serve`` child process; yields its URL; stopped (SIGTERM) at the end, when
    it must exit 0 (no buffers leaked)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "moonpy", "--memory", "256", *moonpy_opts, "serve",
           "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env(), cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "OTG API on" not in line:
        proc.kill()
        raise AssertionError(f"moonpy serve did not start: {line}{proc.stdout.read()}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, f"moonpy serve exited {proc.returncode}:\n{line}{out}"


def api(url: str):  # noqa: ANN201 (snappi has no types)
    return snappi.api(location=url, verify=False)


def control(a, state: str) -> None:  # noqa: ANN001
    cs = a.control_state()
    cs.traffic.flow_transmit.state = state
    a.set_control_state(cs)


def capture(a, state: str) -> None:  # noqa: ANN001
    cs = a.control_state()
    cs.port.capture.state = state
    a.set_control_state(cs)


def flows(a) -> dict:  # noqa: ANN001
    r = a.metrics_request()
    r.flow.flow_names = []
    return {m.name: m for m in a.get_metrics(r).flow_metrics}


def ports(a) -> dict:  # noqa: ANN001
    r = a.metrics_request()
    r.port.port_names = []
    return {m.name: m for m in a.get_metrics(r).port_metrics}


def wait_done(a, expect: dict[str, int], timeout: float = 15.0) -> dict:  # noqa: ANN001
    """Wait until every flow stopped and received what it sent (``expect``: frames)."""
    deadline = time.monotonic() + timeout
    while True:
        m = flows(a)
        if all(
            m[n].transmit == "stopped" and m[n].frames_tx == n_ and m[n].frames_rx == n_
            for n, n_ in expect.items()
        ):
            return m
        if time.monotonic() > deadline:
            got = {n: (m[n].transmit, m[n].frames_tx, m[n].frames_rx) for n in expect}
            raise AssertionError(f"flows did not finish: {got}, expected {expect}")
        time.sleep(0.2)


F2_SIZES = list(range(100, 197, 4))  # 25 sizes, CRC included


def two_flows(a, tx: str = "0", rx: str = "1", rate_scale: float = 1.0):  # noqa: ANN001, ANN201
    """f1: Ethernet/IPv4/UDP, 128 B, 4000 pps, 6000 frames, source address incrementing
    over 10 values, latency on; f2: Ethernet/VLAN/IPv6/TCP, sizes 100..196 by 4, 10 Mbit/s,
    12000 frames, VLAN ids from a list, TCP source port decrementing."""
    c = a.config()
    p1 = c.ports.add(name="p1", location=tx)
    p2 = c.ports.add(name="p2", location=rx)
    f1 = c.flows.add(name="f1")
    f1.tx_rx.port.tx_name, f1.tx_rx.port.rx_names = p1.name, [p2.name]
    f1.size.fixed = 128
    f1.rate.pps = int(4000 * rate_scale)
    f1.duration.fixed_packets.packets = 6000
    f1.metrics.enable = True
    f1.metrics.latency.enable = True
    eth, ip, udp = f1.packet.ethernet().ipv4().udp()
    eth.src.value, eth.dst.value = "00:00:01:01:01:01", "00:00:01:01:01:02"
    ip.src.increment.start, ip.src.increment.step, ip.src.increment.count = (
        "10.0.0.1",
        "0.0.0.1",
        10,
    )
    ip.dst.value = "10.0.1.1"
    udp.src_port.value, udp.dst_port.values = 5000, [6000, 6001, 6002]
    f2 = c.flows.add(name="f2")
    f2.tx_rx.port.tx_name, f2.tx_rx.port.rx_names = p1.name, [p2.name]
    f2.size.increment.start, f2.size.increment.end, f2.size.increment.step = 100, 196, 4
    f2.rate.mbps = int(10 * rate_scale)
    f2.duration.fixed_packets.packets = 12000
    f2.metrics.enable = True
    eth2, vlan, ip6, tcp = f2.packet.ethernet().vlan().ipv6().tcp()
    vlan.id.values = [100, 200]
    ip6.src.value, ip6.dst.value = "2001:db8::1", "2001:db8::2"
    tcp.src_port.decrement.start, tcp.src_port.decrement.count = 40000, 50
    tcp.dst_port.value = 80
    return c


def f2_bytes(n: int) -> int:
    full, rest = divmod(n, len(F2_SIZES))
    return full * sum(F2_SIZES) + sum(F2_SIZES[:rest])


def test_two_flows_counted_per_flow_with_rates_bytes_and_frames():
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.utils import rdpcap

    with serve() as url:
        a = api(url)
        c = two_flows(a)
        ca = c.captures.add(name="cap", port_names=["p2"])
        ca.format = ca.PCAP
        a.set_config(c)
        assert json.loads(a.get_config().serialize())["flows"][1]["name"] == "f2"
        capture(a, "start")
        control(a, "start")
        time.sleep(1.2)  # the rates: over the last second, past the start
        mid = flows(a)
        assert mid["f1"].transmit == "started" and mid["f2"].transmit == "started"
        avg2 = sum(F2_SIZES) / len(F2_SIZES)
        assert mid["f1"].frames_tx_rate == pytest.approx(4000, rel=0.2)
        assert mid["f2"].frames_tx_rate * avg2 * 8 == pytest.approx(10e6, rel=0.2)
        m = wait_done(a, {"f1": 6000, "f2": 12000})
        capture(a, "stop")
        assert m["f1"].bytes_tx == m["f1"].bytes_rx == 6000 * 128
        assert m["f2"].bytes_tx == m["f2"].bytes_rx == f2_bytes(12000)
        assert m["f1"].loss == 0 and m["f2"].loss == 0
        assert 0 < m["f1"].latency.minimum_ns <= m["f1"].latency.average_ns
        assert m["f1"].latency.average_ns <= m["f1"].latency.maximum_ns
        pm = ports(a)
        assert pm["p1"].frames_tx == pm["p2"].frames_rx == 18000
        assert pm["p2"].bytes_rx == 6000 * 128 + f2_bytes(12000)
        req = a.capture_request()
        req.port_name = "p2"
        frames = rdpcap(io.BytesIO(a.get_capture(req).read()))
    # the bytes on the wire, checked by scapy: headers, varying fields, lengths, checksums
    # (captured frames end with their FCS)
    assert len(frames) == 18000
    assert all(zlib.crc32(bytes(f)[:-4]).to_bytes(4, "little") == bytes(f)[-4:] for f in frames)
    udp4 = [f for f in frames if IP in f]
    tcp6 = [f for f in frames if IPv6 in f]
    assert len(udp4) == 6000 and len(tcp6) == 12000
    assert [f[IP].src for f in udp4[:11]] == [f"10.0.0.{i}" for i in range(1, 11)] + ["10.0.0.1"]
    assert [f[UDP].dport for f in udp4[:4]] == [6000, 6001, 6002, 6000]
    for f in udp4[:50]:
        assert len(f) == 128 and f[Ether].src == "00:00:01:01:01:01"
        assert f[IP].len == 110 and f[UDP].len == 90
        ip_sum, udp_sum = f[IP].chksum, f[UDP].chksum
        del f[IP].chksum, f[UDP].chksum
        again = Ether(bytes(f))
        assert (again[IP].chksum, again[UDP].chksum) == (ip_sum, udp_sum)
    assert [len(f) for f in tcp6[:26]] == F2_SIZES + [100]
    assert [f[Dot1Q].vlan for f in tcp6[:3]] == [100, 200, 100]
    assert [f["TCP"].sport for f in tcp6[:3]] == [40000, 39999, 39998]
    for f in tcp6[:50]:
        assert f[IPv6].plen == len(f) - 18 - 40 - 4
        tcp_sum = f["TCP"].chksum
        del f["TCP"].chksum
        assert Ether(bytes(f))["TCP"].chksum == tcp_sum


def test_unsupported_field_gives_an_otg_error():
    with serve() as url:
        a = api(url)
        c = a.config()
        c.ports.add(name="p1", location="0")
        c.ports.add(name="p2", location="1")
        f = c.flows.add(name="f1")
        f.tx_rx.port.tx_name, f.tx_rx.port.rx_names = "p1", ["p2"]
        f.packet.ethernet().gre()
        with pytest.raises(Exception) as e:
            a.set_config(c)
        err = e.value.args[0]
        assert err.code == 400 and err.kind == "validation"
        assert "config.flows[0].packet[1].gre is not supported" in err.errors[0]
        f.packet.clear()
        f.packet.ethernet().ipv4()
        f.duration.burst.packets = 10
        with pytest.raises(Exception) as e:
            a.set_config(c)
        assert "config.flows[0].duration.burst is not supported" in e.value.args[0].errors[0]
        c.ports[1].location = "nowhere"
        with pytest.raises(Exception) as e:
            a.set_config(c)
        assert "config.ports[1].location" in e.value.args[0].errors[0]


def test_stop_mid_run_and_start_again():
    with serve() as url:
        a = api(url)
        c = a.config()
        c.ports.add(name="p1", location="0")
        c.ports.add(name="p2", location="1")
        f = c.flows.add(name="f1")
        f.tx_rx.port.tx_name, f.tx_rx.port.rx_names = "p1", ["p2"]
        f.rate.pps = 20000
        f.duration.continuous.gap = 12
        f.metrics.enable = True
        f.packet.ethernet().ipv4().udp()
        a.set_config(c)
        for _ in range(2):  # the second start: counters from zero, sending again
            control(a, "start")
            time.sleep(0.6)
            m = flows(a)["f1"]
            assert m.transmit == "started" and m.frames_tx > 2000
            control(a, "stop")
            m = flows(a)["f1"]
            assert m.transmit == "stopped"
            time.sleep(0.3)
            after = flows(a)["f1"]
            assert after.frames_tx == m.frames_tx < 20000 * 3
            assert after.frames_rx == after.frames_tx


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def veth_netns() -> Iterator[str]:
    """A network namespace holding a veth pair (va, vb), nothing else on it."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    ns = f"mpotg{os.getpid()}"
    _ip("netns", "add", ns)
    try:
        _ip("-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb")
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv6.conf.all.disable_ipv6=1"], check=True)  # fmt: skip
        for dev in ("lo", "va", "vb"):
            _ip("-n", ns, "link", "set", dev, "up")
        yield ns
    finally:
        _ip("netns", "del", ns)


def test_two_servers_one_config(veth_netns: str):
    """Server A owns va, server B owns vb (each its own process and EAL file prefix); the
    client talks to A only; A forwards B's part and merges the metrics."""
    pa, pb = free_port(), free_port()
    client = textwrap.dedent(f"""
        import json, time, snappi
        a = snappi.api(location="http://127.0.0.1:{pa}", verify=False)
        c = a.config()
        c.ports.add(name="pa", location="0")
        c.ports.add(name="pb", location="127.0.0.1:{pb}/0")
        f = c.flows.add(name="ab")
        f.tx_rx.port.tx_name, f.tx_rx.port.rx_names = "pa", ["pb"]
        f.size.fixed, f.rate.pps, f.duration.fixed_packets.packets = 200, 5000, 3000
        f.metrics.enable = True
        f.packet.ethernet().ipv4().udp()
        g = c.flows.add(name="ba")
        g.tx_rx.port.tx_name, g.tx_rx.port.rx_names = "pb", ["pa"]
        g.size.fixed, g.rate.pps, g.duration.fixed_packets.packets = 100, 4000, 2000
        g.metrics.enable = True
        g.packet.ethernet().ipv6().tcp()
        a.set_config(c)
        cs = a.control_state()
        cs.traffic.flow_transmit.state = "start"
        a.set_control_state(cs)
        deadline = time.monotonic() + 15
        while True:
            r = a.metrics_request(); r.flow.flow_names = []
            fm = {{m.name: m for m in a.get_metrics(r).flow_metrics}}
            if all(m.transmit == "stopped" and m.frames_rx >= m.frames_tx for m in fm.values()):
                break
            assert time.monotonic() < deadline, [m.serialize() for m in fm.values()]
            time.sleep(0.2)
        r = a.metrics_request(); r.port.port_names = []
        pm = {{m.name: m for m in a.get_metrics(r).port_metrics}}
        print(json.dumps({{
            "flows": {{n: [m.frames_tx, m.frames_rx, m.bytes_tx, m.bytes_rx, m.port_tx]
                      for n, m in fm.items()}},
            "ports": {{n: [m.frames_tx, m.frames_rx, m.location] for n, m in pm.items()}},
        }}))
    """)
    opts = ("--cores", "0,1")
    with serve("--port", "af_packet,iface=vb", *opts, port=pb, netns=veth_netns):
        with serve("--port", "af_packet,iface=va", *opts, port=pa, netns=veth_netns):
            proc = subprocess.run(
                ["ip", "netns", "exec", veth_netns, sys.executable, "-c", client],
                capture_output=True, text=True, timeout=60, env=child_env(), cwd=ROOT,
            )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["flows"]["ab"] == [3000, 3000, 3000 * 200, 3000 * 200, "pa"]
    assert out["flows"]["ba"] == [2000, 2000, 2000 * 100, 2000 * 100, "pb"]
    # each server's own port counts (nothing else sends on this veth pair)
    assert out["ports"]["pa"][:2] == [3000, 2000]
    assert out["ports"]["pb"] == [2000, 3000, f"127.0.0.1:{pb}/0"]


def test_serve_bad_options_one_line(moonpy):  # noqa: ANN001 (the conftest fixture)
    r = moonpy("serve", "--listen", "bogus")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "moonpy serve: error: --listen bogus: give HOST:PORT (e.g. 127.0.0.1:8443)"
    ]
    r = moonpy("serve", "--tls-cert", "x.pem")
    assert r.returncode == 1 and "give both --tls-cert and --tls-key" in r.stderr


def test_many_configurations_in_little_memory():
    """Each flow's pool is kept for the same flow later; when DPDK's memory is full, a new
    flow takes over a kept pool (its buffers get the new template as they are sent): the
    frames on the wire are the new flow's, every time."""
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap

    with serve("--memory", "96") as url:
        a = api(url)
        for i in range(8):
            c = a.config()
            c.ports.add(name="p1", location="0")
            c.ports.add(name="p2", location="1")
            ca = c.captures.add(name="cap", port_names=["p2"])
            ca.format = ca.PCAP
            f = c.flows.add(name=f"f{i}")
            f.tx_rx.port.tx_name, f.tx_rx.port.rx_names = "p1", ["p2"]
            f.size.fixed, f.rate.pps, f.duration.fixed_packets.packets = 100 + i, 20000, 300
            f.metrics.enable = i % 3 != 2
            eth, ip, udp = f.packet.ethernet().ipv4().udp()
            eth.dst.value = f"02:00:00:00:00:{i:02x}"
            if i % 2:
                ip.src.increment.start, ip.src.increment.count = "10.0.0.1", 7
            a.set_config(c)
            capture(a, "start")
            control(a, "start")
            deadline = time.monotonic() + 10
            while ports(a)["p2"].frames_rx < 300:
                assert time.monotonic() < deadline, "frames did not arrive"
                time.sleep(0.05)
            capture(a, "stop")
            req = a.capture_request()
            req.port_name = "p2"
            frames = rdpcap(io.BytesIO(a.get_capture(req).read()))
            assert len(frames) == 300
            assert {(f[Ether].dst, len(f)) for f in frames} == {(eth.dst.value, 100 + i)}
            if f.metrics.enable:
                assert flows(a)[f"f{i}"].frames_rx == 300
