"""Latency with software timestamps: probes carry the TSC at which they were
sent (at byte 48, inside the UDP payload), the receiver stamps the TSC at which
they arrived; the difference goes into a histogram. Optional background load on
a second TX queue. The Python twin of MoonGen's timestamps-software.lua.

    moonpy examples/latency.py 0 1 --time 5                   # across the virtual cable
    moonpy examples/latency.py 0 1 --time 5 --rate 1000       # with 1000 Mbit/s of load
"""

from __future__ import annotations

import argparse

import moonpy
from moonpy import device, memory, stats
from moonpy.device import RxQueue, TxQueue
from moonpy.fieldengine import OffloadChecksums, Random, Stream
from moonpy.histogram import Histogram
from moonpy.packet import Packet
from moonpy.proto import UDP4
from moonpy.timer import Timer, tsc_hz

PROBE_SIZE = 60
PROBE_PORT = 319
LOAD_SIZE = 124
TS_OFFSET = 48


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tx_dev", type=int, help="Device to send probes (and load) from.")
    parser.add_argument("rx_dev", type=int, help="Device to receive them on.")
    parser.add_argument("-r", "--rate", type=float, default=0, help="Load in Mbit/s (0: none).")
    parser.add_argument("-i", "--interval", type=float, default=1.0, help="ms between probes.")
    parser.add_argument("-t", "--time", type=float, default=5, help="Run time in seconds.")
    parser.add_argument("-f", "--file", default=None, help="Save the histogram (CSV) here.")


def master(args: argparse.Namespace) -> None:
    tx_dev = device.config(port=args.tx_dev, tx_queues=2 if args.rate > 0 else 1)
    rx_dev = device.config(port=args.rx_dev, rx_queues=1)
    device.wait_for_links()
    moonpy.set_runtime(args.time)
    if args.rate > 0:
        load_queue = tx_dev.get_tx_queue(1)
        load_queue.set_rate(args.rate)
        moonpy.start_task(load, load_queue)
    moonpy.start_shared_task(tx_timestamper, tx_dev.get_tx_queue(0), args.interval / 1000)
    receiver = moonpy.start_shared_task(rx_timestamper, rx_dev.get_rx_queue(0))
    moonpy.wait_for_tasks()
    hist: Histogram | None = receiver.wait()
    if hist is not None:
        hist.print("Latency")
        if args.file:
            hist.save(args.file)


def load(queue: TxQueue) -> int:
    stream = Stream(
        UDP4.build(length=LOAD_SIZE, eth_src=queue, ip4_dst="10.1.0.1", udp_dport=42),
        vary=[Random("ip4.src")],
        fix=[OffloadChecksums()],
    )
    return queue.send_stream(stream)


def tx_timestamper(queue: TxQueue, interval: float) -> int:
    def init(pkt: Packet) -> None:
        pkt.fill(length=PROBE_SIZE, eth_src=queue, ip4_dst="10.1.0.2", udp_dport=PROBE_PORT)

    pool = memory.create_mempool(n=255, init=init)
    bufs = pool.buf_array(1)
    timer = Timer(interval)
    sent = 0
    while moonpy.running():
        bufs.alloc(PROBE_SIZE)
        bufs.offload_udp_checksums()
        sent += queue.send_with_timestamp(bufs, TS_OFFSET)
        timer.sleep()
        timer.reset()
    return sent


def rx_timestamper(queue: RxQueue) -> Histogram:
    hist = Histogram()
    hz = tsc_hz()
    bufs = memory.buf_array()
    while moonpy.running(0.05):
        n = queue.recv_with_timestamps(bufs, timeout=0.01)
        for pkt in bufs.packets() if n else ():
            if pkt.size == PROBE_SIZE and pkt.udp.dport == PROBE_PORT:
                cycles = pkt.udata64 - pkt.software_tx_timestamp(TS_OFFSET)
                hist.update(round(cycles / hz * 1e9))
        bufs.free()
    stats.log_info(f"{len(hist)} probes received")
    return hist
