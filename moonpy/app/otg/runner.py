"""The flows of an OTG configuration on this process's moonpy ports.

Each flow whose TX port is here gets its own TX queue and a task running
``_dpdk.flow_send_loop`` (template + field-engine program + per-stream signature, paced
in C); one task receives on every port's RX queue 0 and counts each frame by its signature
(``_dpdk.streams_rx_loop``): per-flow RX counts do not depend on which queue or port a
frame lands on. The engine runs as ``moonpy SCRIPT.py`` runs it (``Engine(cfg).start()``,
a task manager per run); a stop is the run's stop flag, cleared again
(``_dpdk.reset_lifecycle``) for the next start.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from moonpy import _dpdk, tasks
from moonpy.app.otg.errors import OtgError
from moonpy.app.otg.model import CRC, Conf, FlowConf
from moonpy.core.engine import Engine
from moonpy.log import log_warn

POOL_SIZE = 4095
CAPTURE_MAX = 100_000  # frames kept per capturing port
RATE_WINDOW = 1.0  # seconds the rates are measured over
SAMPLE_EVERY = 0.1
PoolKey = tuple[bytes, int, str, int]  # template, buffer size, ops, signature offset


@dataclass
class _Sample:
    t: float
    values: dict[str, tuple[int, int, int, int]]  # name -> (frames tx, rx, bytes tx, rx)


@dataclass
class _TxSlot:
    flow: FlowConf
    dpdk_port: int
    queue: int
    pool: Any
    prog: Any
    post: Any
    refresh: bool = False  # write the template into each buffer before sending
    task: tasks.Task | None = None
    base: tuple[int, int] = (0, 0)  # the queue's (frames, bytes) at the start


@dataclass
class _Capture:
    frames: list[bytes] = field(default_factory=list)
    started: bool = False
    kept: list[bytes] = field(default_factory=list)


class LocalFlows:
    """Flows of one configuration on this server's ports (those with a local port id)."""

    def __init__(self, engine: Engine, grace: float = 2.0) -> None:
        self.engine = engine
        self.grace = grace
        self.lock = threading.RLock()
        self.conf: Conf | None = None
        self.set_id = -1
        self.slots: dict[str, _TxSlot] = {}
        self.manager: tasks.TaskManager | None = None
        self.rx_task: tasks.Task | None = None
        self.captures: dict[int, _Capture] = {}
        self.port_base: dict[int, tuple[int, int, int, int]] = {}
        self.pools: dict[PoolKey, tuple[Any, bool]] = {}
        self.warned = False
        self.history: deque[_Sample] = deque(maxlen=int(4 * RATE_WINDOW / SAMPLE_EVERY))
        for port in engine.ports:
            if not port.configured:
                # one TX queue per flow, RX on queue 0 only (where a NIC without filters
                # puts everything)
                engine.configure_port(port.id, rx_queues=1, tx_queues=port.max_tx_queues)
        threading.Thread(target=self._sampler, name="otg-sampler", daemon=True).start()

    # ---- configuration ------------------------------------------------------------------

    def ports(self) -> list[int]:
        return [p.id for p in self.engine.ports]

    def load(self, conf: Conf) -> None:
        """Stop what runs and prepare ``conf``'s flows (those sent from a local port)."""
        with self.lock:
            self._stop_all()
            per_port: dict[int, int] = {}
            slots: dict[str, _TxSlot] = {}
            in_use: set[PoolKey] = set()
            for f in conf.flows:
                pc = conf.ports[f.tx]
                if pc.local is None:
                    continue
                port = self._port(pc.local, f"flow {f.name!r} (tx port {f.tx!r})")
                q = per_port.get(port.id, 0)
                if q >= port.tx_queues:
                    raise OtgError(
                        f"config.flows[{f.index}]: moonpy port {port.id} ({port.describe()}) "
                        f"has {port.tx_queues} TX queues, one per flow; start moonpy serve "
                        "with more (--port cable,queues=16) or use fewer flows on it"
                    )
                per_port[port.id] = q + 1
                pool, refresh = self._pool(f, conf.offset, in_use)
                slots[f.name] = self._slot(f, port.dpdk_id, q, pool, refresh)
            for pc in conf.ports.values():
                if pc.local is not None:
                    self._port(pc.local, f"port {pc.name!r}")
            if self.set_id >= 0:
                _dpdk.streams_free(self.set_id)
            self.set_id = _dpdk.streams_create(max(1, len(conf.flows)))
            self.conf, self.slots = conf, slots
            self.captures = {
                self.engine.port(conf.ports[n].local).dpdk_id: _Capture()  # type: ignore[arg-type]
                for n in conf.captures
                if conf.ports[n].local is not None
            }
            self._restart_rx()

    def _port(self, pid: int, what: str) -> Any:
        if not 0 <= pid < len(self.engine.ports):
            raise OtgError(f"{what}: this moonpy serve has no port {pid} (it has "
                           f"{self.engine.valid_ports()})")  # fmt: skip
        return self.engine.port(pid)

    def _pool(self, f: FlowConf, offset: int, in_use: set[PoolKey]) -> tuple[Any, bool]:
        """A pool whose every buffer holds what ``f``'s frames start from (its template as
        the ops, checksums and signature of earlier sends left it), and whether the send
        loop must write the template into each buffer first. Pools are kept (keyed by all
        of that) for the same flow in a later configuration; when DPDK's memory is full, a
        kept pool none of ``in_use`` needs is taken over: its buffers (some may sit in a
        task's mempool cache, out of reach here) get the template as they are sent."""
        buf = 2048 if f.pkt_len <= 2048 else 9216 + 128
        key = (f.packet.template, buf, repr((f.packet.ops, f.packet.post)),
               offset if f.metrics else -1)  # fmt: skip
        in_use.add(key)
        entry = self.pools.pop(key, None)
        if entry is None:
            try:
                pool = _dpdk.create_mempool(n=POOL_SIZE, buf_size=buf)
                _dpdk.pool_write_template(pool, f.packet.template, len(f.packet.template))
                entry = (pool, False)
            except _dpdk.DpdkError:
                entry = (self._take_over(key, in_use), True)
        self.pools[key] = entry  # the most recently used last
        return entry

    def _take_over(self, key: PoolKey, in_use: set[PoolKey]) -> Any:
        for old_key, (old, _) in list(self.pools.items()):
            if old_key not in in_use and old_key[1] == key[1]:
                del self.pools[old_key]
                return old
        raise OtgError(
            f"DPDK's memory holds no pool for another flow ({len(self.pools)} kept for "
            "earlier flows); start moonpy serve with more --memory",
            code=500, kind="internal",
        )  # fmt: skip

    def _slot(self, f: FlowConf, dpdk_port: int, q: int, pool: Any, refresh: bool) -> _TxSlot:
        sizes = None
        if f.sizes is not None:
            sizes = b"".join(s.to_bytes(2, "little") for s in f.sizes.table())
        rnd = bool(f.sizes and f.sizes.random)
        prog = _dpdk.FieldProgram(list(f.packet.ops), sizes, rnd, 0x9E3779B97F4A7C15 + f.index)
        post = _dpdk.FieldProgram(list(f.packet.post), None, False, 1) if f.packet.post else None
        return _TxSlot(f, dpdk_port, q, pool, prog, post, refresh)

    # ---- running --------------------------------------------------------------------------

    def _new_run(self) -> None:
        _dpdk.reset_lifecycle()
        self.manager = tasks.TaskManager(self.engine.cores, grace=self.grace)
        # which flow runs on which core is the server's own business, said once at most
        self.manager.warn = self._warn_once

    def _warn_once(self, message: str) -> None:
        if not self.warned:
            self.warned = True
            log_warn(message, file=sys.stderr)

    def _restart_rx(self) -> None:
        self._new_run()
        assert self.manager is not None and self.conf is not None
        # the configuration's ports here (a null port's RX side yields endless empty frames)
        ids = {self.engine.port(pc.local).dpdk_id for pc in self.conf.ports.values()
               if pc.local is not None and self.engine.port(pc.local).kind != "null"}  # fmt: skip
        queues = [(pid, 0) for pid in sorted(ids)]
        if not queues:
            self.rx_task = None
            return
        capture = {pid: c.frames for pid, c in self.captures.items()} or None
        self.rx_task = self.manager.start(
            _dpdk.streams_rx_loop,
            (self.set_id, queues, self.conf.offset, True, capture, CAPTURE_MAX),
            name="otg-rx",
        )

    def _stop_all(self) -> None:
        if self.manager is None:
            return
        _dpdk.stop()
        stuck = self.manager.join(self.grace)
        if stuck:
            raise OtgError(f"tasks {[t.name for t in stuck]} did not stop", code=500,
                           kind="internal")  # fmt: skip
        self.manager = None
        self.rx_task = None
        for s in self.slots.values():
            s.task = None

    def arm(self, names: list[str]) -> None:
        """Before any server sends: stop what runs, counters from zero, RX on."""
        with self.lock:
            self._check_names(names)
            self._stop_all()
            _dpdk.streams_reset(self.set_id)
            self._restart_rx()
            self.port_base = {p.dpdk_id: self._port_counts(p.id) for p in self.engine.ports}
            self.history.clear()
            for s in self.slots.values():
                txq = _dpdk.port_sw_stats(s.dpdk_port, s.queue + 1)["txq"][s.queue]
                s.base = (txq[0], txq[1])

    def go(self, names: list[str]) -> None:
        """Start sending the named flows sent from here (all with ``[]``)."""
        with self.lock:
            conf = self._check_names(names)
            if self.manager is None:
                raise OtgError("traffic was not armed", code=500, kind="internal")
            for name, s in self.slots.items():
                if names and name not in names:
                    continue
                s.task = self.manager.start(_send, (s, self.set_id, conf.offset), name=name)

    def _check_names(self, names: list[str]) -> Conf:
        conf = self._conf()
        unknown = [n for n in names if n not in {f.name for f in conf.flows}]
        if unknown:
            raise OtgError(f"control_state.traffic.flow_transmit.flow_names: no flows "
                           f"named {unknown}")  # fmt: skip
        return conf

    def stop(self, names: list[str]) -> None:
        with self.lock:
            conf = self._conf()
            if names and set(names) != {f.name for f in conf.flows}:
                raise OtgError(
                    "control_state.traffic.flow_transmit: moonpy serve stops all flows at "
                    "once; give no flow_names (or all of them)"
                )
            self._stop_all()
            # frames still on their way are counted: RX goes on
            self._restart_rx()

    def capture(self, names: list[str], start: bool) -> None:
        with self.lock:
            conf = self._conf()
            for n in names or list(conf.captures):
                if n not in conf.captures:
                    raise OtgError(f"control_state.port.capture.port_names: port {n!r} has no "
                                   "capture in config.captures")  # fmt: skip
                pc = conf.ports[n]
                if pc.local is None:
                    continue
                c = self.captures[self.engine.port(pc.local).dpdk_id]
                if start:
                    c.frames.clear()  # the RX task appends to this list
                    c.kept, c.started = [], True
                elif c.started:
                    c.kept, c.started = list(c.frames), False

    def captured(self, name: str) -> list[bytes]:
        with self.lock:
            conf = self._conf()
            pc = conf.ports.get(name)
            if pc is None or name not in conf.captures or pc.local is None:
                raise OtgError(f"capture_request.port_name: no capture on port {name!r} here")
            c = self.captures[self.engine.port(pc.local).dpdk_id]
            return list(c.frames) if c.started else c.kept

    def _conf(self) -> Conf:
        if self.conf is None:
            raise OtgError("no configuration: set_config first")
        return self.conf

    # ---- counters ---------------------------------------------------------------------------

    def _port_counts(self, pid: int) -> tuple[int, int, int, int]:
        c = self.engine.counters(pid)
        rx = c.ipackets + c.imissed
        return (c.opackets, rx, c.obytes + CRC * c.opackets, c.ibytes + c.imissed_bytes + CRC * rx)

    def _flow_counts(self) -> dict[str, tuple[int, int, int, int]]:
        out: dict[str, tuple[int, int, int, int]] = {}
        conf = self.conf
        if conf is None:
            return out
        for f in conf.flows:
            s = self.slots.get(f.name)
            tx = txb = 0
            if s is not None:
                pkts, byts = _dpdk.port_sw_stats(s.dpdk_port, s.queue + 1)["txq"][s.queue][:2]
                tx, txb = pkts - s.base[0], byts - s.base[1] + CRC * (pkts - s.base[0])
            r = _dpdk.streams_read(self.set_id, f.index)
            out[f.name] = (tx, r["rx_pkts"], txb, r["rx_bytes"] + CRC * r["rx_pkts"])
        return out

    def _sampler(self) -> None:
        while True:
            time.sleep(SAMPLE_EVERY)
            try:
                with self.lock:
                    values = self._flow_counts()
                    for p in self.engine.ports:
                        values[f"port:{p.id}"] = self._port_delta(p.id)
                    self.history.append(_Sample(time.monotonic(), values))
            except Exception:  # the engine is shutting down
                return

    def _port_delta(self, pid: int) -> tuple[int, int, int, int]:
        now = self._port_counts(pid)
        base = self.port_base.get(self.engine.port(pid).dpdk_id, (0, 0, 0, 0))
        return (now[0] - base[0], now[1] - base[1], now[2] - base[2], now[3] - base[3])

    def _rates(self, key: str) -> tuple[float, float, float, float]:
        h = list(self.history)
        if len(h) < 2:
            return (0.0, 0.0, 0.0, 0.0)
        last = h[-1]
        first = next((s for s in h if last.t - s.t <= RATE_WINDOW), h[0])
        dt = last.t - first.t
        a, b = first.values.get(key), last.values.get(key)
        if not dt or a is None or b is None:
            return (0.0, 0.0, 0.0, 0.0)
        return tuple((y - x) / dt for x, y in zip(a, b, strict=True))  # type: ignore[return-value]

    def flow_metrics(self) -> list[dict[str, Any]]:
        """Raw per-flow numbers of this server (tx for flows sent here, rx for all)."""
        with self.lock:
            conf = self._conf()
            counts = self._flow_counts()
            out = []
            for f in conf.flows:
                tx, rx, txb, rxb = counts[f.name]
                rtx, rrx, _, _ = self._rates(f.name)
                s = self.slots.get(f.name)
                r = _dpdk.streams_read(self.set_id, f.index)
                m: dict[str, Any] = {
                    "name": f.name, "local_tx": s is not None,
                    "transmit": "started" if s and s.task and not s.task.done.is_set()
                    else "stopped",
                    "frames_tx": tx, "frames_rx": rx, "bytes_tx": txb, "bytes_rx": rxb,
                    "frames_tx_rate": rtx, "frames_rx_rate": rrx,
                }  # fmt: skip
                if r["lat_count"]:
                    m["latency"] = {
                        "minimum_ns": float(r["lat_min_ns"]),
                        "maximum_ns": float(r["lat_max_ns"]),
                        "average_ns": r["lat_sum_ns"] / r["lat_count"],
                    }
                out.append(m)
            return out

    def port_metrics(self) -> list[dict[str, Any]]:
        with self.lock:
            conf = self._conf()
            out = []
            for pc in conf.ports.values():
                if pc.local is None:
                    continue
                port = self.engine.port(pc.local)
                tx, rx, txb, rxb = self._port_delta(port.id)
                rtx, rrx, rbtx, rbrx = self._rates(f"port:{port.id}")
                sending = any(
                    s.task and not s.task.done.is_set() and s.dpdk_port == port.dpdk_id
                    for s in self.slots.values()
                )
                cap = self.captures.get(port.dpdk_id)
                m = {
                    "name": pc.name, "location": pc.location,
                    "link": "up" if self.engine.link(port.id)[0] else "down",
                    "frames_tx": tx, "frames_rx": rx, "bytes_tx": txb, "bytes_rx": rxb,
                    "frames_tx_rate": rtx, "frames_rx_rate": rrx, "bytes_tx_rate": rbtx,
                    "bytes_rx_rate": rbrx, "transmit": "started" if sending else "stopped",
                }  # fmt: skip
                if cap is not None:
                    m["capture"] = "started" if cap.started else "stopped"
                out.append(m)
            return out

    def close(self) -> None:
        with self.lock:
            try:
                self._stop_all()
            except OtgError:
                pass


def _send(s: _TxSlot, set_id: int, offset: int) -> int:
    f = s.flow
    if f.delay:
        time.sleep(f.delay)
    sig = set_id if f.metrics else -1
    # bursts short enough to leave about when they are due (paced here per burst)
    rate = f.pps or f.bps / ((f.avg_size + f.overhead - CRC) * 8)
    batch = max(1, min(63, int(rate * 20e-6)))
    sent = _dpdk.flow_send_loop(
        s.dpdk_port, s.queue, s.pool, s.prog, s.post, f.pkt_len, sig, f.index, offset,
        f.packets, f.seconds, f.pps, f.bps, f.overhead, batch,
        f.packet.template if s.refresh else None,
    )  # fmt: skip
    return sent  # type: ignore[no-any-return]
