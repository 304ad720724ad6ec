"""`moonpy bench`: packet rates per core, side by side with C on the same DPDK.

Every measurement runs in its own process (DPDK starts once per process) on a
`null` port unless said otherwise: the Lua scenarios of lua_scripts/benchmark.lua
(TX, and RX/forwarding across virtual cables), the Python script
examples/udp-load.py (field engine and per-packet loop), the C reference loops
of csrc/mp_bench.c doing the same work as the TX scenarios, and
`dpdk-testpmd --forward-mode=txonly` (with and without --txonly-multi-flow).
With `--moongen PATH` the Lua TX scenarios also run, unchanged, on the original
MoonGen. Each is run `--runs` times; the table shows min/median/max Mpps, TSC
cycles per packet and the ratio to its reference. Numbers on a shared 2-core
VM are noisy: compare ratios from the same run, never absolute times.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from dataclasses import asdict, dataclass, field, replace

from moonpy.core.config import hugepage_problem
from moonpy.tools import bench_runs
from moonpy.tools.bench_runs import MEASURE, Scenario, machine, run_child


@dataclass
class Result:
    name: str
    what: str
    mpps: list[float] = field(default_factory=list)
    cycles: list[float] = field(default_factory=list)
    rss_mib: float = 0.0
    reference: str | None = None
    error: str | None = None
    dropped_mpps: list[float] = field(default_factory=list)  # RX rows, see Measurement

    @property
    def median(self) -> float:
        return statistics.median(self.mpps) if self.mpps else 0.0

    @property
    def ok(self) -> bool:
        return bool(self.mpps) and not self.error


SCENARIOS: list[Scenario] = [
    Scenario("testpmd-fixed", "dpdk-testpmd txonly, 64 B", "testpmd", "fixed", size=64),
    Scenario(
        "testpmd-multiflow",
        "dpdk-testpmd txonly --txonly-multi-flow",
        "testpmd",
        "multi-flow",
        size=64,
    ),
    Scenario("c-fixed", "C loop: alloc + send, 60 B", "c", "fixed"),
    Scenario("c-random", "C loop: random IP src + UDP port, offload", "c", "random"),
    Scenario("c-heavy", "C loop: 8 random fields", "c", "heavy"),
    Scenario(
        "lua-fixed", "1: Lua, prefilled 60 B, no per-packet work", "lua", "fixed", ref="c-fixed"
    ),
    Scenario(
        "lua-random",
        "2: Lua, seed load task (random src IP + port)",
        "lua",
        "random",
        ref="c-random",
    ),
    Scenario("lua-raw", "2 via raw FFI pointers", "lua", "raw", ref="c-random"),
    Scenario(
        "lua-random-dashboard",
        "2 with the live dashboard drawing (pseudo-terminal)",
        "lua",
        "random",
        ref="lua-random",
        dashboard=True,
    ),
    Scenario(
        "lua-multiflow",
        "2 with testpmd's multi-flow rule (source IP from a counter, no random numbers)",
        "lua",
        "multiflow",
        ref="testpmd-multiflow",
    ),
    Scenario(
        "lua-checksum",
        "2 + ip4:calculateChecksum() per packet",
        "lua",
        "checksum",
        ref="lua-random",
    ),
    Scenario("lua-heavy", "3: Lua, 8 math.random fields per packet", "lua", "heavy", ref="c-heavy"),
    Scenario(
        "py-batch",
        "4: Python, examples/udp-load.py, field engine (fields set in C per burst)",
        "py",
        ref="lua-random",
    ),
    Scenario(
        "py-loop",
        "4: the same with --python-loop (a Python loop per packet)",
        "py",
        "--python-loop",
        ref="lua-random",
    ),
    Scenario(
        "lua-fixed-1514",
        "5: scenario 1 with 1514 B frames",
        "lua",
        "fixed",
        size=1514,
        ref="c-fixed-1514",
    ),
    Scenario("c-fixed-1514", "C loop, 1514 B", "c", "fixed", size=1514),
    Scenario(
        "lua-random-1514",
        "5: scenario 2 with 1514 B frames",
        "lua",
        "random",
        size=1514,
        ref="lua-random",
    ),
    # the RX rows measure the receiving task on the worker core; the sender (prefilled
    # frames) is a shared task on the master's core, so the rate is the slower of the two
    Scenario(
        "lua-rx-cable",
        "6: Lua RX, recv + freeAll from a cable (sender shares the master's core; no C reference)",
        "lua",
        "rx",
        port_specs=("cable",),
    ),
    Scenario(
        "lua-forward-cable",
        "6: Lua forwarder, recv from a cable + sendN to a null port (sender shares "
        "the master's core)",
        "lua",
        "forward",
        port_specs=("cable", "null"),
        ref="lua-rx-cable",
    ),
    Scenario(
        "lua-fixed-cable",
        "1 on a virtual cable (nobody reads: a full ring drops, like a wire)",
        "lua",
        "fixed",
        port_specs=("cable",),
        ref="lua-fixed",
    ),
    Scenario(
        "lua-heavy-cable",
        "3 on a virtual cable (software checksums, nobody reads)",
        "lua",
        "heavy",
        port_specs=("cable",),
        ref="lua-heavy",
    ),
    Scenario(
        "lua-random-cable",
        "2 on a virtual cable (software checksums, nobody reads)",
        "lua",
        "random",
        port_specs=("cable",),
        ref="lua-random",
    ),
    Scenario(
        "lua-random-2tasks",
        "7: scenario 2, one task per null port, 2 ports",
        "lua",
        "random",
        ports="0,1",
        port_specs=("null", "null"),
        ref="lua-random",
    ),
]

# the Lua TX scenarios that `--moongen` also runs on the original MoonGen
MOONGEN_TWINS = ("lua-fixed", "lua-random", "lua-raw", "lua-checksum", "lua-heavy")


def moongen_twin(sc: Scenario, command: list[str]) -> Scenario:
    """`moongen-X`: lua-X run on MoonGen; compared with what lua-X is compared with
    (its C loop, or the MoonGen row of its Lua reference)."""
    ref = sc.ref.replace("lua-", "moongen-", 1) if sc.ref else None
    return replace(
        sc,
        name=sc.name.replace("lua-", "moongen-", 1),
        what=f"{sc.name} on the original MoonGen",
        kind="moongen",
        ref=ref,
        command=tuple(command),
    )


def scenarios(moongen: list[str] | None) -> list[Scenario]:
    """The rows in table order; each MoonGen twin right after its Lua row."""
    rows: list[Scenario] = []
    for sc in SCENARIOS:
        rows.append(sc)
        if moongen and sc.name in MOONGEN_TWINS:
            rows.append(moongen_twin(sc, moongen))
    return rows


def selected(rows: list[Scenario], only: list[str] | None) -> list[Scenario]:
    """`--only` rows; naming lua-X also selects its MoonGen twin moongen-X."""
    if not only:
        return rows
    wanted = set(only) | {n.replace("lua-", "moongen-", 1) for n in only}
    return [sc for sc in rows if sc.name in wanted]


def measure(sc: Scenario, seconds: float, runs: int) -> Result:
    r = Result(sc.name, sc.what, reference=sc.ref)
    for _ in range(runs):
        try:
            m = MEASURE[sc.kind](sc, seconds)
        except (RuntimeError, OSError) as e:
            r.error = str(e).splitlines()[0][:200]
            break
        r.mpps.append(m.mpps)
        r.cycles.append(m.cycles)
        r.rss_mib = max(r.rss_mib, m.rss_mib)
        if m.dropped_mpps is not None:
            r.dropped_mpps.append(m.dropped_mpps)
    return r


def run(seconds: float, runs: int, rows: list[Scenario]) -> tuple[dict, list[Result]]:
    results = []
    for sc in rows:
        r = measure(sc, seconds, runs)
        results.append(r)
        print(
            f"  {sc.name:<20} {r.median:8.2f} Mpps" + (f"  ({r.error})" if r.error else ""),
            file=sys.stderr,
            flush=True,
        )
    return machine(), results


def table_row(r: Result, by: dict[str, Result]) -> str:
    if r.error:
        return f"| {r.name} | {r.what} | failed: {r.error} | | | |"
    ratio = ""
    ref = by.get(r.reference or "")
    if ref and ref.ok:
        ratio = f"{r.median / ref.median:.2f}x {ref.name}"
    return (
        f"| {r.name} | {r.what} | {min(r.mpps):.2f} / {r.median:.2f} / "
        f"{max(r.mpps):.2f} | {statistics.median(r.cycles):.1f} | {ratio} "
        f"| {r.rss_mib:.0f} |"
    )


def notes(info: dict, by: dict[str, Result]) -> list[str]:
    """The lines under the table: the ratios docs/performance.md sets targets for (where both
    sides were measured) and how to read the RX rows."""
    lines = []
    for a, b, target in (
        ("lua-fixed", "testpmd-fixed", " (target >= 1.0x)"),
        ("lua-random", "testpmd-multiflow", " (target >= 1.1x)"),
        ("lua-multiflow", "testpmd-multiflow", " (the same per-packet rule as testpmd)"),
        ("lua-heavy", "testpmd-multiflow", " (target >= 0.5x)"),
        ("lua-random-dashboard", "lua-random", " (target >= 0.98x: the dashboard costs <= 2 %)"),
        ("py-batch", "lua-random", " (target >= 0.8x: scenario 4 vs scenario 2)"),
        ("py-batch", "c-random", " (target >= 0.8x: scenario 4 vs its C reference)"),
    ):
        if a in by and b in by and by[a].ok and by[b].ok:
            lines.append(f"{a} / {b} = {by[a].median / by[b].median:.2f}x{target}")
    one, two = by.get("lua-random"), by.get("lua-random-2tasks")
    if one and two and one.ok and two.ok:
        lines.append(
            f"scaling 2 tasks / 1 task = {two.median / one.median:.2f}x "
            f"(a {info['cores']}-core machine has {int(info['cores']) - 1} worker "
            "core(s): tasks beyond that share a core)"
        )
    for r in by.values():
        if r.ok and r.dropped_mpps:
            lines.append(bottleneck(r))
    if "lua-rx-cable" in by:
        lines.append(
            "lua-rx-cable: no C reference (a C receive loop would belong in csrc/mp_bench.c)"
        )
    return lines


def bottleneck(r: Result) -> str:
    """Which side an RX row measured: the receiver only if its port dropped frames."""
    drops = statistics.median(r.dropped_mpps)
    if drops == 0:
        return f"{r.name}: no frames dropped at the receiver: it kept up, the rate is the sender's"
    return (
        f"{r.name}: the receiving port dropped {drops / (drops + r.median):.0%} of what "
        "was sent: the receiver is the bottleneck"
    )


def _mpps(r: Result | None) -> str:
    return f"{r.median:.2f}" if r and r.ok else "-"


def _ratio(a: Result | None, b: Result | None) -> str:
    return f"{a.median / b.median:.2f}x" if a and b and a.ok and b.ok else "-"


def three_way(by: dict[str, Result]) -> list[str]:
    """moonpy's Lua vs the original MoonGen vs C, for the scenarios run on both."""
    lines = []
    for name in MOONGEN_TWINS:
        lua, mg = by.get(name), by.get(name.replace("lua-", "moongen-", 1))
        if not (lua and mg):
            continue
        ref = lua.reference or ""
        c = by.get(ref) if ref.startswith("c-") else None  # checksum has no C loop
        c_cell = f"{_mpps(c)} ({c.name})" if c else "-"
        lines.append(
            f"| {name[4:]} | {_mpps(lua)} | {_mpps(mg)} | {c_cell} | {_ratio(lua, mg)} "
            f"| {_ratio(mg, c)} |"
        )
    if not lines:
        return []
    head = "| scenario | moonpy Lua Mpps | MoonGen Mpps | C Mpps | moonpy / MoonGen | MoonGen / C |"
    return [head, "|---|---|---|---|---|---|", *lines]


