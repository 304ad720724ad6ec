"""The Lua library's inter-task primitives and helper modules: pipes, namespaces, locks,
barriers (tests/lua/lib_intertask.lua), pcap (checked with scapy), the ARP/ICMP/LACP tasks
(across a virtual cable, against hostile frames, and with the Linux kernel on a tap port),
software filters, pf expressions (checked against tcpdump) and the stub modules."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TEST_SCRIPTS, child_env, have_tun, run_moonpy
from scapy.contrib.lacp import LACP
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.layers.sctp import SCTP
from scapy.utils import rdpcap, wrpcap

pytestmark = pytest.mark.dpdk


def script(name: str) -> str:
    return str((TEST_SCRIPTS / name).relative_to(ROOT))


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


# ---- pipes, namespaces, locks, barriers ---------------------------------------------------


def test_inter_task_communication_primitives():
    out = ok(run_moonpy("--no-color", script("lib_intertask.lua"), timeout=120))
    for part in (
        "GLOBALS",
        "ARGUMENTS",
        "NAMESPACES",
        "SLOW PIPE",
        "FAST PIPE",
        "PACKET RING",
        "LOCK",
        "BARRIER",
        "INTERTASK",
    ):
        assert f"{part} OK" in out, out


def test_waits_end_with_the_run_and_misuse_is_a_clear_error():
    proc = run_moonpy("--no-color", script("lib_sync_stop.lua"))
    out = ok(proc)
    assert "UNLOCK false lock:unlock(): this task does not hold the lock" in out
    # a function in a message or a namespace is written as nil, as libmoon's serializer does
    assert "SEND true nil" in out and "SENT 1 nil" in out
    assert "slowPipe:send argument 2: a function cannot cross to another task" in proc.stderr
    assert "NSFN true nil" in out
    assert "namespace value 'fn' argument 1: a function cannot cross" in proc.stderr
    assert "FASTNUM false fastPipe:send: fast pipes carry cdata pointers, got a number" in out
    assert "BARRIERNEG false barrier:new(-1): the number of tasks cannot be negative" in out
    assert "BARRIER0 true" in out
    # the lone task at the barrier, then blocked on both pipes, is let go when the run stops
    assert "STOPPED barrier=false slow=nil fast=nil" in out
    waited = float(out.split("WAITED ")[1].split()[0])
    assert 0.25 <= waited < 3


def test_locks_and_barriers_cross_to_tasks_whose_script_never_required_them(tmp_path):
    code = tmp_path / "cross.lua"
    code.write_text(
        """
local lm = require "libmoon"
function master()
  local l = require("lock"):new()
  local b = require("barrier"):new(2)
  local p = require("pipe"):newFastPipe()
  local t = lm.startTask("worker", l, b, p)
  l:lock()
  print("MASTER " .. tostring(b:wait()))
  l:unlock()
  print("WORKER " .. t:wait())
end
function worker(l, b, p)
  local passed = b:wait()
  l:lock()
  l:unlock()
  return ("%s %s %s %s"):format(tostring(passed), tostring(l), tostring(b), tostring(p.capacity))
