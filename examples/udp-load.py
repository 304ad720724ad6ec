"""UDP load with a random source IP and source port in every packet, and a counter
on the receiving port: the Python twin of lua_scripts/udp-load.lua.

    moonpy examples/udp-load.py 0 1                  # across the virtual cable
    moonpy examples/udp-load.py 0 1 --time 10 -r 1000
    moonpy --port null examples/udp-load.py 0 0 --python-loop   # the slow per-packet loop

The field engine varies the fields in C (no Python per packet); --python-loop
does the same work in a Python loop over packet views, for comparison. At the end
the script prints what the load task sent, timed by the task itself on the TSC:
  RESULT engine=batch pkts=N seconds=S mpps=M cycles_per_pkt=C
(`moonpy bench` reads it for its py-batch and py-loop rows).
"""

from __future__ import annotations

import argparse
import random

import moonpy
from moonpy import device, memory, stats, timer
from moonpy.device import RxQueue, TxQueue
from moonpy.fieldengine import OffloadChecksums, Random, Stream
from moonpy.packet import Packet
from moonpy.proto import UDP4


def frame_size(text: str) -> int:
    # checked while parsing, not in the load task: a task that dies lets the run go on
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 60 <= n <= 1514:
        raise argparse.ArgumentTypeError(
            f"size {text}: give a whole number of bytes from 60 to 1514"
        )
    return n


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tx_dev", type=int, help="Device to transmit from.")
    parser.add_argument(
        "rx_dev", type=int, help="Device to receive on (the same as tx_dev: no receiver)."
    )
    parser.add_argument(
        "-r", "--rate", type=float, default=0, help="Transmit rate in Mbit/s (0: line rate)."
    )
    parser.add_argument(
        "-s",
        "--size",
        type=frame_size,
        default=60,
        help="Packet size in bytes without CRC, 60 to 1514.",
    )
    parser.add_argument(
        "-t", "--time", type=float, default=0, help="Run time in seconds (0: until Ctrl-C)."
    )
    parser.add_argument(
        "--python-loop",
        action="store_true",
        help="Vary the fields in a per-packet Python loop instead of the field engine (slow).",
    )


def master(args: argparse.Namespace) -> None:
    tx_dev = device.config(port=args.tx_dev, tx_queues=1)
    rx_dev = tx_dev
    if args.rx_dev != args.tx_dev:
        rx_dev = device.config(port=args.rx_dev, rx_queues=1)
    device.wait_for_links()
    if args.rate != 0:  # set_rate refuses nan, inf and negative rates
        tx_dev.get_tx_queue(0).set_rate(args.rate)
    if args.time != 0:  # set_runtime refuses negative and nan
        moonpy.set_runtime(args.time)
    stats.start_stats_task(tx_devices=[tx_dev], rx_devices=[rx_dev] if rx_dev != tx_dev else [])
    load = python_load if args.python_loop else engine_load
    task = moonpy.start_task(load, tx_dev.get_tx_queue(0), args.size)
    if rx_dev != tx_dev:
        moonpy.start_shared_task(counter, rx_dev.get_rx_queue(0))
    moonpy.wait_for_tasks()
    result = task.wait()
    if result:
        report("loop" if args.python_loop else "batch", *result)


def report(engine: str, pkts: int, seconds: float) -> None:
    """The load task's own count and time, in benchmark.lua's RESULT format."""
    mpps = pkts / seconds / 1e6 if seconds > 0 else 0.0
    cycles = seconds * timer.tsc_hz() / pkts if pkts else 0.0
    print(
        f"RESULT engine={engine} pkts={pkts} seconds={seconds:.4f} mpps={mpps:.3f} "
        f"cycles_per_pkt={cycles:.2f}"
    )


def template_fields(queue: TxQueue, size: int) -> dict[str, object]:
    """The headers of every packet (udp-load.lua's fill{...})."""
    return {
        "length": size,
        "eth_src": queue,
        "eth_dst": "10:11:12:13:14:15",
        "ip4_dst": "10.1.0.1",
        "udp_dport": 319,
    }


def engine_load(queue: TxQueue, size: int) -> tuple[int, float]:
    """Random source address and port per packet, applied in C by the field engine.
    Returns the packets sent and the seconds the sending took."""
    stream = Stream(
        template=UDP4.build(**template_fields(queue, size)),  # type: ignore[arg-type]
        vary=[Random("ip4.src"), Random("udp.sport")],
        fix=[OffloadChecksums()],
    )
    start = moonpy.get_time()
    sent = queue.send_stream(stream)
    return sent, moonpy.get_time() - start


def python_load(queue: TxQueue, size: int) -> tuple[int, float]:
    """The same in a per-packet Python loop over packet views (MoonGen's style)."""
    fields = template_fields(queue, size)

    def init(pkt: Packet) -> None:
        pkt.fill(**fields)  # type: ignore[arg-type]

    pool = memory.create_mempool(init=init)
    bufs = pool.buf_array()
    rand = random.getrandbits
    sent = 0
    start = moonpy.get_time()
    while moonpy.running():
        bufs.alloc(size)
        for pkt in bufs:
            pkt.ip4.src = rand(32)
            pkt.udp.sport = rand(16)
        bufs.offload_udp_checksums()
        sent += queue.send(bufs)
    return sent, moonpy.get_time() - start


def counter(queue: RxQueue) -> int:
    bufs = memory.buf_array()
    total = 0
    while moonpy.running(0.1):
        total += queue.try_recv(bufs, 0.01)
        bufs.free()
    stats.log_info(f"Received {total} packets on {queue}")
    return total
