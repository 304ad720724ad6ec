"""`make compat-wild WILD=path`: third-party MoonGen/libmoon scripts from public
repositories (research artefacts, NFV benchmarks, RFC 2544 tools, probes), run
unchanged against moonpy on its default virtual cable, with a table.

Nothing of those repositories is stored here: WILD is a folder holding the user's own
checkouts as ``WILD/OWNER/NAME/`` (``git clone https://github.com/OWNER/NAME``), and
each entry below names the commit it was checked against. Some scripts load modules of
MoonGen's RFC 2544 suite (``rfc2544/utils``); they need ``--moongen`` (``MOONGEN=``).

``verdict`` is what the original MoonGen does with the script on two ports of a
machine with enough cores:

- OK / DEG: runs (DEG: with warnings or no-ops on virtual devices) -- moonpy must show
  what the original shows;
- HW: needs a NIC feature (registers, hardware timestamps of a given chip);
- BUG: fails on the original too (a script bug, a hard-coded path of its author);
- FORK: needs what its own fork added to MoonGen/libmoon (new packet types, rings);
- DEP: needs a module that is neither MoonGen's nor the script's (luarocks, C builds);
- OLD: written for MoonGen's 2014/2015 API that upstream removed; the current original
  fails the same way.

For BUG/FORK/DEP/OLD/HW entries ``exit`` names the failing exit status and ``expect``
the error the original gives: moonpy must fail in the same place, for the same reason.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from moonpy.tools.compat import Case, run_case

MPPS = r"(0\.0[1-9]|0\.[1-9]\d|[1-9]\d*\.\d\d)( \(StdDev [\d.]+\))? Mpps"  # at least 0.01
DEV_TX = r"\[Device: id=\d+\] TX: " + MPPS
DEV_RX = r"\[Device: id=\d+\] RX: " + MPPS
NOT_FOUND = r"module '{}' not found"
FAILED = (1,)
TASK_FAILED = (1, 130)  # a task died; the master runs on until Ctrl-C


def W(repo: str, commit: str, script: str, args: list[str], **kw: object) -> Case:
    kw.setdefault("seconds", 4.0)
    return Case(repo, script, args, commit=commit, **kw)  # type: ignore[arg-type]


Z = ("ZhaoyuUmass/libmoon_app", "0817375")
BW = ("brentondwalker/MoonGen", "92764fd")
DK = ("duk3luk3/MoonGenScripts", "1b66768")
EM = ("emmericp/moongen-scripts", "707e359")
GM = ("guimvmatos/MoonGen_Leris", "53bd45a")
JD = ("jaydizz/MoonGen", "7cf11ad")
JB = ("jwbensley/MoonGen-Scripts", "03d4254")
KZ = ("kozl/MoonGen-scripts", "90848a2")
PK = ("praveingk/moongen", "a3d27c5")
RJ = ("rajkiranjoshi/MoonGen", "e83440b")
RB = ("robidev/moongen-rfc2544", "29792a7")
RFC = ["{MOONGEN}/rfc2544/?.lua"]
QUEUE_STEERING = (
    "open moonpy difference: a cable takes TX queue q to the peer's RX queue q even "
    "without a filter (a NIC: RX queue 0); its load on TX queues 1-3 never reaches the RX "
    "queue 0 it counts"
)
RING = r"attempt to call method 'new(Pkt|Byte)sizedRing'"

WILD_CASES = [
    # -- ZhaoyuUmass/libmoon_app: latency and load tools of a research group --------
    W(
        *Z,
        "back-to-back-latency.lua",
        ["0", "1", "02:00:00:00:00:02", "100", "0"],
        seconds=0,
        expect=[r"latency:\t\d+ULL\t"],
        original="100 request/response latencies, then ends",
    ),
    W(
        *Z,
        "l2-load-latency.lua",
        ["0", "1", "-r", "100"],
        expect=[DEV_TX, DEV_RX],
        verdict="DEG",
        original="100 Mbit/s both ways + software timestamps",
    ),
    W(
        *Z,
        "quality-of-service-test.lua",
        ["0", "1", "-f", "20", "-b", "50"],
        expect=[r"\[Port 42\] TX", r"\[Port 43\] RX.*[1-9]\d* Mbit/s"],
        verdict="DEG",
        original="two rates, counted per UDP port",
    ),
    W(
        *Z,
        "reflector.lua",
        ["0"],
        seconds=3,
        expect=[r"\[Device: id=0\] RX"],
        original="echoes what arrives (nothing on an idle cable): counters at 0",
    ),
    W(
        *Z,
        "single_receiver.lua",
        ["1"],
        seconds=3,
        expect=[r"\[Packets received\] RX"],
        original="counts what arrives (nothing on an idle cable)",
    ),
    W(
        *Z,
        "timestamps-software.lua",
        ["0", "1", "100"],
        seconds=5,
        expect=[r"\d+"],
        original="software TX/RX timestamps between two ports",
    ),
    W(
        *Z,
        "trafficGen.lua",
        ["0", "-r", "1", "-l", "50", "-m", "02:00:00:00:00:02"],
        expect=[r"\[Packets sent1\] TX.*[1-9]\d* Mbit/s"],
        original="flow generator + counter",
    ),
    W(
        *Z,
        "multi_traffic_gen.lua",
        ["0", "-r", "1", "-l", "50"],
        expect=[r"\[Packets sent0\] TX.*[1-9]\d* Mbit/s"],
        original="multi-flow generator",
    ),
    W(
        *Z,
        "n_sender_1_receiver.lua",
        ["0", "1", "-l", "50", "-m", "02:00:00:00:00:02"],
        expect=[r"\[Packets sent1\] TX", r"\[Packets received\] RX.*total [1-9]\d* packets"],
        blocked="shared-core loss (receiver gets a few % of an unlimited sender)",
        original="senders without rate limit, one receiver; counts on both",
    ),
    # -- other research artefacts -----------------------------------------------------
    W(
        "atheurer/lua-trafficgen",
        "84ee89a",
        "moongen-latency.lua",
        ["--time", "3"],
        seconds=0,
        exit=FAILED,
        verdict="DEP",
        expect=[NOT_FOUND.format("ipc.sem")],
        original="needs the lua-ipc rock (ipc.sem), not part of MoonGen",
    ),
    W(
        *BW,
        "examples/l2-forward-psring-lrl.lua",
        ["-d", "0", "1", "-r", "100", "100"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[RING],
        original="needs the fork's packet-sized ring (pipe:newPktsizedRing in its libmoon)",
    ),
    W(
        *BW,
        "examples/l2-forward-bsring-lrl.lua",
        ["-d", "0", "1", "-r", "100", "100"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[RING],
        original="needs the fork's byte-sized ring",
    ),
    W(
        *BW,
        "examples/l2-forward-hybrid-latency-rate-loss.lua",
        ["-d", "0", "1", "-r", "100", "100"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[RING],
        original="needs the fork's packet-sized ring",
    ),
    W(
        *BW,
        "examples/lte-emulator.lua",
        ["-d", "0", "1", "-r", "100", "100"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[RING],
        original="needs the fork's packet-sized ring",
    ),
    W(
        "stralar/MoonGen",
        "3483f8d",
        "MoonGen/examples/l2-forward-psring-hybrid-latency-rate.lua",
        ["-d", "0", "1", "-r", "100", "100"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[RING],
        original="needs the fork's packet-sized ring",
    ),
    W(
        "dosarudaniel/MoongenScripts",
        "2e7e385",
        "packet-size.lua",
        ["0"],
        expect=[DEV_TX],
        original="full-speed load of one packet size",
    ),
    # -- duk3luk3: scripts for MoonGen of 2014/2015 ------------------------------------
    W(
        *DK,
        "l2-load-latency.lua",
        ["0", "1"],
        seconds=0,
        exit=FAILED,
        verdict="OLD",
        expect=[r"attempt to call field 'waitForDevs'"],
        original="device.waitForDevs was removed from MoonGen in 2015",
    ),
    W(
        *DK,
        "l3-load-latency.lua",
        ["0", "1", "0.1"],
        seconds=0,
        exit=FAILED,
        verdict="OLD",
        expect=[r"attempt to call field 'fillPacket'"],
        original="buf:fillPacket (2014 packet API) was removed; device.config(port, mempool, "
        "rx, tx) of the same era is accepted",
    ),
    W(
        *DK,
        "l3-load-latency-poisson.lua",
        ["0", "1", "0.1"],
        seconds=0,
        exit=FAILED,
        verdict="OLD",
        expect=[r"attempt to call field 'fillPacket'"],
        original="buf:fillPacket was removed",
    ),
    W(
        *DK,
        "l2-poisson-load-latency.lua",
        ["0", "1", "0.1"],
        seconds=0,
        exit=FAILED,
        verdict="OLD",
        expect=[r"attempt to call field 'waitFor'"],
        original="dev:waitFor... (2014) was removed",
    ),
    # -- emmericp/moongen-scripts: MoonGen author's own one-off scripts ----------------
    W(
        *EM,
        "burst-load-latency.lua",
        ["0", "1", "0.1", "4"],
        expect=[DEV_TX, r"startTaskOnCore: core 5"],
        original="bursts + latency; pins tasks to cores 4 and 5 (the original needs 6 cores)",
    ),
    W(
        *EM,
        "check-duplicate.lua",
        ["0", "1"],
        expect=[DEV_TX, DEV_RX],
        original="sends sequence numbers, counts duplicates",
    ),
    W(
        *EM,
        "lacp-flood.lua",
        ["0"],
        ports=["null"],
        seconds=3,
        expect=[DEV_TX],
        original="floods LACP frames",
    ),
    W(
        *EM,
        "multi-rate-limit-queues-single-task.lua",
        ["0"],
        ports=["null"],
        expect=[r"\[Queue 1\] TX.*[1-9]\d* Mbit/s"],
        original="several queues from one task",
    ),
    W(
        *EM,
        "poisson-software-random-packet-size.lua",
        ["0", "-r", "0.1"],
        ports=["null"],
        expect=[DEV_TX],
        original="Poisson software rate, random sizes",
    ),
    W(
        *EM,
        "timestamping-full-load-nic-bug.lua",
        ["0", "1"],
        expect=[DEV_TX],
        verdict="HW",
        original="shows a NIC timestamping bug under full load; load part runs",
    ),
    W(
        *EM,
        "vxlan.lua",
        ["0", "1", "-r", "100"],
        expect=[DEV_TX],
        original="VXLAN traffic at 100 Mbit/s",
    ),
    W(
        *EM,
        "lacp-flood.lua",
        ["0", "1"],
        seconds=3,
        expect=[DEV_TX],
        original="floods LACP frames on both cable ends",
    ),
    W(
        "emmericp/FlowScope",
        "4a1f0f4",
        "lua/flowscope.lua",
        ["examples/liveStats.lua", "0"],
        seconds=0,
        exit=FAILED,
        verdict="DEP",
        expect=[r"flowtracker: cannot open shared object file"],
        original="needs FlowScope's own C++ library (flowtracker), built by its CMake",
    ),
    # -- guimvmatos/MoonGen_Leris: a 5G fork ---------------------------------------------
    W(
        *GM,
        "examples/l2-load-latencyVLAN.lua",
        ["0", "1", "-r", "100"],
        exit=TASK_FAILED,
        verdict="FORK",
        expect=[r"no member named 'get5gPacket'"],
        original="needs the fork's GTP/5G packet types",
    ),
    W(
        *GM,
        "examples/l3-load-latency5g.lua",
        ["0", "1", "-r", "100"],
        exit=TASK_FAILED,
        verdict="FORK",
        expect=[r"no member named 'get5gIpUdpPacket'"],
        original="needs the fork's GTP/5G packet types",
    ),
    W(
        *GM,
        "examples/send-dump-pcap.lua",
        ["0", "100", "sw", "1"],
        exit=TASK_FAILED,
        verdict="BUG",
        expect=[r"could not create pcap file /home/guimvmatos/"],
        original="writes to its author's home folder",
    ),
    # -- jaydizz: a master's thesis toolkit ------------------------------------------
    W(
        *JD,
        "jd-ma/benchmark.lua",
        ["0", "1", "-r", "100", "-t", "3"],
        seconds=0,
        exit=FAILED,
        verdict="DEP",
        expect=[NOT_FOUND.format("inspect")],
        original="needs the inspect rock (luarocks)",
    ),
    W(
        *JD,
        "jd-ma/latency.lua",
        ["0", "1", "-r", "100", "-t", "3"],
        seconds=0,
        exit=FAILED,
        verdict="DEP",
        expect=[NOT_FOUND.format("inspect")],
        original="needs the inspect rock",
    ),
    W(
        *JD,
        "jd-ma/lossrate.lua",
        ["0", "1", "-r", "100", "-t", "3"],
        seconds=0,
        exit=FAILED,
        verdict="DEP",
        expect=[NOT_FOUND.format("inspect")],
        original="needs the inspect rock",
    ),
    W(
        *JD,
        "examples/l3-load-latency.lua",
        ["0", "1", "-r", "100"],
        expect=[DEV_TX, DEV_RX],
        verdict="DEG",
        original="its edit of MoonGen's L3 load + latency",
    ),
    W(
        *JD,
        "examples/device-statistics.lua",
        ["0", "1", "-r", "100"],
        expect=[DEV_TX],
        verdict="DEG",
        original="its edit of MoonGen's device statistics example",
    ),
    # -- jwbensley: RFC 2544 style tools on MoonGen's rfc2544 utils --------------------
    W(
        *JB,
        "ethType.lua",
        ["0", "1", "-r", "100"],
        seconds=0,
        expect=[r"total 65536 packets", r"Missing frames: 0\b"],
        blocked="shared-core loss / exact counters (65,536 ethertypes each once)",
        original="sends each of the 65,536 ethertypes once and reports missing ones (0)",
    ),
    W(
        *JB,
        "latency.lua",
        ["0", "1", "-d", "2", "-r", "100", "-s", "64"],
        seconds=0,
        lua_path=RFC,
        timeout=90,
        expect=[r"(?i)latency"],
        original="latency per frame size (loads MoonGen's rfc2544/utils)",
    ),
    W(
        *JB,
        "throughput.lua",
        ["0", "1", "-d", "1", "-r", "100"],
        seconds=0,
        lua_path=RFC,
        timeout=240,
        expect=[r"\n64,\d+,", r"\n1518,\d+,"],
        blocked="not triaged to the end: does not finish within 240 s on 2 cores "
        "(its loss-driven search); likely shared-core loss",
        original="RFC 2544 throughput search for 7 frame sizes",
    ),
    # -- kozl: DDoS/web load ---------------------------------------------------------
    W(
        *KZ,
        "l3-multi-destinations.lua",
        ["0", "100", "64", "3"],
        ports=["null"],
        seconds=0,
        expect=[r"total 0 packets"],
        verdict="BUG",
        original="master returns without waitForTasks: the original exits at once too, 0 sent",
    ),
    W(
        *KZ,
        "l3-multi-destinations-latency.lua",
        ["0", "1", "100", "64", "3"],
        seconds=0,
        exit=FAILED,
        verdict="BUG",
        expect=[r"attempt to index global 'dpdk'"],
        original='its last commit removed `require "dpdk"` but kept dpdk.sleepMillis',
    ),
    W(
        *KZ,
        "l3-ddos-and-web-payload.lua",
        ["0", "1", "100", "3"],
        seconds=0,
        expect=[r"Samples: \d+"],
        original="DDoS + web payload mix with latency",
    ),
    W(
        "lavanyaj/PERC-MoonGen",
        "0f5f6c2",
        "check_routing.lua",
        ["0", "02:00:00:00:00:02"],
        ports=["cable", "cable"],
        expect=[r"(?i)rx|received|\d"],
        original="configures four ports and checks where frames arrive",
    ),
    # -- praveingk/moongen: time-sync research fork ------------------------------------
    W(
        *PK,
        "examples/l2-load-latency.lua",
        ["0", "1", "-r", "100"],
        expect=[DEV_TX],
        verdict="DEG",
        original="its L2 load + latency",
    ),
    W(
        *PK,
        "examples/timestamping-independent.lua",
        ["0", "1", "-r", "100"],
        exit=TASK_FAILED,
        verdict="HW",
        expect=[r"attempt to index local 'regs1'"],
        original="reads Intel NIC timestamp registers",
    ),
    W(
        *PK,
        "examples/inter-arrival-times.lua",
        ["1"],
        expect=[r"Lost packets: \d+"],
        verdict="HW",
        original="inter-arrival histogram",
    ),
    W(*PK, "examples/trafficgen.lua", ["0", "1"], expect=[DEV_TX], original="load generator"),
    W(
        *PK,
        "examples/ts-gen.lua",
        ["0", "1"],
        seconds=0,
        exit=FAILED,
        verdict="FORK",
        expect=[NOT_FOUND.format("ts")],
        original="needs the fork's own ts module",
    ),
    # -- rajkiranjoshi/MoonGen: switch test scripts ----------------------------------
    W(
        *RJ,
        "examples/breakout_cable_test.lua",
        ["0", "1"],
        expect=[DEV_TX, DEV_RX],
        verdict="BUG",
        original="TX on one port, counts on the other; its send loop never checks "
        "mg.running(), so the original does not stop on Ctrl-C (moonpy: reported, ends)",
    ),
    W(
        *RJ,
        "examples/loopback_cable_test.lua",
        ["0", "10.0.0.1", "1", "10.0.0.2"],
        expect=[DEV_TX, DEV_RX],
        original="TX on one port, counts on the other",
    ),
    W(
        *RJ,
        "examples/send-test-pkts.lua",
        ["0", "0.1"],
        exit=TASK_FAILED,
        verdict="FORK",
        expect=[r"no member named 'getTestPacket'"],
        original="needs the fork's test packet type",
    ),
    W(
        *RJ,
        "examples/simple_rate_send.lua",
        ["0", "0.1", "1", "0.1"],
        exit=TASK_FAILED,
        verdict="FORK",
        expect=[r"no member named 'getQmetaPacket'"],
        original="needs the fork's packet type",
    ),
    W(
        *RJ,
        "examples/small-pkts-loading.lua",
        ["0", "1", "0.1"],
        expect=[DEV_TX],
        original="100 Mbit/s of small frames on two ports",
    ),
    W(
        *RJ,
        "examples/pipeline-loading.lua",
        ["0", "0.1"],
        expect=[DEV_TX],
        original="0.1 Mpps of large frames",
    ),
    W(
        *RJ,
        "examples/load_4_ports.lua",
        ["0", "1", "2", "3", "0.1"],
        ports=["cable", "cable"],
        expect=[r"\[Device: id=3\] TX"],
        original="load on four ports",
    ),
    # -- robidev/moongen-rfc2544: RFC 2544 suite for IEC 61850 devices ------------------
    W(
        *RB,
        "benchmarks/throughput.lua",
        ["0", "1", "-d", "1"],
        seconds=0,
        lua_path=RFC,
        timeout=120,
        dirs=["testresults"],
        expect=[r"(?i)throughput"],
        blocked=QUEUE_STEERING,
        original="RFC 2544 throughput (5 TX queues)",
    ),
    W(
        *RB,
        "benchmarks/latency.lua",
        ["0", "1", "-d", "1", "-r", "100"],
        seconds=0,
        lua_path=RFC,
        timeout=120,
        dirs=["testresults"],
        expect=[r"(?i)latency"],
        blocked="more than 4 queues per port",
        original="RFC 2544 latency (5 TX queues)",
    ),
    W(
        *RB,
        "benchmarks/backtoback.lua",
        ["0", "1", "-d", "1"],
        seconds=0,
        lua_path=RFC,
        timeout=120,
        dirs=["testresults"],
        expect=[r"(?i)back"],
        blocked=QUEUE_STEERING,
        original="RFC 2544 back-to-back frames",
    ),
    W(
        *RB,
        "benchmarks/frameloss.lua",
        ["0", "1", "-d", "1"],
        seconds=0,
        lua_path=RFC,
        timeout=120,
        dirs=["testresults"],
        expect=[r"(?i)loss"],
        blocked=QUEUE_STEERING,
        original="RFC 2544 frame loss",
    ),
    # -- probes and test frameworks ----------------------------------------------------
    W(
        "sonata-nfv/tng-moongen-probe",
        "5ee2521",
        "probe_moongen/kristo.lua",
        ["0", "1", "3", "100"],
        seconds=0,
        expect=[r"Samples: [1-9]"],
        original="5GTANGO probe: load + latency for a fixed time, then xstats",
    ),
    W(
        "thomas-schultz/sdn-cert",
        "20758ba",
        "test-cases/load-latency.lua",
        ["1", "0", "1", "3", "100", "10", "64"],
        seconds=0,
        dirs=["../results"],
        expect=[r"Saving rxCounter to '../results/test_1_load_rx.csv'", r"Samples: [1-9]"],
        blocked="not triaged to the end: its timestamper (third task on the one worker "
        "core) gets 0 samples; likely shared-core starvation",
        original="OpenFlow switch certification load + latency, CSV results",
    ),
]


def run_wild(wild: Path, moongen: Path | None, only: str | None) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(WILD_CASES):
            if only and only not in f"{case.repo}/{case.script}":
                continue
            workdir = Path(tmp) / str(n) / "run"
            workdir.mkdir(parents=True)
            result, reason = run_case(case, wild / case.repo, workdir, moongen)
            if result == "FAIL" and case.blocked:
                result, reason = "BLOCKED", f"blocked on: {case.blocked}; {reason}"
            rows.append((case, result, reason))
            print(f"{result:<7} {case.repo}/{case.script}", file=sys.stderr, flush=True)
    print(
        "| script | arguments | ports | original (2 ports, enough cores) | verdict | moonpy | why |"
    )
    print("|---|---|---|---|---|---|---|")
    for case, result, reason in rows:
        ports = " + ".join(p.split(",")[0] for p in case.ports)
        print(
            f"| {case.repo}/{case.script}@{case.commit} | {' '.join(case.args)} | {ports} "
            f"| {case.original} | {case.verdict} | {result} | {reason} |"
        )
    counts: dict[str, int] = {}
    for _, result, _ in rows:
        counts[result] = counts.get(result, 0) + 1
    repos = {case.repo for case, _, _ in rows}
    print(
        f"\n{len(rows)} scripts from {len(repos)} repositories: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    failed = [c for c, r, _ in rows if r == "FAIL"]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="moonpy-compat-wild", description="third-party MoonGen scripts against moonpy"
    )
    ap.add_argument("--wild", required=True, help="folder of checkouts as OWNER/NAME/")
    ap.add_argument("--moongen", help="a MoonGen checkout (scripts that load its rfc2544 utils)")
    ap.add_argument("--only", help="substring of the script paths to run")
    args = ap.parse_args(argv)
    return run_wild(Path(args.wild), Path(args.moongen) if args.moongen else None, args.only)


if __name__ == "__main__":
    sys.exit(main())
