"""Per-stream statistics through a software device under test.

Ports: two cables (0<->1, 2<->3). The generator sends N frames of each of 4 streams on 0;
the "DUT" forwards 1 -> 2 and, per stream, drops every 5th frame (stream 1), swaps frames
2 and 3 of every 10 (stream 2), duplicates every 7th (stream 3); 10 foreign frames, 3 short
ones and 5 with a stream id out of range follow. The receiver counts on 3 and keeps the raw
(TX TSC, RX TSC) of every frame as the reference. Prints one JSON line.
"""

from __future__ import annotations

import json
import struct
import time

import moonpy
from moonpy import device, memory
from moonpy.proto import UDP4
from moonpy.streams import StreamSet
from moonpy.timer import tsc_hz

OFF = 42
SIZE = 60


def configure(parser):
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("hdr", nargs="?", help="also write an HdrHistogram log file here")


def master(args):
    for p in range(4):
        device.config(port=p)
    device.wait_for_links()
    ss = StreamSet(4)
    rx = moonpy.start_shared_task(receiver, ss.id)
    dut = moonpy.start_task(forward)
    tx = moonpy.start_task(sender, ss.id, args.n)
    tx.wait()
    time.sleep(0.5)
    moonpy.stop()
    ref = rx.wait()
    dut.wait()
    out = {
        "streams": [r.as_dict() for r in ss.results()],
        "malformed": ss.malformed(),
        "ref": ref,
        "hist_buckets": len(ss.histogram(0)),
        "hdr": {r.stream: ss.hdr_log(r.stream) for r in ss.results()},
        "ts_source": ss.ts_source(),
        "hdr_file_streams": ss.write_hdr_log(args.hdr, 1.0) if args.hdr else None,
    }
    print(json.dumps(out))


def sender(set_id, n):
    ss = StreamSet.attach(set_id)
    q = device.get(0).get_tx_queue(0)
    q.set_rate_mpps(0.005)
    frame = UDP4.build(length=SIZE, eth_src=q, ip4_dst="10.0.0.2")
    pool = memory.create_mempool(n=1023, template=frame)
    bufs = pool.buf_array(10)
    for _ in range(n // 10):
        for s in range(4):
            bufs.alloc(SIZE)
            ss.stamp(bufs, s)
            q.send(bufs)
    # foreign and short frames are counted, never crash (a fresh pool: recycled buffers
    # keep the signature they were sent with)
    foreign = memory.create_mempool(n=63, template=frame).buf_array(10)
    foreign.alloc(SIZE)
    q.send(foreign)
    short = memory.create_mempool(n=63, template=frame[:50])
    sb = short.buf_array(3)
    sb.alloc(50)
    q.send(sb)
    # a signature with a stream id beyond the receiver's 4 streams (another set's stream 6)
    other = StreamSet(8)
    bad = memory.create_mempool(n=63, template=frame).buf_array(5)
    bad.alloc(SIZE)
    other.stamp(bad, 6)
    q.send(bad)
    other.free()
    return 0


def forward():
    rxq = device.get(1).get_rx_queue(0)
    txq = device.get(2).get_tx_queue(0)
    pool = memory.create_mempool(n=2047)
    inb = memory.buf_array(63)
    held = None
    while moonpy.running():
        n = rxq.try_recv(inb, 0.01)
        if n == 0:
            continue
        frames = [p.get_bytes() for p in inb]
        inb.free()
        out = []
        for f in frames:
            if len(f) >= OFF + 16 and f[OFF : OFF + 2] == b"PM":
                sid, seq = struct.unpack_from("<HI", f, OFF + 2)
                if sid == 1 and seq % 5 == 4:
                    continue
                if sid == 2 and seq % 10 == 2:
                    held = f
                    continue
                out.append(f)
                if sid == 2 and seq % 10 == 3 and held is not None:
                    out.append(held)
                    held = None
                if sid == 3 and seq % 7 == 0:
                    out.append(f)
            else:
                out.append(f)
        for i in range(0, len(out), 63):
            chunk = out[i : i + 63]
            ob = pool.buf_array(len(chunk))
            ob.alloc(SIZE)
            for p, f in zip(ob, chunk, strict=True):
                p.set_data(f)
            txq.send(ob)
    return 0


def receiver(set_id):
    ss = StreamSet.attach(set_id)
    rxq = device.get(3).get_rx_queue(0)
    bufs = memory.buf_array(63)
    lat = {}
    while moonpy.running():
        n = rxq.recv_with_timestamps(bufs, 0.01)
        if n == 0:
            continue
        ss.count(bufs, rx_timestamps=True)
        for p in bufs:
            f = p.get_bytes()
            if len(f) >= OFF + 16 and f[OFF : OFF + 2] == b"PM":
                sid = struct.unpack_from("<H", f, OFF + 2)[0]
                tx = struct.unpack_from("<Q", f, OFF + 8)[0]
                if sid < 4:
                    lat.setdefault(sid, []).append((p.udata64 - tx) * 1e9 / tsc_hz())
        bufs.free()
    return {str(k): v for k, v in lat.items()}
