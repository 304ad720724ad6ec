"""The Python-native API: `moonpy SCRIPT.py`, packet views, header tables and the
field engine. Scapy is the oracle for every byte; DPDK runs in child processes."""

from __future__ import annotations

import io
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from conftest import ROOT, assert_run_went_on_past_a_dead_task, child_env, run_moonpy, run_python
from scapy.contrib.ptp_v2 import PTP as SPTP
from scapy.layers.inet import ICMP as SICMP
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import ARP as SARP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN as SVXLAN
from scapy.utils import rdpcap

from moonpy import fieldengine as fe
from moonpy import histogram, log, proto, stats
from moonpy.proto import Stack

PY = ROOT / "tests" / "py"
EXAMPLES = ROOT / "examples"


def script(name: str) -> str:
    return str((PY / name).relative_to(ROOT))


def frames(path) -> list[bytes]:
    return [bytes(p) for p in rdpcap(str(path))]


# ---- header tables: every field, set through packet views in real mbufs, read by scapy ----

SCAPY_LAYER = {
    "eth": Ether, "vlan": Dot1Q, "arp": SARP, "ip4": IP, "ip6": IPv6, "icmp": SICMP,
    "icmp6": ICMPv6EchoRequest, "udp": UDP, "tcp": TCP, "ptp": SPTP, "vxlan": SVXLAN,
    "inner_eth": Ether,
}  # fmt: skip
STACK_OF = {
    "eth": "udp", "ip4": "udp", "udp": "udp", "vlan": "eth/vlan/ip4/tcp", "tcp": "eth/vlan/ip4/tcp",
    "arp": "arp", "icmp": "icmp", "ip6": "icmp6", "icmp6": "icmp6", "ptp": "udp_ptp",
    "vxlan": "vxlan", "inner_eth": "vxlan",
}  # fmt: skip
FRAME = 128


# values that keep scapy's dissection: ARP lengths, EtherTypes (below 0x600 is 802.3)
OVERRIDES = {"arp.hwlen": 8, "arp.plen": 6, "eth.type": 0x88B5, "inner_eth.type": 0x88B6}


def value_for(f: proto.Field, member: str):
    if f"{member}.{f.name}" in OVERRIDES:
        return OVERRIDES[f"{member}.{f.name}"]
    rnd = random.Random(f"{member}.{f.name}")
    if f.kind == "mac":
        return ":".join(f"{rnd.randrange(256):02x}" for _ in range(6))
    if f.kind == "ip4":
        return f"172.{rnd.randrange(16, 32)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
    if f.kind == "ip6":
        return f"2001:db8::{rnd.randrange(1, 0xFFFF):x}:{rnd.randrange(1, 0xFFFF):x}"
    while True:
        v = rnd.randrange(1, f.max_value + 1)
        if v != f.default:
            return v


FIELD_CASES = [
    (member, f.name)
    for member in STACK_OF
    for f in Stack.parse(STACK_OF[member]).layout.find(member)[0].fields  # type: ignore[index]
]


@pytest.fixture(scope="module")
def view_frames() -> dict:
    """Each field set through a packet view (pkt.<member>.<field> = value) in an mbuf."""
    cases = [
        (m, n, STACK_OF[m], value_for(Stack.parse(STACK_OF[m]).layout.find(m)[0].field(n), m))
        for m, n in FIELD_CASES
    ]
    return run_python(
        f"""
        import json
        from moonpy import memory
        from moonpy.core.config import Config, PortSpec
        from moonpy.core.engine import Engine
        eng = Engine(Config(ports=[PortSpec(kind="null")])).start()
        pool = memory.create_mempool(n=127)
        bufs = pool.buf_array(1)
        out = {{"default": {{}}, "set": {{}}}}
        for member, name, stack, value in {cases!r}:
            bufs.alloc({FRAME})
            pkt = bufs[0]
            pkt.set_bytes(bytes({FRAME}))
            pkt.fill(stack, length={FRAME})
            out["default"][stack] = pkt.get_bytes().hex()
            setattr(pkt.header(member), name, value)
            back = getattr(pkt.header(member), name)
            out["set"][member + "." + name] = [pkt.get_bytes().hex(), back]
            bufs.free()
        out["leaks"] = eng.shutdown()
        print(json.dumps(out))
        """
    )


