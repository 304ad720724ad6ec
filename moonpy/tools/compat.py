"""`make compat MOONGEN=path LIBMOON=path`: run upstream MoonGen and libmoon example
scripts, unchanged, against moonpy on virtual ports, and print a table.

The upstream scripts are read from the user's own checkouts; nothing of them is
stored here. Each entry says how to run one script (arguments, ports, how long)
and what its output must show to count as working. A script that runs until
Ctrl-C gets SIGINT after its time and must then exit 130 with its final lines.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    repo: str  # "MoonGen" or "libmoon"
    script: str  # path inside the repo
    args: list[str]
    ports: list[str] = field(default_factory=lambda: ["cable"])
    seconds: float = 4.0  # SIGINT after this long (0: must end by itself)
    expect: list[str] = field(default_factory=list)  # regexes the output must contain
    verdict: str = "OK"  # upstream's verdict on virtual devices (moongen-api.md §1.2)
    note: str = ""
    pcap_in: bool = False  # provide {IN} (a small pcap file) to the script/ports
    kernel_ping: str = ""  # tap interface: the Linux kernel pings the script's IP through it
    # third-party scripts (moonpy.tools.compat_wild) only:
    commit: str = ""  # the commit of the repository the entry was checked against
    exit: tuple[int, ...] = ()  # exit codes that count as what the original does (default 0/130)
    lua_path: list[str] = field(default_factory=list)  # LUA_PATH entries ({BASE}, {MOONGEN})
    dirs: list[str] = field(default_factory=list)  # folders the script expects (made in its cwd)
    timeout: float = 60.0  # seconds a script that ends by itself may take
    original: str = ""  # what the original does with two ports and enough cores
    blocked: str = ""  # a moonpy difference being fixed elsewhere that this entry waits for


TX = r"\[[^\]]+\] TX.*: [1-9]\d*\.\d\d Mpps"
RX = r"\[Device: id=\d+\] RX.*: [1-9]\d*\.\d\d Mpps"
CASES = [
    Case(
        "libmoon",
        "examples/hello-world.lua",
        ["hello"],
        seconds=0,
        expect=[r"hello"],
        note="tasks with arguments",
    ),
    Case(
        "libmoon",
        "examples/inter-task-communication.lua",
        [],
        seconds=0,
        expect=[r"(?i)pipe", r"(?i)barrier|lock"],
        note="pipes, namespaces, lock, barrier",
    ),
    Case(
        "MoonGen",
        "examples/l3-tcp-syn-flood.lua",
        ["0"],
        ports=["null"],
        expect=[TX],
        note="TX to a null sink",
    ),
    Case(
        "MoonGen",
        "examples/l2-load-latency.lua",
        ["0", "1"],
        expect=[TX, RX, r"Samples: [1-9]"],
        verdict="HW",
        note="load + software-timestamp latency on a cable",
    ),
    Case(
        "MoonGen",
        "examples/l3-load-latency.lua",
        ["0", "1"],
        expect=[TX, RX],
        verdict="DEG",
        note="load, ARP and latency on a cable",
    ),
    Case(
        "MoonGen",
        "examples/timestamping-tests/timestamps-software.lua",
        ["0", "1", "1"],
        expect=[r"\d"],
        note="software TX/RX timestamps",
    ),
    Case(
        "MoonGen",
        "examples/quality-of-service-test.lua",
        ["0", "1"],
        expect=[TX],
        verdict="DEG",
        note="two rates + counters",
    ),
    Case(
        "MoonGen",
        "examples/rate-control-methods.lua",
        ["0", "1000", "sw", "cbr"],
        ports=["null"],
        expect=[TX],
        note="software rate limiter task",
    ),
    Case(
        "MoonGen",
        "examples/device-statistics.lua",
        ["0", "1"],
        expect=[TX],
        verdict="DEG",
        note="device counters and xstats",
    ),
    Case(
        "MoonGen",
        "examples/vxlan-example.lua",
        ["0", "1", "0", "0"],
        expect=[TX],
        note="VXLAN stacks",
    ),
    Case(
        "MoonGen",
        "examples/moonsniff/traffic-gen.lua",
        ["0", "1", "-t", "2"],
        seconds=0,
        expect=[TX],
        note="runtime-limited load",
    ),
    Case(
        "MoonGen",
        "examples/dump.lua",
        ["0"],
        ports=["pcap,rx={IN},infinite_rx=1"],
        pcap_in=True,
        seconds=2,
        expect=[r"IP4 10\.0\.0\.\d+ > 10\.1\.0\.1"],
        note="decode and print received packets",
    ),
    Case(
        "MoonGen",
        "examples/rx-pkts-distribution.lua",
        ["0"],
        ports=["pcap,rx={IN},infinite_rx=1"],
        pcap_in=True,
        seconds=3,
        expect=[r"RX"],
        note="packet size histogram",
    ),
    Case(
        "MoonGen",
        "examples/pcap/replay-pcap.lua",
        ["0", "{IN}", "-l", "-s", "1"],
        ports=["null"],
        pcap_in=True,
        seconds=3,
        expect=[TX],
        note="pcap reader (looping) + stats",
    ),
    Case(
        "libmoon",
        "examples/pktgen.lua",
        ["0"],
        ports=["null"],
        expect=[TX],
        note="libmoon packet generator",
    ),
    Case(
        "MoonGen",
        "examples/l2-poisson-load-latency.lua",
        ["0", "1"],
        expect=[TX],
        verdict="HW",
        note="Poisson load with CRC-gap rate control",
    ),
    Case(
        "MoonGen",
        "examples/timestamping-tests/drift.lua",
        ["0", "1"],
        seconds=3,
        expect=[r"Clock difference in nanoseconds", r"\n-?\d+(\.\d+)?\n"],
        verdict="HW",
        note="clock drift between two ports (software: one TSC, read one after the other)",
    ),
    Case(
        "MoonGen",
        "examples/rss.lua",
        ["0", "1", "2"],
        expect=[
            r"\[RxQueue: id=1, qid=1\] RX.*total [1-9]\d* packets",
            r"\[RxQueue: id=1, qid=2\] RX.*total [1-9]\d* packets",
        ],
        verdict="HW",
        note="RSS over two RX queues, in software on the cable",
    ),
    Case(
        "MoonGen",
        "examples/inter-arrival-times.lua",
        ["1"],
        ports=["pcap,rx={IN},infinite_rx=1", "pcap,rx={IN},infinite_rx=1"],
        pcap_in=True,
        seconds=3,
        expect=[r"Samples"],
        verdict="HW",
        note="inter-arrival histogram",
    ),
    Case(
        "MoonGen",
        "examples/moonsniff/test-dev.lua",
        ["0", "1"],
        ports=["pcap,rx={IN},infinite_rx=1", "null"],
        pcap_in=True,
        expect=[RX],
        note="forwarding device under test",
    ),
    Case(
        "MoonGen",
        "examples/netronome-packetgen/packetgen.lua",
        ["-tx", "0"],
        ports=["null"],
        expect=[r"Launching TX slave: 0"],
        note="own option parser; functions inside its parameter table arrive as nil in "
        "the task, as in MoonGen",
    ),
    Case(
        "libmoon",
        "examples/webserver.lua",
        ["0"],
        ports=["null"],
        expect=[TX],
        note="the web server is not available: warns, load runs",
    ),
    Case(
        "MoonGen",
        "examples/icmp-arp-responder.lua",
        ["0", "198.18.9.2"],
        ports=["tap,iface=mpcompat0"],
        kernel_ping="mpcompat0,198.18.9.1,198.18.9.2",
        seconds=1,
        expect=[r"KERNEL-PING replies=[1-9]"],
        note="ARP + ICMP replies to the Linux kernel through a tap port",
    ),
    Case(
        "libmoon",
        "examples/l2-forward.lua",
        ["0", "1"],
        ports=["pcap,rx={IN},infinite_rx=1", "null"],
        pcap_in=True,
        expect=[RX, TX],
        note="forwarding between ports",
    ),
    Case(
        "libmoon",
        "examples/reflector.lua",
        ["0"],
        ports=["pcap,rx={IN},infinite_rx=1"],
        pcap_in=True,
        expect=[RX],
        note="echo on the same port",
    ),
    Case(
        "libmoon",
        "examples/dump-pkts.lua",
        ["0", "-f", "{OUT}"],
        ports=["pcap,rx={IN},infinite_rx=1"],
        pcap_in=True,
        seconds=2,
        expect=[RX],
        note="capture to a pcap file",
    ),
    Case(
        "libmoon",
        "examples/filter.lua",
        ["0", "1", "-u", "319"],
        ports=["pcap,rx={IN},infinite_rx=1", "null"],
        pcap_in=True,
        expect=[RX],
        note="software UDP-port filter",
    ),
]


def make_pcap(path: Path) -> None:
    """60 small UDP frames (written without scapy: moonpy's own pcap writer)."""
    from moonpy.app.pcapfile import PcapWriter

    w = PcapWriter(str(path))
    for i in range(60):
        ip_total = 46
        frame = (
            bytes.fromhex("0200000000020200000000010800")
            + bytes([0x45, 0, 0, ip_total, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, i + 1, 10, 1, 0, 1])
            + (1000 + i).to_bytes(2, "big")
            + (319).to_bytes(2, "big")
            + (26).to_bytes(2, "big")
            + b"\0\0"
            + bytes(18)
        )
        w.write(1_700_000_000 + i * 0.001, frame)
    w.close()


def kernel_ping(iface: str, own: str, peer: str, count: int = 5) -> int:
    """Give the tap interface an address and ping `peer` from the kernel (raw ICMP
    socket, no ping binary needed); returns how many echo replies came back."""
    import socket
    import struct

    subprocess.run(["ip", "link", "set", iface, "up"], check=False)
    subprocess.run(["ip", "addr", "add", f"{own}/24", "dev", iface], check=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(1.0)
    replies = 0
    for seq in range(count):
        body = struct.pack("!BBHHH", 8, 0, 0, 0x4D50, seq) + b"moonpy"
        total = sum(struct.unpack(f"!{len(body) // 2}H", body))
        total = (total >> 16) + (total & 0xFFFF)
        packet = body[:2] + struct.pack("!H", ~total & 0xFFFF) + body[4:]
        sock.sendto(packet, (peer, 0))
        try:
            while True:
                data, addr = sock.recvfrom(1500)
                if addr[0] == peer and data[20] == 0:
                    replies += 1
                    break
        except TimeoutError:
            pass
    sock.close()
    return replies


def run_case(case: Case, base: Path, workdir: Path, moongen: Path | None = None) -> tuple[str, str]:
    script = base / case.script
    if not script.exists():
        return "SKIP", f"{script} not found"
    for d in case.dirs:
        (workdir / d).mkdir(parents=True, exist_ok=True)
    inp, out = workdir / "in.pcap", workdir / "out.pcap"
    if case.pcap_in and not inp.exists():
        make_pcap(inp)

    def fill(s: str) -> str:
        return s.replace("{IN}", str(inp)).replace("{OUT}", str(out))

    cmd = [sys.executable, "-m", "moonpy", "--plain", "--no-color", "--grace", "2"]
    for p in case.ports:
        cmd += ["--port", fill(p)]
    cmd += [str(script), *[fill(a) for a in case.args]]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if case.lua_path:
        if any("{MOONGEN}" in p for p in case.lua_path) and moongen is None:
            return "SKIP", "needs --moongen (it loads modules of MoonGen's checkout)"
        paths = [
            p.replace("{BASE}", str(base)).replace("{MOONGEN}", str(moongen)) for p in case.lua_path
        ]
        env["LUA_PATH"] = ";".join(paths) + ";;"
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir, env=env
    )
    extra = ""
    try:
        if case.kernel_ping:
            time.sleep(2.5)
            iface, own, peer = case.kernel_ping.split(",")
            extra = f"\nKERNEL-PING replies={kernel_ping(iface, own, peer)}\n"
        if case.seconds:
            time.sleep(case.seconds)
            proc.send_signal(signal.SIGINT)
        text, _ = proc.communicate(timeout=case.timeout)
        text += extra
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
        return "FAIL", f"did not end within {case.timeout:g} s"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    if "Traceback (most recent call last)" in plain:
        return "FAIL", "Python traceback: " + last_line(plain)
    ok_codes = case.exit or ((0, 130) if case.seconds else (0,))
    missing = [e for e in case.expect if not re.search(e, plain)]
    if proc.returncode not in ok_codes:
        return "FAIL", f"exit {proc.returncode}: " + last_error(plain)
    if missing:
        return "FAIL", f"output lacks /{missing[0]}/; " + last_error(plain)
    fatal = [ln for ln in plain.splitlines() if "[FATAL]" in ln]
    if fatal and case.exit:
        return "PASS", "fails as the original does: " + last_error(plain)
    if fatal:
        return "DEG", "a task died as upstream's does on vdevs: " + last_error(plain)
    return "PASS", ""


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def last_error(text: str) -> str:
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if "[FATAL]" in ln and i + 1 < len(lines):
            return lines[i + 1].strip()[:160]
    return last_line(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="moonpy-compat", description=__doc__.split("\n\n")[0])
    ap.add_argument("--moongen", help="path of a MoonGen checkout")
    ap.add_argument("--libmoon", help="path of a libmoon checkout")
    ap.add_argument("--only", help="substring of the script paths to run")
    args = ap.parse_args(argv)
    if not args.moongen or not args.libmoon:
        print("moonpy-compat: give --moongen and --libmoon", file=sys.stderr)
        return 2
    bases = {"MoonGen": Path(args.moongen), "libmoon": Path(args.libmoon)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if args.only and args.only not in case.script:
                continue
            result, reason = run_case(case, bases[case.repo], Path(tmp))
            ports = " + ".join(p.split(",")[0] for p in case.ports)
            rows.append(
                (
                    f"{case.repo}/{case.script}",
                    " ".join(case.args),
                    ports,
                    case.verdict,
                    result,
                    reason or case.note,
                )
            )
            print(f"{result:<5} {case.repo}/{case.script}", file=sys.stderr, flush=True)
    print("| script | arguments | ports | upstream on vdevs | moonpy | reason / what it shows |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    failed = [r for r in rows if r[4] == "FAIL" and r[3] in ("OK", "DEG")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
