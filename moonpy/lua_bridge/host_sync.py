"""Control-plane calls for the inter-task primitives of the Lua library
(slow pipes, namespaces, locks, barriers). Mixed into Host; state that must be
shared by every VM of a run lives on the run object (``self.run``).

Fast pipes and packet rings are DPDK rings used straight from Lua through the
fast path (no Python per message); only what is serialized lives here:

* slow pipes: FIFO queues of ``Message``s (moonpy.core.serialize), MPMC;
* namespaces: process-wide named maps of serialized values, each with a
  re-entrant lock that its ``forEach`` and ``ns.lock`` use (as libmoon does);
* locks: re-entrant, owned by the task (thread) that took them;
* barriers: ``n`` tasks meet; a barrier gives up once the run has stopped.

Every wait happens in Python with the GIL released (``Condition.wait``,
``RLock.acquire``, ``Queue.get`` with a timeout), in short slices so that a
stopped run is noticed.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

from moonpy import _dpdk
from moonpy.core.serialize import Message, Value, from_descriptor, pack_message, to_descriptor
from moonpy.errors import MoonpyError

if TYPE_CHECKING:
    from moonpy.lua_bridge.vm import LuaVM

_SLICE = 0.05  # seconds between checks of the run's stop flag while waiting
_CREATE_LOCK = threading.Lock()
_STATE_ATTR = "_moonpy_sync"  # the run-wide _SyncState, set on first use


class SyncError(MoonpyError):
    """A misuse of a pipe, namespace, lock or barrier (shown as a Lua error)."""


class _Barrier:
    """A reusable barrier for ``n`` parties (generation counted)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.generation = 0
        self.cond = threading.Condition()

    def wait(self) -> bool:
        with self.cond:
            gen = self.generation
            self.count += 1
            if self.count >= self.n:
                self.generation += 1
                self.count = 0
                self.cond.notify_all()
                return True
            while self.generation == gen:
                self.cond.wait(_SLICE)
                if self.generation == gen and not _dpdk.running():
                    self.count -= 1
                    return False
            return True

    def reinit(self, n: int) -> None:
        with self.cond:
            if self.count:
                raise SyncError(f"barrier:reinit({n}) while {self.count} task(s) wait on it")
            self.n = n


class _Namespace:
    def __init__(self, lock_id: int, lock: threading.RLock) -> None:
        self.lock_id = lock_id
        self.lock = lock
        self.values: dict[str, Value] = {}