@pytest.mark.dpdk
@pytest.mark.parametrize("member, name", FIELD_CASES, ids=[f"{m}.{n}" for m, n in FIELD_CASES])
def test_every_header_field_round_trips_through_scapy(view_frames, member, name):
    stack = Stack.parse(STACK_OF[member])
    cls, off = stack.layout.find(member)  # type: ignore[misc]
    f = cls.field(name)
    value = value_for(f, member)
    raw_hex, read_back = view_frames["set"][f"{member}.{name}"]
    raw = bytes.fromhex(raw_hex)
    default = bytes.fromhex(view_frames["default"][STACK_OF[member]])
    assert view_frames["leaks"] == []
    # only the field's own bytes changed
    lo, hi = off + f.offset, off + f.offset + f.width
    assert raw[:lo] == default[:lo] and raw[hi:] == default[hi:]
    assert read_back == f.from_int(f.to_int(value))
    layer = SCAPY_LAYER[member](raw[off:])
    if member == "vlan" and name == "tci":
        got = layer.prio << 13 | layer.dei << 12 | layer.vlan
    elif member == "vxlan" and name == "reserved1":
        got = int.from_bytes(raw[off + 1 : off + 4], "big")
    else:
        got = getattr(layer, name)
    if f.kind in ("mac", "ip4", "ip6"):
        assert got == value
    else:
        assert int(got) == value


def test_fill_defaults_are_moongens_and_scapy_reads_them():
    raw = proto.UDP4.build(length=60)
    p = Ether(raw)
    assert (p.src, p.dst, p.type) == ("01:02:03:04:05:06", "07:08:09:0a:0b:0c", 0x0800)
    assert (p[IP].src, p[IP].dst, p[IP].ttl, p[IP].len, p[IP].ihl, p[IP].proto) == (
        "192.168.1.1", "192.168.1.2", 64, 46, 5, 17,
    )  # fmt: skip
    assert (p[UDP].sport, p[UDP].dport, p[UDP].len) == (1024, 1025, 26)
    t = Ether(proto.TCP6.build(length=80, tcp_flags="SA"))
    assert t[IPv6].plen == 80 - 14 - 40 and t[IPv6].nh == 6 and t[IPv6].src == "fe80::1"
    assert (t[TCP].sport, t[TCP].dport, t[TCP].window, str(t[TCP].flags)) == (
        1025,
        1024,
        29200,
        "SA",
    )
    v = Ether(proto.Stack.parse("eth/vlan/ip4/udp").build(length=64, vlan_vlan=42, vlan_prio=5))
    assert (
        v.type == 0x8100 and v[Dot1Q].vlan == 42 and v[Dot1Q].prio == 5 and v[Dot1Q].type == 0x800
    )
    x = proto.VXLAN4.build(length=100, vxlan_vni=1000, inner_eth_src="aa:bb:cc:dd:ee:ff")
    assert Ether(x)[UDP].dport == 4789
    assert SVXLAN(x[42:]).vni == 1000 and Ether(x[50:]).src == "aa:bb:cc:dd:ee:ff"


def test_decode_finds_the_headers_scapy_built():
    pkts = {
        "eth/vlan/ip4/udp": Ether() / Dot1Q(vlan=3) / IP(options=b"\x01" * 4) / UDP(),
        "eth/ip6/tcp": Ether() / IPv6() / TCP(dataofs=6) / (b"x" * 8),
        "eth/arp": Ether() / SARP(),
        "eth/ip4/icmp": Ether() / IP() / SICMP(),
        "eth/ip4/udp/vxlan/inner_eth": Ether() / IP() / UDP(dport=4789) / SVXLAN() / Ether(),
    }
    for expect, p in pkts.items():
        raw = bytes(p)
        layout = proto.decode(raw)
        assert str(layout) == expect
    lay = proto.decode(bytes(Ether() / IP(options=b"\x01" * 4) / UDP()))
    assert lay.find("udp")[1] == 14 + 24  # type: ignore[index]


