"""Sends with the field engine until stopped (by a signal in the tests)."""

import moonpy
from moonpy import device
from moonpy.fieldengine import Random, Stream
from moonpy.proto import UDP4


def load(queue: device.TxQueue) -> int:
    return queue.send_stream(Stream(UDP4.build(length=60), vary=[Random("ip4.src")]))


def master(port: int = 0) -> None:
    dev = device.config(port=port, tx_queues=1)
    device.wait_for_links()
    task = moonpy.start_task(load, dev.get_tx_queue(0))
    print("started", flush=True)
    moonpy.wait_for_tasks()
    sent = task.wait()
    print(f"counters finalized: {dev.get_tx_stats()[0] == sent} tx={sent}", flush=True)
