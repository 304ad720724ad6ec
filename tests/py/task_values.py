"""Task arguments and results are plain Python values; exit codes from sys.exit."""

import sys

import moonpy
from moonpy import device, memory


def echo(*args: object) -> tuple[object, ...]:
    return args


def master() -> None:
    dev = device.config(port=0, tx_queues=2)
    pool = memory.create_mempool(n=63)
    values = (1, 2.5, "x", [1, {"a": 2}], None, dev, dev.get_tx_queue(1), pool, len)
    tasks = [moonpy.start_task(echo, *values) for _ in range(3)]
    moonpy.wait_for_tasks()
    ok = all(t.wait() == values for t in tasks)
    print("ALL VALUES OK" if ok else f"MISMATCH {[t.wait() for t in tasks]}", flush=True)
    sys.exit(3)