end
"""
    )
    out = ok(run_moonpy("--no-color", str(code)))
    assert "MASTER true" in out
    assert "WORKER true [Lock: id=" in out and "[Barrier: id=" in out and out.endswith(" 1023\n")


# ---- pcap -------------------------------------------------------------------------------------


def test_pcap_writer_output_reads_back_in_scapy(tmp_path):
    out_file = tmp_path / "w.pcap"
    out = ok(run_moonpy("--no-color", script("lib_pcap.lua"), "write", str(out_file)))
    assert "WROTE 21" in out
    assert out_file.read_bytes()[:4] == struct.pack("<I", 0xA1B2C3D4)
    pkts = rdpcap(str(out_file))
    assert len(pkts) == 21
    for k, p in enumerate(pkts[:19], start=1):
        assert len(p) == 60 + k and p.wirelen == 60 + k
        assert p[UDP].sport == 1000 + k and p[UDP].dport == 2000
        assert p[IP].src == "10.0.0.1" and p[IP].dst == "10.0.0.2"
        assert float(p.time) == pytest.approx(1700000000 + k / 4, abs=1e-6)
    cut = pkts[19]  # written with snapLen 42: captured 42 bytes of 80
    assert len(cut) == 42 and cut.wirelen == 80
    raw = pkts[20]
    assert bytes(raw) == bytes(range(64)) and float(raw.time) == pytest.approx(1700000006.5)


def _read(path: Path, batch: int = 4) -> tuple[list[tuple[int, int, bytes]], str, str]:
    proc = run_moonpy(
        "--no-color", script("lib_pcap.lua"), "read", str(path), "--batch", str(batch)
    )
    pkts = []
    for line in proc.stdout.splitlines():
        if line.startswith("PKT "):
            _, size, ts, hexdata = (line.split() + [""])[:4]
            pkts.append((int(size), int(ts), bytes.fromhex(hexdata)))
    return pkts, proc.stdout, proc.stderr + f"\nrc={proc.returncode}"


@pytest.mark.parametrize("nano", [False, True])
def test_pcap_reader_reads_scapy_files(tmp_path, nano):
    frames = [
        Ether(src="02:00:00:00:00:01") / IP(dst="10.1.2.3") / UDP(sport=i) / (b"x" * (i * 13))
        for i in range(9)
    ]
    for i, f in enumerate(frames):
        f.time = 1700000000 + i + 0.123456
    path = tmp_path / "in.pcap"
    wrpcap(str(path), frames, nano=nano)
    assert path.read_bytes()[:4] == struct.pack("<I", 0xA1B23C4D if nano else 0xA1B2C3D4)
    pkts, out, err = _read(path)
    assert "TOTAL 9" in out, err
    for i, (size, ts, data) in enumerate(pkts):
        assert data == bytes(frames[i]) and size == len(frames[i])
        assert ts == (1700000000 + i) * 1_000_000 + 123456  # udata64: microseconds
    assert f"FIRST {len(frames[0])}" in out  # reset() + readSingle()
    assert "POOL 511" in out  # every buffer went back


def _record(data: bytes, orig: int | None = None, sec: int = 1, frac: int = 0) -> bytes:
    return struct.pack("<IIII", sec, frac, len(data), orig or len(data)) + data


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0x40000, 1)


def test_pcap_reader_zero_fills_to_the_original_length(tmp_path):
    path = tmp_path / "snap.pcap"
    path.write_bytes(PCAP_HEADER + _record(b"\xaa" * 20, orig=100) + _record(b"\xbb" * 30))
    pkts, out, err = _read(path)
    assert "TOTAL 2" in out, err
    assert pkts[0][0] == 100 and pkts[0][2] == b"\xaa" * 20 + bytes(80)
    assert pkts[1][0] == 30 and pkts[1][2] == b"\xbb" * 30


def test_pcap_reader_truncated_file_keeps_complete_records(tmp_path):
    full = PCAP_HEADER + b"".join(_record(bytes([i]) * 60) for i in range(5))
    path = tmp_path / "cut.pcap"
    path.write_bytes(full[: len(PCAP_HEADER) + 3 * 76 + 30])  # the 4th record is cut
    pkts, out, err = _read(path, batch=2)
    assert "TOTAL 3" in out, err
    assert [p[2] for p in pkts] == [bytes([i]) * 60 for i in range(3)]
    assert "is truncated: the record at offset 252 is incomplete" in out
    assert "rc=0" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00" * 10, "is not a pcap file: 10 bytes, shorter than a pcap file header"),
        (b"GIF89a" + bytes(40), "is not a pcap file (magic number 0x"),
        (struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0x40000, 1), "big endian pcaps are"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 1, 0, 0, 0, 0x40000, 1), "unsupported pcap version"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0x40000, 105), "link layer type 105"),
        (PCAP_HEADER + struct.pack("<IIII", 0, 0, 0x7FFFFFF0, 60) + bytes(60), "corrupt pcap"),
    ],
)
def test_pcap_reader_rejects_corrupt_files_clearly(tmp_path, content, message):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    proc = run_moonpy("--no-color", script("lib_pcap.lua"), "read", str(path))
    assert proc.returncode == 1
    assert "[FATAL] Lua error in task master" in proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pcap_reader_missing_file(tmp_path):
    proc = run_moonpy("--no-color", script("lib_pcap.lua"), "read", str(tmp_path / "nope.pcap"))
    assert proc.returncode == 1 and "could not open pcap file" in proc.stderr
    assert "No such file or directory" in proc.stderr


# ---- ARP, ICMP, LACP tasks -----------------------------------------------------------------


def _frames(out: str) -> list[Ether]:
    return [
        Ether(bytes.fromhex(ln.split()[1])) for ln in out.splitlines() if ln.startswith("FRAME")
    ]


def _checksums_ok(p: Ether) -> bool:
    again = Ether(bytes(p))
    del again[IP].chksum
    del again[ICMP].chksum
    again = Ether(bytes(again))
    return again[IP].chksum == p[IP].chksum and again[ICMP].chksum == p[ICMP].chksum


def _check_arp_icmp(out: str) -> None:
    their_mac = out.split("THEIR MAC ")[1].split()[0]
    # the gratuitous ARP at start
    assert any(
        a[ARP].op == 1 and a[ARP].psrc == a[ARP].pdst == "10.0.0.2" and a.src == their_mac
        for a in _frames(out)
        if ARP in a
    )
    frames = _frames(out.split("PHASE REQUESTS")[1])
    arps = [f for f in frames if ARP in f]
    # the reply for the task's second address, to the asker
    replies = [a for a in arps if a[ARP].op == 2]
    assert len(replies) == 1
    r = replies[0]
    assert r[ARP].psrc == "10.0.0.3" and r[ARP].hwsrc == their_mac and r.src == their_mac
    assert r[ARP].pdst == "10.0.0.1" and r[ARP].hwdst == "02:aa:bb:cc:dd:01"
    assert r.dst == "02:aa:bb:cc:dd:01"
    # the task asked for the address the master looked up
    assert any(a[ARP].op == 1 and a[ARP].pdst == "10.0.0.7" for a in arps)
    assert "LEARNED 10.0.0.9 02:aa:bb:cc:dd:09" in out
    assert "RESOLVED 10.0.0.7 02:aa:bb:cc:dd:07" in out
    # echo replies: exactly the two requests to 10.0.0.2 (not the one to 10.0.0.3)
    echoes = [f for f in frames if ICMP in f]
    assert len(echoes) == 2, [e.summary() for e in echoes]
    for e, plen in zip(echoes, (37, 56), strict=True):
        assert e[ICMP].type == 0 and e[ICMP].id == 0x4D50 and e[ICMP].seq == 7
        assert e[IP].src == "10.0.0.2" and e[IP].dst == "10.0.0.1" and e[IP].ttl == 64
        assert e.src == their_mac and e.dst == "02:aa:bb:cc:dd:01"
        assert bytes(e[ICMP].payload) == bytes((i * 7 + 3) & 0xFF for i in range(plen))
        assert _checksums_ok(e)
    assert "PEER true" in out and "ARP/ICMP DONE" in out


def test_arp_and_icmp_tasks_across_a_cable():
    out = ok(run_moonpy("--no-color", script("lib_arp_icmp.lua"), timeout=120))
    _check_arp_icmp(out)


@pytest.mark.slow
def test_arp_and_icmp_tasks_survive_hostile_frames():
    out = ok(
        run_moonpy("--no-color", script("lib_arp_icmp.lua"), "--hostile", "10000", timeout=180)
    )
    # 10^4 random or mangled frames on the wire plus 10^3 through handlePacket ...
    assert "HOSTILE SENT 11000" in out
    flood = _frames(out.split("HOSTILE SENT")[1].split("PHASE REQUESTS")[0])
    # ... of which the well-formed requests for the task's address were answered, and only those
    answers = [f for f in flood if ARP in f and f[ARP].op == 2]
    assert answers, "no ARP request in the flood was answered"
    their_mac = out.split("THEIR MAC ")[1].split()[0]
    assert all(a[ARP].psrc == "10.0.0.2" and a[ARP].hwsrc == their_mac for a in answers)
    assert all(_checksums_ok(f) for f in flood if ICMP in f)
    # ... and afterwards the tasks still answer correctly
    _check_arp_icmp(out)


def test_lacp_task_comes_up_against_a_switch_like_partner():
    out = ok(run_moonpy("--no-color", script("lib_lacp.lua"), timeout=60))
    assert "LACP up=true mac=02:4D:50:00:00:00" in out
    assert "1 port up" in out
    pdu = Ether(bytes.fromhex(out.split("LACPDU ")[1].split()[0]))
    assert pdu.dst == "01:80:c2:00:00:02" and pdu.src == "02:4d:50:00:00:00"
    lacp = pdu[LACP]
    assert lacp.actor_system == "02:4d:50:00:00:00" and lacp.actor_key == 1
    assert lacp.actor_port_number == 1000 and lacp.actor_system_priority == 0x7FFF


def _icmp_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


@pytest.mark.skipif(not have_tun(), reason="needs root and /dev/net/tun")
def test_arp_and_icmp_tasks_answer_the_kernel_on_a_tap_port(tmp_path):
    iface, ours, kernel = "mplib0", "198.18.9.2", "198.18.9.1"
    done = tmp_path / "done"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moonpy",
            "--no-color",
            "--port",
            f"tap,iface={iface}",
            script("lib_tap_responder.lua"),
            "--ip",
            ours,
            "--kernel-ip",
            kernel,
            "--done",
            str(done),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("READY"):
                break
        our_mac = next(ln.split()[2] for ln in lines if ln.startswith("OUR MAC"))
        subprocess.run(["ip", "link", "set", iface, "up"], check=True)
        subprocess.run(["ip", "addr", "add", f"{kernel}/24", "dev", iface], check=True)
        kernel_mac = Path(f"/sys/class/net/{iface}/address").read_text().strip()
        # the kernel resolves our address (ARP request -> our reply) to send a datagram
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"hello", (ours, 9))
        neigh = ""
        deadline = time.time() + 10
        while time.time() < deadline and our_mac not in neigh:
            time.sleep(0.1)
            neigh = subprocess.run(
                ["ip", "neigh", "show", ours, "dev", iface], capture_output=True, text=True
            ).stdout
        # the kernel pings us from a raw ICMP socket
        payload = b"moonpy echo test " * 3
        replies = []
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as r:
            r.settimeout(0.5)
            for seq in range(1, 4):
                head = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq)
                csum = _icmp_checksum(head + payload)
                r.sendto(struct.pack("!BBHHH", 8, 0, csum, 0x1234, seq) + payload, (ours, 0))
                deadline = time.time() + 3
                while time.time() < deadline:
                    try:
                        data, (src, _) = r.recvfrom(4096)
                    except TimeoutError:
                        continue
                    icmp = data[(data[0] & 0x0F) * 4 :]
                    if src == ours and icmp[0] == 0:
                        replies.append(icmp)
                        break
    finally:
        done.touch()
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    out = "".join(lines) + rest
    assert proc.returncode == 0, out
    assert f"lladdr {our_mac}" in neigh, (neigh, out)
    assert len(replies) == 3, out
    for seq, icmp in enumerate(replies, start=1):
        _, code, _, ident, got_seq = struct.unpack("!BBHHH", icmp[:8])
        assert code == 0 and ident == 0x1234 and got_seq == seq and icmp[8:] == payload
        assert _icmp_checksum(icmp) == 0
    # and the ARP task resolved the kernel's address
    assert f"KERNEL MAC {kernel_mac}" in out
    assert "RESPONDER DONE" in out


# ---- filters, stub modules ------------------------------------------------------------------


def test_filters_steer_frames_on_a_cable_as_a_nic():
    out = ok(run_moonpy("--no-color", script("lib_filter.lua")))
    assert "FIVETUPLE true DROP -1 WRONG false Queue must belong to the device" in out
    # no filter: RX queue 0; PTP ethertype -> 1, UDP to 4000 -> 2, UDP PTP (flex) -> 1, ARP -> 3
    assert "QUEUES before=0 ptp=1 tuple=2 other=0 udpptp=1 arp=3" in out
    assert (
        "[WARN]  Device 1: l2Filter(0x88f7 -> queue 2): cannot add a filter to port 1: "
        "File exists; this ethertype has a filter already" in out
    )
    assert (
        "five-tuple dstIp=10.0.0.1 dstIpMask=255.255.255.255 dstPort=4000 dstPortMask=65535 "
        "proto=17 protoMask=255 priority=1 -> queue 2" in out
    )
    assert "no-op" not in out


def test_stub_and_small_modules(tmp_path):
    code = tmp_path / "mods.lua"
    code.write_text(
        """
