"""Count the frames arriving on a port, with MoonGen's RX counter lines; optionally
load the port from another one (the other end of the cable) with the field engine.

    moonpy examples/rx-counter.py 1 --load-from 0 --time 5    # across the virtual cable
    moonpy --port tap examples/rx-counter.py 0                  # whatever the kernel sends
"""

from __future__ import annotations

import argparse

import moonpy
from moonpy import device, memory, stats
from moonpy.device import RxQueue, TxQueue
from moonpy.fieldengine import Increment, OffloadChecksums, Stream
from moonpy.proto import UDP4


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rx_dev", type=int, help="Device to count on.")
    parser.add_argument("--load-from", type=int, default=None, help="Device to send load from.")
    parser.add_argument("-r", "--rate", type=float, default=1000, help="Load in Mbit/s (0: max).")
    parser.add_argument("-s", "--size", type=int, default=60, help="Load frame size.")
    parser.add_argument("-t", "--time", type=float, default=0, help="Run time (0: until Ctrl-C).")


def master(args: argparse.Namespace) -> None:
    rx_dev = device.config(port=args.rx_dev, rx_queues=1)
    tx_dev = None
    if args.load_from is not None and args.load_from != args.rx_dev:
        tx_dev = device.config(port=args.load_from, tx_queues=1)
    device.wait_for_links()
    if args.time > 0:
        moonpy.set_runtime(args.time)
    if tx_dev is not None:
        queue = tx_dev.get_tx_queue(0)
        if args.rate > 0:
            queue.set_rate(args.rate)
        moonpy.start_task(load, queue, args.size)
    counted = moonpy.start_shared_task(count, rx_dev.get_rx_queue(0))
    moonpy.wait_for_tasks()
    stats.log_info(f"Counted {counted.wait()} frames on {rx_dev}")


def load(queue: TxQueue, size: int) -> int:
    stream = Stream(
        UDP4.build(length=size, eth_src=queue, ip4_dst="10.1.0.1", udp_dport=4321),
        vary=[Increment("ip4.src", "10.0.0.1", count=256)],
        fix=[OffloadChecksums()],
    )
    return queue.send_stream(stream)


def count(queue: RxQueue) -> int:
    """Receive in bursts; the counter sees packet and byte totals per burst (no
    Python per packet)."""
    ctr = stats.ManualRxCounter(str(queue))
    bufs = memory.buf_array()
    total = 0
    while moonpy.running(0.1):
        n = queue.try_recv(bufs, 0.01)
        if n:
            total += n
            ctr.update(n, bufs.total_bytes() + 4 * n)
            bufs.free()
        else:
            ctr.update()
    ctr.finalize()
    return total
