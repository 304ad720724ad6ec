"""The end of a run's report: buffers that did not come back to their pools, and the exit
code that follows. Shared by every front end (Lua scripts, Python scripts, replay), so it
sits below all of them."""

from __future__ import annotations

import os
import sys
from typing import Any

from moonpy.log import log_info, log_warn


def report_leaks(leaks: list[str], code: int, reclaimed: dict[str, int] | None = None) -> int:
    """Warn about mbufs that did not come back; with MOONPY_CHECK_LEAKS=1 (the test suite
    sets it) a run that would have succeeded fails with exit code 70 instead. ``reclaimed``
    (pool name: buffers) is what tasks that died on an error held, put back at the end."""
    got = {name: n for name, n in (reclaimed or {}).items() if n}
    if got:
        where = ", ".join(f"{name}: {n}" for name, n in got.items())
        log_info(
            f"{sum(got.values())} buffers held by the failed run's tasks were "
            f"returned to their pools ({where})",
            file=sys.stderr,
            color=False,
        )
    for leak in leaks:
        log_warn(f"buffers not returned to their pool: {leak}", file=sys.stderr, color=False)
    if leaks and code == 0 and os.environ.get("MOONPY_CHECK_LEAKS") == "1":
        return 70
    return code


def failed_tasks_line(names: list[str]) -> str:
    """The run's closing line when tasks died on an error: the run went on past them (as
    in libmoon), so the end, where the exit status is read, says which ones failed."""
    unique = sorted(set(names))
    n = len(names)
    return (
        f"[ERROR] {n} task{'s' if n > 1 else ''} failed ({', '.join(unique)}; "
        "errors above); exit status 1"
    )


def run_meta(opts: Any, cfg: Any, engine: Any) -> dict:
    """What a results file needs to reproduce the run."""
    from moonpy import __version__, _dpdk

    return {
        "moonpy_version": __version__,
        "script": opts.target,
        "args": list(opts.args),
        "ports": [{"id": p.id, "kind": p.kind, "detail": p.describe()} for p in engine.ports],
        "cores": engine.cores,
        "memory_mb": cfg.memory,
        "timestamps": "software (TSC)",
        "tsc_hz": _dpdk.tsc_hz(),
    }
