"""MOONPY_HOST: the control-plane functions a Lua VM may call (device set-up,
mempools, tasks, counters). Each call takes the GIL, so none of them belongs in
a per-packet or per-burst loop; the Lua library only calls them at set-up,
once per stats interval, or when a task starts or ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from moonpy import _dpdk
from moonpy.core.serialize import Message, pack_message, to_descriptor
from moonpy.errors import ConfigError
from moonpy.lua_bridge.host_sync import SyncHost

if TYPE_CHECKING:
    from moonpy.core.engine import Engine
    from moonpy.lua_bridge.tasks import LuaTaskManager
    from moonpy.lua_bridge.vm import LuaVM


class LuaRun(Protocol):
    """What a VM's host calls need of the run (moonpy.lua_bridge.script.LuaRun has it):
    a protocol here, so the host layer does not import the runner that builds it."""

    engine: Engine
    tasks: LuaTaskManager
    rates: dict[tuple[int, int], tuple[float, float]]
    task_queues: dict[int, set[tuple[int, int, str]]]
    live_counters: dict[str, tuple]
    live_histograms: dict[str, tuple]
    exit_request: int | None

    def on_port_configured(self, port: int) -> None: ...


def _int(v: Any) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"expected a whole number, got {v!r}")
    return v


class Host(SyncHost):
    """One per VM: knows the run (engine, tasks) and its own Lua runtime.

    Inter-task primitives (pipes, namespaces, locks, barriers) live in SyncHost."""

    run: LuaRun

    def __init__(self, run: LuaRun) -> None:
        self.run = run
        self.engine = run.engine
        self.vm: LuaVM | None = None

    def bind(self, vm: LuaVM) -> None:
        self.vm = vm

    # ---- devices ----------------------------------------------------------

    def num_devices(self) -> int:
        return len(self.engine.ports)

    def device_info(self, port: Any) -> tuple:
        p = self.engine.port(_int(port))
        mac = ":".join(f"{b:02x}" for b in self.engine.mac(p.id))
        return p.kind, p.dpdk_id, p.configured, p.rx_queues, p.tx_queues, mac, p.driver

    def device_dev_info(self, port: Any) -> tuple:
        """(driver, max rx queues, max tx queues, rx and tx offload capabilities)."""
        p = self.engine.port(_int(port))
        info = _dpdk.port_info(p.dpdk_id)
        return (
            info["driver"],
            p.max_rx_queues,
            p.max_tx_queues,
            info["rx_offload_capa"],
            info["tx_offload_capa"],
        )

    def configure_device(
        self,
        port: Any,
        rxq: Any,
        txq: Any,
        rxd: Any,
        txd: Any,
        num_bufs: Any,
        buf_size: Any,
        pools: Any,
        rss_queues: Any = 0,
        rss_base: Any = 0,
        rss_types: Any = None,
        drop_enable: Any = True,
    ) -> bool:
        mempools = None
        if pools is not None:
            mempools = [_dpdk.mempool_by_address(_int(pools[i])) for i in range(1, len(pools) + 1)]
        _, new = self.engine.configure_port(
            _int(port),
            rx_queues=_int(rxq),
            tx_queues=_int(txq),
            rx_descs=_int(rxd),
            tx_descs=_int(txd),
            num_bufs=_int(num_bufs),
            buf_size=_int(buf_size),
            mempools=mempools,
            rss_queues=_int(rss_queues or 0),
            rss_base=_int(rss_base or 0),
            rss_types=None if rss_types is None else _int(rss_types),
            drop_enable=drop_enable is not False,
        )
        if new:
            self.run.on_port_configured(_int(port))
        return new

    def device_stats(self, port: Any) -> tuple:
        c = self.engine.counters(_int(port))
        return (
            c.ipackets,
            c.opackets,
            c.ibytes,
            c.obytes,
            c.imissed,
            c.ierrors,
            c.oerrors,
            c.rx_nombuf,
            c.imissed_bytes,
        )

    def device_queue_stats(self, port: Any) -> Any:
        """Per-queue {rx packets, tx packets, rx bytes, tx bytes} for queues 0..15."""
        assert self.vm is not None
        sw = _dpdk.port_sw_stats(self.engine.port(_int(port)).dpdk_id)
        rows = [[r[0], t[0], r[1], t[1]] for t, r in zip(sw["txq"], sw["rxq"], strict=True)]
        return self.vm.table(rows)

    def device_xstats(self, port: Any) -> Any:
        assert self.vm is not None
        return self.vm.table(_dpdk.port_xstats(self.engine.port(_int(port)).dpdk_id))

    def link(self, port: Any) -> tuple:
        return self.engine.link(_int(port))

    def set_rss_queues(self, port: Any, n: Any, base: Any) -> None:
        self.engine.set_rss(_int(port), _int(n), _int(base or 0))

    def add_filter(self, port: Any, kind: Any, queue: Any, *values: Any) -> None:
        """A NIC filter on ``port`` (the Lua filter module): frames it receives that match
        go to RX queue ``queue`` (-1: dropped)."""
        self.engine.add_filter(_int(port), str(kind), _int(queue), [_int(v) for v in values])

    def filters(self, port: Any) -> str:
        return self.engine.describe_filters(_int(port))

    def set_promisc(self, port: Any, on: bool) -> None:
        _dpdk.port_set_promisc(self.engine.port(_int(port)).dpdk_id, bool(on))

    def set_queue_rate(self, port: Any, queue: Any, mbit: float, mpps: float) -> None:
        p = self.engine.port(_int(port))
        _dpdk.set_queue_rate(p.dpdk_id, _int(queue), float(mbit or 0), float(mpps or 0))
        self.run.rates[(p.id, _int(queue))] = (float(mbit or 0), float(mpps or 0))

    # ---- memory ------------------------------------------------------------

    def create_mempool(self, n: Any, buf_size: Any, socket: Any) -> int:
        return _dpdk.create_mempool(n=_int(n), buf_size=_int(buf_size)).address

    def mempool_avail(self, addr: Any) -> int:
        return _dpdk.mempool_by_address(_int(addr)).avail

    def create_ring(self, size: Any) -> int:
        return _dpdk.create_ring(_int(size))

    # ---- tasks --------------------------------------------------------------

    def start_task(self, name: Any, descs: Any, n: Any, kind: Any, core: Any) -> tuple:
        msg = pack_message(descs, _int(n))
        task = self.run.tasks.start(_text(name), msg, _text(kind), _int(core))
        return task.id, task.core

    def wait_task(self, task_id: Any) -> tuple:
        msg = self.run.tasks.wait(_int(task_id))
        return self.message_to_lua(msg)

    def task_running(self, task_id: Any) -> bool:
        return not self.run.tasks.get(_int(task_id)).done.is_set()

    def wait_for_tasks(self) -> None:
        self.run.tasks.wait_all()

    def message_to_lua(self, msg: Message | None) -> tuple:
        if msg is None:
            return None, 0
        assert self.vm is not None
        return self.vm.table([to_descriptor(v) for v in msg.values]), len(msg.values)

    # ---- live dashboard feeds (about once a second each) ------------------------

    def note_queue(self, task_id: Any, port: Any, queue: Any, direction: Any) -> None:
        """A task holds this queue: its packets count for the task on the dashboard."""
        p = self.engine.port(_int(port))
        self.run.task_queues.setdefault(_int(task_id), set()).add(
            (p.dpdk_id, _int(queue), _text(direction))
        )

    def counter_report(self, name: Any, direction: Any, mpps: Any, mbit: Any, total: Any) -> None:
        self.run.live_counters[f"{_text(name)} {_text(direction).upper()}"] = (
            float(mpps),
            float(mbit),
            int(total),
        )

    def hist_report(
        self,
        hid: Any,
        n: Any,
        p50: Any,
        p90: Any,
        p99: Any,
        pmax: Any,
        lo: Any,
        hi: Any,
        buckets: Any,
    ) -> None:
        counts = [int(buckets[i]) for i in range(1, 9)]
        self.run.live_histograms[_text(hid)] = (
            int(n),
            float(p50),
            float(p90),
            float(p99),
            float(pmax),
            float(lo),
            float(hi),
            counts,
        )

    # ---- lifecycle ----------------------------------------------------------

    def request_exit(self, code: Any) -> None:
        self.run.exit_request = int(code) if isinstance(code, (int, float)) else 1

    def sleep(self, seconds: float) -> None:
        time.sleep(float(seconds))


def _text(v: Any) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)