class _SyncState:
    """Everything the primitives share within one run."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.next_id = 1
        self.pipes: dict[int, queue.SimpleQueue[Message]] = {}
        self.namespaces: dict[str, _Namespace] = {}
        self.locks: dict[int, threading.RLock] = {}
        self.barriers: dict[int, _Barrier] = {}

    def new_id(self) -> int:
        with self.guard:
            i = self.next_id
            self.next_id += 1
            return i


def _int(v: Any, what: str) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise SyncError(f"{what}: expected a whole number, got {v!r}")
    return v


def _text(v: Any) -> str:
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


class SyncHost:
    """Methods here are called from Lua as ``MOONPY_HOST.<name>(...)``."""

    # the run is only where the shared state hangs (an attribute set on first use)
    run: object
    vm: LuaVM | None

    # ---- state --------------------------------------------------------------

    def _sync(self) -> _SyncState:
        st = getattr(self.run, _STATE_ATTR, None)
        if st is None:
            with _CREATE_LOCK:
                st = getattr(self.run, _STATE_ATTR, None)
                if st is None:
                    st = _SyncState()
                    setattr(self.run, _STATE_ATTR, st)
        return st

    def _lua_value(self, value: Value) -> Any:
        assert self.vm is not None
        return self.vm.table(to_descriptor(value))

    # ---- slow pipes -----------------------------------------------------------

    def sync_pipe_new(self) -> int:
        st = self._sync()
        pid = st.new_id()
        with st.guard:
            st.pipes[pid] = queue.SimpleQueue()
        return pid

    def _pipe(self, pid: Any) -> queue.SimpleQueue[Message]:
        p = self._sync().pipes.get(_int(pid, "slow pipe"))
        if p is None:
            raise SyncError(f"slow pipe {pid} does not exist (deleted?)")
        return p

    def sync_pipe_send(self, pid: Any, descs: Any, n: Any) -> None:
        self._pipe(pid).put(pack_message(descs, _int(n, "slow pipe")))

    def sync_pipe_recv(self, pid: Any, timeout: Any) -> tuple:
        """Next message of the pipe as (descriptors, count), or (nil, 0) after ``timeout``
        seconds (0: do not wait)."""
        p = self._pipe(pid)
        try:
            t = float(timeout or 0)
            msg = p.get(timeout=t) if t > 0 else p.get_nowait()
        except queue.Empty:
            return None, 0
        assert self.vm is not None
        return self.vm.table([to_descriptor(v) for v in msg.values]), len(msg.values)

    def sync_pipe_count(self, pid: Any) -> int:
        return self._pipe(pid).qsize()

    def sync_pipe_clear(self, pid: Any) -> int:
        p = self._pipe(pid)
        n = 0
        while True:
            try:
                p.get_nowait()
            except queue.Empty:
                return n
            n += 1

    def sync_pipe_delete(self, pid: Any) -> None:
        st = self._sync()
        with st.guard:
            st.pipes.pop(_int(pid, "slow pipe"), None)

    # ---- namespaces ----------------------------------------------------------

    def _ns(self, name: Any) -> _Namespace:
        st = self._sync()
        key = _text(name)
        ns = st.namespaces.get(key)
        if ns is None:
            with st.guard:
                ns = st.namespaces.get(key)
                if ns is None:
                    lock = threading.RLock()
                    lock_id = st.next_id
                    st.next_id += 1
                    st.locks[lock_id] = lock
                    ns = _Namespace(lock_id, lock)
                    st.namespaces[key] = ns
        return ns

    def sync_ns_lock_id(self, name: Any) -> int:
        return self._ns(name).lock_id

    def sync_ns_get(self, name: Any, key: Any) -> Any:
        ns = self._ns(name)
        with ns.lock:
            v = ns.values.get(_text(key))
        return None if v is None else self._lua_value(v)

    def sync_ns_set(self, name: Any, key: Any, desc: Any) -> None:
        ns = self._ns(name)
        value = None if desc is None else from_descriptor(desc)
        with ns.lock:
            if value is None:
                ns.values.pop(_text(key), None)
            else:
                ns.values[_text(key)] = value

    def sync_ns_items(self, name: Any) -> tuple:
        """A snapshot of the namespace: ({ {key, descriptor}, ... }, count)."""
        ns = self._ns(name)
        with ns.lock:
            items = list(ns.values.items())
        assert self.vm is not None
        return self.vm.table([[k, to_descriptor(v)] for k, v in items]), len(items)

    # ---- locks -----------------------------------------------------------------

    def sync_lock_new(self) -> int:
        st = self._sync()
        lid = st.new_id()
        with st.guard:
            st.locks[lid] = threading.RLock()
        return lid

    def _lock(self, lid: Any) -> threading.RLock:
        lock = self._sync().locks.get(_int(lid, "lock"))
        if lock is None:
            raise SyncError(f"lock {lid} does not exist in this run")
        return lock

    def sync_lock_acquire(self, lid: Any, timeout: Any) -> bool:
        """Take the lock; ``timeout`` < 0 waits as long as it takes (in slices, GIL
        released), else up to ``timeout`` seconds."""
        lock = self._lock(lid)
        t = float(timeout)
        if t >= 0:
            return lock.acquire(timeout=t) if t > 0 else lock.acquire(blocking=False)
        while not lock.acquire(timeout=_SLICE):
            pass
        return True

    def sync_lock_release(self, lid: Any) -> bool:
        """False when the calling task does not hold the lock."""
        try:
            self._lock(lid).release()
        except RuntimeError:
            return False
        return True

    # ---- barriers ----------------------------------------------------------------

    def sync_barrier_new(self, n: Any) -> int:
        count = _int(n, "barrier")
        if count < 0:  # 0 as in libmoon: scripts make barrier:new(0), then reinit(n)
            raise SyncError(f"barrier:new({count}): the number of tasks cannot be negative")
        st = self._sync()
        bid = st.new_id()
        with st.guard:
            st.barriers[bid] = _Barrier(count)
        return bid

    def _barrier(self, bid: Any) -> _Barrier:
        b = self._sync().barriers.get(_int(bid, "barrier"))
        if b is None:
            raise SyncError(f"barrier {bid} does not exist in this run")
        return b

    def sync_barrier_wait(self, bid: Any) -> bool:
        """True when all tasks arrived; False when the run stopped while waiting."""
        return self._barrier(bid).wait()

    def sync_barrier_reinit(self, bid: Any, n: Any) -> None:
        count = _int(n, "barrier")
        if count < 0:  # 0 as in libmoon: scripts make barrier:new(0), then reinit(n)
            raise SyncError(f"barrier:reinit({count}): the number of tasks cannot be negative")
        self._barrier(bid).reinit(count)
