"""A trial's two C loops on the cable 0 -> 1: StreamSet.send (alloc, stamp as streams
0..2 in turn, paced send) in a task, StreamSet.receive (RX TSC per burst, count, free) in
another, stopping `drain` s after the sender's end. Prints one JSON line."""

from __future__ import annotations

import json
import threading

import moonpy
from moonpy import _dpdk, device, memory
from moonpy.proto import UDP4
from moonpy.streams import StreamSet

SIZE = 60


def configure(parser):
    parser.add_argument("n", type=int)
    parser.add_argument("rate", type=float, help="frames/s (0: unpaced)")


def master(args):
    device.config(port=0)
    device.config(port=1)
    device.wait_for_links()
    ss = StreamSet(3)
    txq = device.get(0).get_tx_queue(0)
    if args.rate:
        txq.set_rate_mpps(args.rate / 1e6, size=SIZE)
        ss.stamp_departures(txq)
    pool = memory.create_mempool(n=4095, template=UDP4.build(length=SIZE, eth_src=txq))
    ready = threading.Event()
    rx = moonpy.start_shared_task(receiver, ss.id, ready)
    ready.wait(5)
    tx = moonpy.start_task(sender, ss.id, pool, args.n)
    sent, seconds, empty, rate = tx.wait()
    r = rx.wait()
    print(
        json.dumps(
            {
                "send": {"sent": sent, "seconds": seconds, "pool_empty": empty, "rate": rate},
                "recv": {"received": r.received, "counted": r.counted,
                         "preempted_share": r.preempted_share},
                "streams": [s.as_dict() for s in ss.results()],
                "set": ss.malformed(),
                "ts_source": ss.ts_source(),
                "rx_missed": device.get(1).get_stats().imissed,
                "pacer": _dpdk.pacer_report(0, 0),
            }
        )
    )  # fmt: skip


def sender(set_id, pool, n):
    ss = StreamSet.attach(set_id)
    st = ss.send(device.get(0).get_tx_queue(0), pool, n, SIZE, streams=3, drain=0.05)
    return st.sent, st.seconds, st.pool_empty, st.rate


def receiver(set_id, ready):
    ss = StreamSet.attach(set_id)
    ready.set()
    return ss.receive(device.get(1).get_rx_queue(0))
