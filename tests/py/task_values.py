"""Task arguments and results are plain Python values; exit codes from sys.exit."""

import sys
import threading

import moonpy
from moonpy import device, memory

# the tasks return only once all three were started: three tasks running at once on the
# machine's worker cores is what the "more tasks than worker cores" warning is about (an
# echo that returned at once could finish before the next start, and no warning came)
all_started = threading.Event()


def echo(*args: object) -> tuple[object, ...]:
    all_started.wait(10)
    return args


def master() -> None:
    dev = device.config(port=0, tx_queues=2)
    pool = memory.create_mempool(n=63)
    values = (1, 2.5, "x", [1, {"a": 2}], None, dev, dev.get_tx_queue(1), pool, len)
    tasks = [moonpy.start_task(echo, *values) for _ in range(3)]
    all_started.set()
    moonpy.wait_for_tasks()
    ok = all(t.wait() == values for t in tasks)
    print("ALL VALUES OK" if ok else f"MISMATCH {[t.wait() for t in tasks]}", flush=True)
    sys.exit(3)
