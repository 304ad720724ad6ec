"""`moonpy bench --stages`: where a sent packet's cycles go, stage by stage.

Each column is one child process running a C loop of csrc/mp_stages.c on one port: the
bench's TX scenarios (fixed, random, heavy) on the fast path moonpy's Lua and Python use
(the same allocation reset, the send's pass with its offload request or software
checksums, and tx_burst), and dpdk-testpmd txonly's per-packet preparation (with and
without --txonly-multi-flow) on the same port and clock. A TSC read separates the
stages; each stage's median burst is reported (a preempted burst on a shared VM does not
move a median), in cycles per packet, with the cost of a TSC read subtracted. Every
other burst is freed instead of sent, which times the buffer recycling the null driver
does inside tx_burst on its own ("free").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

# bench.run_child, handed in by `moonpy bench` (this module must not import bench: a cycle)
RunChild = Callable[[list[str], float], tuple[str, float]]

# (column, mp_stages.c scenario, port kind)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("fixed", "fixed", "null"),
    ("random", "random", "null"),
    ("heavy", "heavy", "null"),
    ("random-cable", "random", "cable"),
    ("txonly", "txonly", "null"),
    ("txonly-mf", "txonly-mf", "null"),
)

STAGE_ROWS: tuple[tuple[str, str], ...] = (
    ("get", "rte_mempool_get_bulk (63 buffers)"),
    ("reset", "metadata reset (moonpy alloc) / txonly: per-packet prepare + header copy"),
    ("fill", "random fields (2, heavy: 8; moonpy's generator)"),
    (
        "pass",
        "the send's pass: byte count + offload request (flags, lengths, pseudo-header sum; "
        "cable: the checksums in software)",
    ),
    ("send", "tx_burst: the driver (null: counts and frees) / the cable's ring"),
    ("free", "rte_pktmbuf_free_bulk alone (part of send on a null port)"),
    ("total", "a sent burst, all stages"),
)

STAGES_CHILD = """
import json, os
from moonpy import _dpdk
from moonpy.core.config import Config, PortSpec
from moonpy.core.engine import Engine
eng = Engine(Config(ports=[PortSpec(kind="{kind}")])).start()
port, _ = eng.configure_port(0)
os.sched_setaffinity(0, {{eng.cores[-1]}})
pool = _dpdk.create_mempool(4095)
_dpdk.bench_stages("{scenario}", port.dpdk_id, 0, pool, {size}, 0.3)
print(json.dumps(_dpdk.bench_stages("{scenario}", port.dpdk_id, 0, pool, {size}, {seconds})))
eng.shutdown()
"""


def measure_column(
    run_child: RunChild, scenario: str, kind: str, seconds: float, size: int = 60
) -> dict:
    code = STAGES_CHILD.format(scenario=scenario, kind=kind, size=size, seconds=seconds)
    text, _ = run_child([sys.executable, "-c", code], seconds + 60)
    return json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])


def run(run_child: RunChild, seconds: float) -> dict[str, dict]:
    results = {}
    for name, scenario, kind in COLUMNS:
        try:
            results[name] = measure_column(run_child, scenario, kind, seconds)
        except (RuntimeError, OSError, ValueError, IndexError) as e:
            results[name] = {"error": str(e).splitlines()[0][:120]}
        print(f"  stages {name:<14} done", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, dict]) -> str:
    names = [name for name, _, _ in COLUMNS]
    lines = [
        "TSC cycles per packet, median burst of 63 (csrc/mp_stages.c; a TSC read, "
        "subtracted, costs the `clock` row's cycles):",
        "",
        "| stage | what | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for stage, what in (*STAGE_ROWS, ("clock", "one TSC read (cycles, not per packet)")):
        cells = []
        for name in names:
            r = results[name]
            cells.append("failed" if "error" in r else f"{r[stage]:.1f}")
        lines.append(f"| {stage} | {what} | " + " | ".join(cells) + " |")
    errors = [f"{n}: {r['error']}" for n, r in results.items() if "error" in r]
    return "\n".join(lines + errors)


def main(run_child: RunChild, seconds: float, json_path: str | None) -> int:
    results = run(run_child, seconds)
    print(table(results))
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"stages": results}, f, indent=2)
    return 0