local ffi = require "ffi"
function master()
  for _, m in ipairs{"kni", "lpm", "distribute", "ipsec", "hs", "graphite", "headerc",
                     "etherc", "webserver", "bitmask"} do
    assert(require(m), m)
  end
  local ok, err = pcall(require("kni").createKni, 1)
  print("KNI " .. tostring(ok) .. " " .. err)
  print(("SIZES %d %d %d %d"):format(ffi.sizeof("struct ipv4_hdr"),
    ffi.sizeof("struct ipv6_hdr"), ffi.sizeof("struct ether_hdr"), ffi.sizeof("struct tcp_hdr")))
  local bm = require "bitmask"
  local a, b, r = bm.createBitMask(100), bm.createBitMask(100), bm.createBitMask(100)
  a:setN(10); b[5] = 1; b[70] = 1
  bm.bor(a, b, r)
  local set = {}
  for i, v in ipairs(r) do if v then set[#set + 1] = i end end
  bm.bnot(r, r)
  local n = 0
  for _, v in ipairs(r) do if v then n = n + 1 end end
  print("BITS " .. table.concat(set, ",") .. " NOT " .. n)
  local ws = require "webserver"
  ws.startWebserverTask({port = 8888})
  print("WEB " .. tostring(ws.running()))
end
"""
    )
    out = ok(run_moonpy("--no-color", str(code)))
    assert "KNI false kni.createKni: KNI, the kernel NIC interface" in out
    assert "is not supported in moonpy" in out
    assert "SIZES 20 40 14 20" in out
    assert "BITS 1,2,3,4,5,6,7,8,9,10,70 NOT 89" in out
    assert "web server (webserver.startWebserverTask) is not available in moonpy" in out
    assert "WEB false" in out


# ---- pf: expressions compiled to Lua predicates, checked against tcpdump ----------------------


def _pf_runtime():
    luajit21 = pytest.importorskip("lupa.luajit21")
    lua = luajit21.LuaRuntime()
    lua_dir = ROOT / "moonpy" / "lua"
    lua.execute(f"package.path = '{lua_dir}/?.lua;' .. package.path")
    fn = lua.eval(
        """function(expr, frames, n)
            local ffi = require "ffi"
            local ok, f = pcall(require("pf").compile_filter, expr)
            if not ok then return false, f end
            local out = {}
            for i = 1, n do
                local s = frames[i]
                local buf = ffi.new("uint8_t[?]", #s + 1)
                ffi.copy(buf, s, #s)
                out[i] = f(buf, #s)
            end
            return true, out
        end"""
    )
    return lambda expr, frames, n: fn(expr, lua.table_from(frames), n)


def E(dst: str = "02:00:00:00:00:02", src: str = "02:00:00:00:00:01") -> Ether:  # noqa: N802
    """Explicit MACs: scapy would otherwise look the destination up (slowly)."""
    return Ether(src=src, dst=dst)


PF_FRAMES = [
    E(src="02:00:00:00:00:0a")
    / IP(src="10.0.0.1", dst="10.0.0.2")
    / UDP(sport=1000, dport=53)
    / b"query",
    E() / IP(src="10.0.0.2", dst="192.168.1.7") / TCP(sport=80, dport=443),
    E() / IP(src="192.168.1.9", dst="10.0.0.1") / ICMP(),
    E(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.0.0.1", pdst="10.0.0.3"),
    E() / IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=5353, dport=53),
    E() / IPv6() / TCP(sport=22, dport=80),
    E() / IPv6() / ICMPv6EchoRequest(),
    E() / IP(src="10.0.0.1", dst="10.0.0.2", frag=10) / UDP(sport=53, dport=53),
    E() / IP(src="10.0.0.5", dst="10.0.0.6", options=b"\x01\x01\x01\x00") / UDP(dport=80),
    E() / IP(src="10.0.0.1", dst="10.0.0.2", proto=132) / SCTP(sport=80, dport=90),
    E(dst="01:00:5e:00:00:01") / IP(src="10.0.0.1", dst="224.0.0.1") / UDP(dport=5000),
    E() / IP(src="172.16.0.1", dst="10.0.0.2") / UDP(sport=7, dport=443) / (b"x" * 150),
]

PF_EXPRESSIONS = [
    "",
    "udp",
    "tcp",
    "icmp",
    "arp",
    "ip",
    "ip6",
    "icmp6",
    "sctp",
    "port 53",
    "src port 1000",
    "dst port 443",
    "tcp port 80",
    "udp and port 53",
    "port 53 or 80",
    "portrange 50-90",
    "host 10.0.0.1",
    "src host 10.0.0.1",
    "dst host 10.0.0.2",
    "src or dst host 10.0.0.2",
    "not udp",
    "!tcp && !udp",
    "(tcp or udp) and not ip6",
    "udp or tcp and port 80",
    "net 192.168.1.0/24",
    "src net 10.0.0.0/8 and dst port 443",
    "dst net 10.0.0.0 mask 255.255.255.0",
    "ether src 02:00:00:00:00:0a",
    "ether dst 02:00:00:00:00:0a",
    "ether host 02:00:00:00:00:02",
    "ether broadcast",
    "ether multicast",
    "less 64",
    "greater 100",
    "ip proto 17",
    "ip6 proto 6",
    "arp and host 10.0.0.3",
    "ip host 10.0.0.1 and not port 53",
]


@pytest.mark.lua
@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is the oracle")
@pytest.mark.parametrize("expr", PF_EXPRESSIONS)
def test_pf_matches_like_tcpdump(tmp_path, expr):
    for i, f in enumerate(PF_FRAMES):
        f.time = i + 1
    path = tmp_path / "pf.pcap"
    wrpcap(str(path), PF_FRAMES)
    dump = subprocess.run(
        ["tcpdump", "-r", str(path), "-n", "-tt", expr],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = sorted(int(float(ln.split()[0])) - 1 for ln in dump.stdout.splitlines() if ln)
    run = _pf_runtime()
    frames = [bytes(f) for f in PF_FRAMES]
    lua_ok, result = run(expr, frames, len(frames))
    assert lua_ok, result
    got = [i for i in range(len(frames)) if result[i + 1]]
    assert got == expected


@pytest.mark.lua
def test_pf_truncated_frames_do_not_match():
    run = _pf_runtime()
    full = bytes(PF_FRAMES[0])
    frames = [full[:n] for n in (0, 13, 14, 23, 33, 34, 37, 38, len(full))]
    _, udp = run("udp", frames, len(frames))
    _, port = run("port 53", frames, len(frames))
    assert [bool(udp[i + 1]) for i in range(len(frames))] == [False] * 5 + [True] * 4
    assert [bool(port[i + 1]) for i in range(len(frames))] == [False] * 7 + [True] * 2


@pytest.mark.lua
@pytest.mark.parametrize(
    "expr, message",
    [
        ("vlan 100", "pf: unsupported primitive at 'vlan'"),
        ("ip[2:2] > 100", "byte-offset expressions (proto[offset:size]) are not supported"),
        ("host fe80::1", "IPv6 addresses are not supported (IPv4 only) at 'fe80::1'"),
        ("host example.org", "expected an IPv4 address (host names are not resolved)"),
        ("udp and", "expected a primitive at the end"),
        ("(tcp", "expected ')' at the end"),
        ("port 70000", "expected a port number at '70000'"),
        ("tcp udp", "unexpected at 'udp'"),
        ("net 10.0.0.0/40", "expected a network A.B.C.D/len at '10.0.0.0/40'"),
        ("udp $ 1", "unexpected character '$'"),
    ],
)
def test_pf_unsupported_syntax_is_a_clear_error(expr, message):
    run = _pf_runtime()
    lua_ok, err = run(expr, [], 0)
    assert not lua_ok
    assert message in err and f'filter expression "{expr}"' in err


def test_slow_pipe_of_the_stats_share_does_not_break_stats(tmp_path):
    """stats.lua keeps a slow pipe in a namespace for the (absent) web server: counters work."""
    code = tmp_path / "stats_share.lua"
    code.write_text(
        """
local stats = require "stats"
local ns = require "namespaces"
function master()
  local share = ns:get("__LIBMOON_STATS_SHARE")
  print("SHARE " .. tostring(share.initialized) .. " " .. tostring(share.pipe))
end
"""
    )
    out = ok(run_moonpy("--no-color", str(code)))
    assert "SHARE true [SlowPipe: id=" in out