def test_fill_names_unknown_keywords_and_guesses_stacks():
    with pytest.raises(TypeError, match="did you mean udp_sport"):
        proto.UDP4.build(udp_sprt=1)
    assert str(proto.guess_stack({"tcp_sport": 1})) == "eth/ip4/tcp"
    assert str(proto.guess_stack({"ip6_src": "::1"})) == "eth/ip6/udp"
    assert str(proto.guess_stack({"vlan_vlan": 2, "udp_dport": 1})) == "eth/vlan/ip4/udp"
    with pytest.raises(ValueError, match="unknown stack"):
        Stack.parse("udpp")
    with pytest.raises(ValueError, match="not an IPv4 address"):
        proto.UDP4.build(ip4_src="10.0.1")


# ---- the field engine: compilation (no DPDK) ---------------------------------------------


def test_field_engine_compiles_paths_to_offsets():
    tpl = proto.UDP4.build(length=60)
    prog = fe.Stream(tpl, vary=[fe.Random("ip4.src"), fe.Increment("udp.sport", 10, 20)]).compile()
    (k1, off1, w1, *_), (k2, off2, w2, _s, _m, lo, hi, step, start, *_rest) = prog.ops
    assert (k1, off1, w1) == (fe.FE_RANDOM, 26, 4)
    assert (k2, off2, w2, lo, hi, step, start) == (fe.FE_INC, 34, 2, 10, 20, 1, 10)
    flags = fe.Stream(tpl, vary=[fe.Random("ip4.flags")]).compile().ops[0]
    assert flags[1:5] == (20, 2, 13, 0xE000)
    with pytest.raises(ValueError, match="no 'tcp' header"):
        fe.Stream(tpl, vary=[fe.Random("tcp.sport")]).compile()
    with pytest.raises(ValueError, match="has no field 'sprt'"):
        fe.Stream(tpl, vary=[fe.Random("udp.sprt")]).compile()
    with pytest.raises(ValueError, match="empty or outside"):
        fe.Stream(tpl, vary=[fe.Random("udp.sport", 500, 5)]).compile()
    with pytest.raises(ValueError, match="does not fit 16 bits"):
        fe.Stream(tpl, vary=[fe.Random("udp.sport", 5, 70000)]).compile()
    with pytest.raises(ValueError, match="low 64 bits"):
        fe.Stream(proto.UDP6.build(), vary=[fe.Random("ip6.src", "::1", "1::1")]).compile()


def test_imix_order_is_a_smooth_interleave():
    table = fe.IMIX.table()
    assert Counter(table) == {60: 7, 590: 4, 1514: 1}
    assert table[:4] == [60, 590, 60, 60]
    assert abs(fe.IMIX.average() - (7 * 60 + 4 * 590 + 1514) / 12) < 1e-9


# ---- the field engine on real ports --------------------------------------------------------


ENGINE_RUN = """
import json
from moonpy import _dpdk, device, memory
from moonpy.core.config import Config, PortSpec
from moonpy.core.engine import Engine
from moonpy.fieldengine import *
from moonpy.proto import *
eng = Engine(Config(ports=[PortSpec(kind="pcap", tx="{out}")], cores=[0])).start()
dev = device.config(port=0, tx_queues=1)
q = dev.get_tx_queue(0)
sent = q.send_stream({stream}, count={count})
_dpdk.stop()
print(json.dumps({{"sent": sent, "leaks": eng.shutdown()}}))
"""


def run_stream(tmp_path, stream: str, count: int) -> list[bytes]:
    out = tmp_path / "fe.pcap"
    res = run_python(ENGINE_RUN.format(out=out, stream=stream, count=count))
    assert res == {"sent": count, "leaks": []}
    got = frames(out)
    assert len(got) == count
    return got