def table(info: dict, results: list[Result]) -> str:
    by = {r.name: r for r in results}
    lines = [
        f"CPU: {info['cpu']} ({info['cores']} cores, TSC {int(info['tsc_hz']) / 1e9:.2f} GHz)"
        f"; DPDK {info['dpdk']}; {info['luajit']}; Python {info['python']}"
        f"; memory: {info.get('memory', '4 KiB pages (--no-huge)')}",
        "",
        "| scenario | what | Mpps min / median / max | TSC cycles/pkt | vs reference "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|",
        *(table_row(r, by) for r in results),
    ]
    extra = notes(info, by)
    if extra:
        lines += ["", *extra]
    three = three_way(by)
    if three:
        lines += ["", f"moonpy's Lua vs MoonGen ({info.get('moongen')}) vs C:", "", *three]
    return "\n".join(lines)


def check_only(only: list[str], rows: list[Scenario]) -> str | None:
    """The one-line complaint about unknown `--only` names, or None."""
    unknown = set(only) - {sc.name for sc in rows}
    if not unknown:
        return None
    hint = ""
    if any(n.startswith("moongen-") for n in unknown):
        hint = " (moongen-* rows need --moongen PATH)"
    valid = ", ".join(sc.name for sc in rows)
    return f"moonpy bench: unknown scenario(s) {sorted(unknown)}; valid: {valid}{hint}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="moonpy bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per scenario")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument(
        "--stages",
        action="store_true",
        help="instead of the table: TSC cycles per packet of each stage of the C sending "
        "path (alloc, fields, offload, checksums, tx burst, free), and of testpmd txonly's",
    )
    ap.add_argument(
        "--moongen",
        metavar="PATH",
        help="a MoonGen binary (a command line, split like a shell does): also run "
        f"{', '.join(MOONGEN_TWINS)} on it as moongen-* rows",
    )
    ap.add_argument(
        "--hugepages",
        action="store_true",
        help="every row (moonpy, testpmd, the original) on reserved 2 MiB hugepages "
        "instead of 4 KiB pages (needs sysctl vm.nr_hugepages and a hugetlbfs mount)",
    )
    args = ap.parse_args(argv)
    if args.hugepages:
        problem = hugepage_problem(1024)  # testpmd's -m 1024, the largest row
        if problem:
            print(f"moonpy bench: {problem}", file=sys.stderr)
            return 2
        bench_runs.HUGEPAGES = True
    if args.stages:
        from moonpy.tools import bench_stages

        return bench_stages.main(run_child, args.time, args.json)
    moongen = shlex.split(args.moongen) if args.moongen else None
    rows = scenarios(moongen)
    if args.list:
        for sc in scenarios(moongen or ["MoonGen"]):
            note = "  (with --moongen PATH)" if sc.kind == "moongen" and not moongen else ""
            print(f"{sc.name:<20} {sc.what}{note}")
        return 0
    only = args.only.split(",") if args.only else None
    complaint = check_only(only, rows) if only else None
    if complaint:
        print(complaint, file=sys.stderr)
        return 2
    info, results = run(args.time, args.runs, selected(rows, only))
    if moongen:
        info["moongen"] = args.moongen
    print(table(info, results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "command": " ".join(sys.argv),
                    "results": [asdict(r) for r in results],
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
