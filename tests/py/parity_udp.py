"""The Python twin of tests/lua/parity_udp.lua (tests/test_parity.py): source
address and port increment per packet, exactly --count packets, then stop.
--mode engine uses the field engine, --mode loop a per-packet Python loop."""

from __future__ import annotations

import argparse

import moonpy
from moonpy import device, memory, stats
from moonpy.device import TxQueue
from moonpy.fieldengine import Increment, OffloadChecksums, Stream
from moonpy.packet import Packet
from moonpy.proto import UDP4

BASE_IP = 0x0A000001  # 10.0.0.1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tx_dev", type=int)
    parser.add_argument("-n", "--count", type=int, default=1008)
    parser.add_argument("-s", "--size", type=int, default=60)
    parser.add_argument("--mode", choices=("engine", "loop"), default="engine")


def master(args: argparse.Namespace) -> None:
    tx_dev = device.config(port=args.tx_dev, tx_queues=1)
    device.wait_for_links()
    stats.start_stats_task(tx_devices=[tx_dev])
    load = engine_load if args.mode == "engine" else loop_load
    moonpy.start_task(load, tx_dev.get_tx_queue(0), args.size, args.count)
    moonpy.wait_for_tasks()


def fields(queue: TxQueue, size: int) -> dict[str, object]:
    return {
        "length": size,
        "eth_src": queue,
        "eth_dst": "10:11:12:13:14:15",
        "ip4_dst": "10.1.0.1",
        "udp_dport": 319,
    }


def engine_load(queue: TxQueue, size: int, count: int) -> None:
    stream = Stream(
        UDP4.build(**fields(queue, size)),  # type: ignore[arg-type]
        vary=[Increment("ip4.src", BASE_IP, count=256), Increment("udp.sport", 1000, count=1000)],
        fix=[OffloadChecksums()],
    )
    queue.send_stream(stream, count=count)
    moonpy.stop()


def loop_load(queue: TxQueue, size: int, count: int) -> None:
    def init(pkt: Packet) -> None:
        pkt.fill("udp", **fields(queue, size))  # type: ignore[arg-type]

    pool = memory.create_mempool(init=init)
    bufs = pool.buf_array()
    sent = i = 0
    while sent < count and moonpy.running():
        bufs.alloc(size)
        for pkt in bufs:
            pkt.ip4.src = BASE_IP + i % 256
            pkt.udp.sport = 1000 + i % 1000
            i += 1
        bufs.offload_udp_checksums()
        sent += queue.send(bufs)
    moonpy.stop()
