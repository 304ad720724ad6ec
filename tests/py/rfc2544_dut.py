"""moonpy.app.rfc2544 against a software device under test: ports 0<->1 and 2<->3 are cables,
a forwarding task 1 -> 2 (C's police_loop) passes at most RATE frames/s (a bucket of 128
frames, judged at the frames' departure TSC) and drops the rest. The search runs from 0
to 3. Prints the report as one JSON line."""

from __future__ import annotations

import json

import moonpy
from moonpy import _dpdk, device
from moonpy.app import rfc2544


def configure(parser):
    parser.add_argument("mode", choices=("binary", "mlr"))
    parser.add_argument("rate", type=float)
    parser.add_argument("stem")


def master(args):
    for p in range(4):
        device.config(port=p)
    device.wait_for_links()
    dut = moonpy.start_task(policer, args.rate)
    cfg = rfc2544.Rfc2544Config(
        tx=0, rx=3, sizes=(64,), mode=args.mode, min_rate=args.rate / 4, max_rate=args.rate * 2,
        resolution=0.05, trial=1.0, final_trial=1.0, rate_tolerance=0.1, retries=3,
        loss_curve=(0.25, 0.5, 0.75, 1.0), back_to_back=False, output=args.stem,
        search_max=120,
    )  # fmt: skip
    report = rfc2544.run(cfg)
    moonpy.stop()
    dut.wait()
    print(json.dumps(report))


def policer(rate: float) -> int:
    """The device under test: C's police_loop (judged at each frame's departure TSC, so its
    drops depend on the offered load and not on when this thread ran)."""
    return _dpdk.police_loop(1, 0, 2, 0, rate, 128.0, 42)