def checksums_valid(raw: bytes) -> bool:
    p = Ether(raw)
    ip = p[IP] if IP in p else p[IPv6]
    rebuilt = ip.__class__(bytes(ip))
    if IP in p:
        del rebuilt.chksum
    l4 = UDP if UDP in p else TCP
    del rebuilt[l4].chksum
    rebuilt = ip.__class__(bytes(rebuilt))
    ok = rebuilt[l4].chksum == p[l4].chksum
    return ok and (IP not in p or rebuilt.chksum == p[IP].chksum)


@pytest.mark.dpdk
def test_increment_decrement_lists_and_repeats(tmp_path):
    got = run_stream(
        tmp_path,
        """Stream(UDP4.build(length=64, ip4_dst="10.1.0.1"),
            vary=[Increment("ip4.src", "10.0.0.250", count=10),
                  Decrement("udp.sport", 100, 103),
                  FromList("udp.dport", [7, 8, 9], every=2),
                  Increment("eth.dst", "02:00:00:00:00:fe", count=4, step=2),
                  Increment("ip4.ttl", 1, 3, every=3)],
            fix=[Ipv4Checksum(), L4Checksum()])""",
        100,
    )
    pk = [Ether(r) for r in got]
    srcs = [p[IP].src for p in pk]
    assert srcs[:12] == [f"10.0.0.{i}" for i in range(250, 256)] + [
        "10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.0.250", "10.0.0.251",
    ]  # fmt: skip
    assert [p[UDP].sport for p in pk[:6]] == [103, 102, 101, 100, 103, 102]
    assert [p[UDP].dport for p in pk[:8]] == [7, 7, 8, 8, 9, 9, 7, 7]
    assert [p.dst for p in pk[:5]] == [
        "02:00:00:00:00:fe", "02:00:00:00:01:00", "02:00:00:00:01:02", "02:00:00:00:01:04",
        "02:00:00:00:00:fe",
    ]  # fmt: skip
    assert [p[IP].ttl for p in pk[:10]] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 1]
    assert all(checksums_valid(r) and len(r) == 64 for r in got)


@pytest.mark.dpdk
def test_imix_sizes_with_lengths_and_checksums(tmp_path):
    got = run_stream(
        tmp_path,
        """Stream(UDP4.build(length=60), size=IMIX, vary=[Random("udp.sport")],
                  fix=[Ipv4Checksum(), L4Checksum()])""",
        120,
    )
    assert Counter(len(r) for r in got) == {60: 70, 590: 40, 1514: 10}
    assert [len(r) for r in got[:12]] == fe.IMIX.table()
    for r in got:
        p = Ether(r)
        assert p[IP].len == len(r) - 14 and p[UDP].len == len(r) - 34
        assert checksums_valid(r)


@pytest.mark.dpdk
def test_ipv6_and_tcp_variations_with_offload_requests(tmp_path):
    got = run_stream(
        tmp_path,
        """Stream(TCP6.build(length=90, tcp_flags="S"),
            vary=[Random("ip6.src", "2001:db8::1:0", "2001:db8::1:ffff"),
                  FromList("ip6.dst", ["2001:db8::a", "2001:db8::b"]),
                  Random("tcp.seq"), Random("tcp.flags", 1, 0x3f)],
            fix=[OffloadChecksums()], seed=7)""",
        200,
    )
    pk = [Ether(r) for r in got]
    srcs = {p[IPv6].src for p in pk}
    assert len(srcs) > 150 and all(s.startswith("2001:db8::1:") for s in srcs)
    assert [p[IPv6].dst for p in pk[:3]] == ["2001:db8::a", "2001:db8::b", "2001:db8::a"]
    assert len({int(p[TCP].flags) for p in pk}) > 20
    assert all(checksums_valid(r) for r in got)  # finished in software on the pcap port


