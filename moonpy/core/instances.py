"""This machine's DPDK processes seen from moonpy: each run's EAL runtime directory (named
after its PID), other live moonpy runs, and the warning when two share cores or a tap."""

from __future__ import annotations

import contextlib
import os
import shutil

from moonpy.core.config import Config
from moonpy.log import log_warn


def runtime_dirs(pid: int | None = None) -> list[str]:
    """Where DPDK puts this process's runtime directory (``--file-prefix moonpy<PID>``):
    /var/run/dpdk as root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk."""
    prefix = f"moonpy{os.getpid() if pid is None else pid}"
    bases = ["/var/run/dpdk", "/run/dpdk", "/tmp/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    return [os.path.join(b, prefix) for b in bases]


def other_instances() -> list[int]:
    """PIDs of other live moonpy processes (they hold a runtime directory named after
    their PID); directories of processes that are gone are removed on the way."""
    pids = []
    for base in {os.path.realpath(os.path.dirname(d)) for d in runtime_dirs()}:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            if not name.startswith("moonpy") or not name[6:].isdigit():
                continue
            pid = int(name[6:])
            if pid == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    alive = b"moonpy" in f.read()
            except OSError:
                alive = False
            if alive:
                pids.append(pid)
            else:  # left by a run that was killed: nothing uses it
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(base, name))
    return pids


def pinned_cores(pid: int) -> set[int]:
    """Cores that threads of ``pid`` are pinned to (single-core affinity: EAL lcores)."""
    cores: set[int] = set()
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return cores
    for tid in tids:
        try:
            aff = os.sched_getaffinity(int(tid))
        except OSError:
            continue
        if len(aff) == 1:
            cores |= aff
    return cores


def warn_other_instances(cores: list[int], config: Config) -> None:
    """Two moonpy runs on the same cores halve each other's rates; on the same tap name
    they share one interface. Neither is an error (it may be meant): a warning each."""
    taps = {p.iface for p in config.ports if p.kind == "tap" and p.iface}
    for name in sorted(taps):
        if os.path.exists(f"/sys/class/net/{name}"):
            log_warn(
                f"tap interface '{name}' already exists (another moonpy run?): "
                "both would share it; give another iface=NAME"
            )
    for pid in other_instances():
        shared = pinned_cores(pid) & set(cores)
        if shared:
            log_warn(
                f"another moonpy run (PID {pid}) uses core(s) "
                f"{','.join(map(str, sorted(shared)))}: rates of both will suffer; "
                "choose other cores with --cores"
            )


def remove_runtime_dir() -> None:
    """Remove this process's EAL runtime directory (only ours: the name has our PID)."""
    for d in runtime_dirs():
        shutil.rmtree(d, ignore_errors=True)
