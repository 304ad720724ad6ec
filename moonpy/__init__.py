"""moonpy: MoonGen as a Python package."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from moonpy import device, fieldengine, histogram, memory, packet, proto, stats, tasks, timer
    from moonpy.fieldengine import (
        IMIX,
        Decrement,
        FromList,
        Increment,
        Ipv4Checksum,
        L4Checksum,
        Lengths,
        OffloadChecksums,
        Random,
        Sizes,
        Stream,
        send_stream,
    )
    from moonpy.histogram import Histogram
    from moonpy.packet import Packet
    from moonpy.proto import Stack
    from moonpy.tasks import (
        Task,
        running,
        set_runtime,
        start_shared_task,
        start_task,
        stop,
        wait_for_tasks,
    )
    from moonpy.timer import Timer, get_time

# The Python API, imported on first use: `import moonpy` stays light for the CLI
# and the Lua runtime, and moonpy.proto works without DPDK.
_LAZY: dict[str, tuple[str, str | None]] = {
    "device": ("moonpy.device", None),
    "memory": ("moonpy.memory", None),
    "packet": ("moonpy.packet", None),
    "proto": ("moonpy.proto", None),
    "stats": ("moonpy.stats", None),
    "timer": ("moonpy.timer", None),
    "histogram": ("moonpy.histogram", None),
    "fieldengine": ("moonpy.fieldengine", None),
    "tasks": ("moonpy.tasks", None),
    "Task": ("moonpy.tasks", "Task"),
    "start_task": ("moonpy.tasks", "start_task"),
    "start_shared_task": ("moonpy.tasks", "start_shared_task"),
    "wait_for_tasks": ("moonpy.tasks", "wait_for_tasks"),
    "running": ("moonpy.tasks", "running"),
    "stop": ("moonpy.tasks", "stop"),
    "set_runtime": ("moonpy.tasks", "set_runtime"),
    "get_time": ("moonpy.timer", "get_time"),
    "Timer": ("moonpy.timer", "Timer"),
    "Histogram": ("moonpy.histogram", "Histogram"),
    "Packet": ("moonpy.packet", "Packet"),
    "Stack": ("moonpy.proto", "Stack"),
    "Stream": ("moonpy.fieldengine", "Stream"),
    "Random": ("moonpy.fieldengine", "Random"),
    "Increment": ("moonpy.fieldengine", "Increment"),
    "Decrement": ("moonpy.fieldengine", "Decrement"),
    "FromList": ("moonpy.fieldengine", "FromList"),
    "Lengths": ("moonpy.fieldengine", "Lengths"),
    "Ipv4Checksum": ("moonpy.fieldengine", "Ipv4Checksum"),
    "L4Checksum": ("moonpy.fieldengine", "L4Checksum"),
    "OffloadChecksums": ("moonpy.fieldengine", "OffloadChecksums"),
    "Sizes": ("moonpy.fieldengine", "Sizes"),
    "IMIX": ("moonpy.fieldengine", "IMIX"),
    "send_stream": ("moonpy.fieldengine", "send_stream"),
}

__all__ = [
    "IMIX", "Decrement", "FromList", "Histogram", "Increment", "Ipv4Checksum", "L4Checksum",
    "Lengths", "OffloadChecksums", "Packet", "Random", "Sizes", "Stack", "Stream", "Task",
    "Timer", "device", "fieldengine", "get_time", "histogram", "memory", "packet", "proto",
    "running", "send_stream", "set_runtime", "start_shared_task", "start_task", "stats", "stop",
    "tasks", "timer", "wait_for_tasks",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'moonpy' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