@pytest.mark.dpdk
def test_udp_load_example_sends_random_sources_with_valid_checksums(tmp_path):
    out = tmp_path / "udp.pcap"
    proc = run_moonpy(
        "--no-color", "--port", f"pcap,tx={out}", str(EXAMPLES / "udp-load.py"), "0", "0",
        "--time", "1", "--rate", "20",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[Device: id=0] TX: " in proc.stdout and "(incl. CRC)" in proc.stdout
    got = frames(out)
    assert len(got) > 1000
    pk = [Ether(r) for r in got]
    srcs = {p[IP].src for p in pk}
    sports = {p[UDP].sport for p in pk}
    assert len(srcs) > len(pk) * 0.95 and len(sports) > len(pk) * 0.6
    for p, raw in zip(pk[:300], got[:300], strict=True):
        assert p[IP].dst == "10.1.0.1" and p[UDP].dport == 319 and len(raw) == 60
        assert p.dst == "10:11:12:13:14:15"
        assert checksums_valid(raw)


@pytest.mark.dpdk
def test_udp_load_python_loop_sends_the_same_kind_of_packets(tmp_path):
    out = tmp_path / "loop.pcap"
    proc = run_moonpy(
        "--no-color", "--port", f"pcap,tx={out}", str(EXAMPLES / "udp-load.py"), "0", "0",
        "--time", "1", "--rate", "10", "--python-loop",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = frames(out)
    assert len(got) > 500
    assert len({Ether(r)[IP].src for r in got}) > len(got) * 0.95
    assert all(checksums_valid(r) for r in got[:200])


@pytest.mark.dpdk
def test_udp_load_example_across_the_cable_is_received():
    proc = run_moonpy("--no-color", str(EXAMPLES / "udp-load.py"), "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if "Received" in ln]
    assert line and int(line[0].split("Received ")[1].split()[0]) > 10_000
    assert "[Device: id=1] RX: " in proc.stdout and "[Device: id=0] TX: " in proc.stdout
    assert "not returned" not in proc.stderr


@pytest.mark.dpdk
def test_rx_counter_and_latency_examples():
    proc = run_moonpy(
        "--no-color", str(EXAMPLES / "rx-counter.py"), "1", "--load-from", "0", "--time", "1",
        "--rate", "100",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    counted = int(proc.stdout.split("Counted ")[1].split()[0])
    assert 150_000 * 0.5 < counted < 200_000 * 1.2  # 100 Mbit/s of 64-byte frames ~ 195 kpps
    assert "[RxQueue: id=1, qid=0] RX: " in proc.stdout
    proc = run_moonpy("--no-color", str(EXAMPLES / "latency.py"), "0", "1", "--time", "1")
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("[Latency] Samples: ")]
    assert line and int(line[0].split("Samples: ")[1].split(",")[0]) > 300
    q2 = float(line[0].split("Quartiles: ")[1].split("/")[1])
    assert 0 < q2 < 1e6  # nanoseconds through a ring


# ---- packet views and buffers -------------------------------------------------------------


@pytest.mark.dpdk
def test_packet_views_templates_and_lifetimes():
    res = run_python(
        """
        import json
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from moonpy import memory
        from moonpy.core.config import Config, PortSpec
        from moonpy.core.engine import Engine
        eng = Engine(Config(ports=[PortSpec(kind="null")])).start()
        out = {}
        tmpl = Ether(dst="02:00:00:00:00:02") / IP(dst="1.2.3.4") / UDP(dport=53)
        pool = memory.create_mempool(n=63, template=tmpl)
        bufs = pool.buf_array(8)
        bufs.alloc(60)
        out["layout"] = str(bufs[0].headers())
        out["dst"] = [p.ip4.dst for p in bufs]
        pkt = bufs[3]
        pkt.udp.dport = 99
        out["scapy"] = pkt.to_scapy()[UDP].dport
        bufs.free()
        try:
            pkt.udp
        except ValueError as e:
            out["after_free"] = str(e)
        seen = []
        pool2 = memory.create_mempool(n=100, init=lambda p: seen.append(p.size) or p.fill("tcp"))
        out["init"] = [len(seen), seen[0], str(pool2.layout)]
        rx = memory.buf_array()
        out["rx_alloc"] = ""
        try:
            rx.alloc(60)
        except ValueError as e:
            out["rx_alloc"] = str(e)
        out["leaks"] = eng.shutdown()
        print(json.dumps(out))
        """
    )
    assert res["layout"] == "eth/ip4/udp" and res["dst"] == ["1.2.3.4"] * 8
    assert res["scapy"] == 99
    assert "already sent or freed" in res["after_free"]
    assert res["init"] == [100, 1522, "eth/ip4/tcp"]
    assert "no mempool" in res["rx_alloc"]
    assert res["leaks"] == []


# ---- scripts: arguments, errors, exit codes -----------------------------------------------


@pytest.mark.dpdk
def test_task_arguments_results_and_exit_code():
    proc = run_moonpy("--no-color", script("task_values.py"))
    assert proc.returncode == 3, proc.stderr
    assert "ALL VALUES OK" in proc.stdout
    assert "more tasks than worker cores" in proc.stderr


@pytest.mark.dpdk
def test_script_without_configure_gets_raw_words_with_numbers_converted():
    proc = run_moonpy("--no-color", script("raw_args.py"), "0x10", "abc", "1e3")
    assert proc.returncode == 0, proc.stderr
    assert "ARGS int:16 str:abc float:1000.0" in proc.stdout


def test_script_help_and_bad_arguments():
    proc = run_moonpy(str(EXAMPLES / "udp-load.py"), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: moonpy" in proc.stdout and "--rate RATE" in proc.stdout
    proc = run_moonpy(str(EXAMPLES / "udp-load.py"), "0", "1", "--rat", "5")
    assert proc.returncode == 1
    assert "unrecognized arguments: --rat" in proc.stderr or "ambiguous" in proc.stderr


def test_syntax_error_shows_file_and_line(tmp_path):
    bad = tmp_path / "syntax_error.py"
    bad.write_text("def master():\n    x = = 1\n")
    proc = run_moonpy("--no-color", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:2: SyntaxError: invalid syntax" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.dpdk
def test_error_in_master_shows_script_frames_only_and_stops_tasks():
    proc = run_moonpy("--no-color", script("master_error.py"))
    assert proc.returncode == 1
    assert "[FATAL] Python error in task master" in proc.stderr
    assert 'File "tests/py/master_error.py", line 16, in master' in proc.stderr
    assert "AttributeError: 'NoneType' object has no attribute 'value'" in proc.stderr
    assert "moonpy/" not in proc.stderr  # no frames of moonpy itself
    assert "spinner stopped" in proc.stdout


@pytest.mark.dpdk
def test_error_in_task_is_reported_and_the_run_goes_on():
    proc = run_moonpy("--no-color", script("task_error.py"))
    assert "[FATAL] Python error in task crasher" in proc.stderr
    assert 'tests/py/task_error.py", line 13, in helper' in proc.stderr
    assert "RuntimeError: boom in task 7" in proc.stderr
    assert "master continued, running=True" in proc.stdout
    assert_run_went_on_past_a_dead_task(proc, "None")


@pytest.mark.dpdk
def test_api_misuse_is_one_line_with_file_and_line():
    proc = run_moonpy("--no-color", script("bad_port.py"))
    assert proc.returncode == 1
    assert "tests/py/bad_port.py:7: port 9 does not exist; valid ports: 0" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.dpdk
def test_task_that_never_checks_running_is_reported_not_hung():
    start = time.monotonic()
    proc = run_moonpy("--no-color", "--grace", "1", script("stuck_task.py"), timeout=30)
    assert time.monotonic() - start < 15
    assert proc.returncode == 1
    assert "task 'stuck' on core" in proc.stderr and "must check moonpy.running()" in proc.stderr


@pytest.mark.dpdk
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_field_engine_cleanly(sig, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "moonpy", "--no-color", "--port", "null", script("load_forever.py")],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line and "started" not in line:
        line = proc.stdout.readline()
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == code, err
    assert "counters finalized: True" in out
    assert "not returned" not in err


# ---- counters and histograms print MoonGen's lines ------------------------------------------


def test_counters_print_moongens_plain_and_csv_lines(monkeypatch):
    clock = iter([100.0, 101.5, 103.0, 104.5, 106.0])
    monkeypatch.setattr(stats, "get_time", lambda: next(clock))
    monkeypatch.setattr(log, "COLOR", True)
    out = io.StringIO()
    ctr = stats.ManualTxCounter("[Port 42]", "plain", out)
    ctr.update(0, 0)
    for _ in range(3):
        ctr.update(1_500_000, 96_000_000)
    ctr.finalize(0)
    lines = out.getvalue().splitlines()
    tx, reset = "\033[0;34m", "\033[0m"
    assert lines[0] == f"{tx}[Port 42] TX{reset}: 1.00 Mpps, 512 Mbit/s (672 Mbit/s with framing)"
    assert lines[-1] == (
        f"{tx}[Port 42] TX{reset}: 1.00 (StdDev 0.00) Mpps, 512 (StdDev 0) Mbit/s "
        "(672 Mbit/s with framing), total 4500000 packets with 288000000 bytes (incl. CRC)"
    )
    short = io.StringIO()
    monkeypatch.setattr(log, "COLOR", False)
    monkeypatch.setattr(stats, "get_time", iter([1.0, 1.1]).__next__)
    c2 = stats.ManualRxCounter("r", "plain", short)
    c2.update_with_size(100, 60)
    c2.finalize(0)
    assert short.getvalue() == (
        "[r] RX: nan (StdDev 0.00) Mpps, nan (StdDev 0) Mbit/s (nan Mbit/s with framing), "
        "total 100 packets with 6400 bytes (incl. CRC)\n"
    )
    csv = io.StringIO()
    monkeypatch.setattr(stats, "get_time", iter([1.0, 3.0, 3.5]).__next__)
    c3 = stats.ManualTxCounter("c", "CSV", csv)
    c3.update(0, 0)
    c3.update(2_000_000, 128_000_000)
    c3.finalize(0)
    head, row, final = csv.getvalue().splitlines()
    assert head == "Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes"
    assert row.split(",")[1:] == ["c", "TX", "1", "512", "672", "2000000", "128000000"]
    assert final.split(",")[1:] == ["c", "TX", "nan", "nan", "nan", "2000000", "128000000"]


def test_histogram_lines_match_moongen():
    h = histogram.Histogram()
    assert h.summary() == (
        "Samples: 0, Average: -nan ns, StdDev: 0.0 ns, Quartiles: -nan/-nan/-nan ns"
    )
    for v in (100, 200, 200, 300, 400, 500, 600, 700):
        h.update(v)
    h.update(None)
    assert h.summary("lat") == (
        "[lat] Samples: 8, Average: 375.0 ns, StdDev: 212.1 ns, Quartiles: 200.0/400.0/600.0 ns"
    )
    assert h.percentile(50) == 400 and h.min() == 100 and h.max() == 700
    out = io.StringIO()
    h.save(out)
    assert out.getvalue().splitlines()[:2] == ["100,1", "200,2"]


def test_public_api_names_resolve():
    import moonpy

    assert sorted(moonpy.__all__) == sorted(moonpy._LAZY)
    for name in moonpy.__all__:
        assert getattr(moonpy, name) is not None


def test_proto_and_stream_compilation_need_no_dpdk():
    # moonpy.proto and moonpy.fieldengine.compile() run without DPDK
    code = (
        "import sys, moonpy.proto, moonpy.fieldengine as fe;"
        "fe.Stream(moonpy.proto.UDP4.build(), vary=[fe.Random('ip4.src')]).compile();"
        "print('moonpy._dpdk' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(out.stdout.strip().lower()) is False
