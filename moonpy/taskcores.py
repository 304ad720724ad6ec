"""What Lua tasks (moonpy.lua_bridge.tasks) and Python tasks (moonpy.tasks) share: the
registry of a run's tasks, which core a new task gets, and how the master waits for
them once the run stops.

Cores: the first configured core belongs to the master and to shared tasks; every
other core takes one worker task. With more worker tasks than cores, moonpy says so
once and puts the extra task on the least loaded worker core: it runs, but shares
that core's time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from moonpy import _dpdk


class TaskLike(Protocol):
    core: int
    done: threading.Event

    @property
    def shared(self) -> bool: ...

    @property
    def failed(self) -> bool: ...


T = TypeVar("T", bound=TaskLike)


def give_up(stopped_since: list[float], grace: float) -> bool:
    """After the run stopped, tasks get ``grace`` seconds to leave their loops; a task
    that never checks running() must not hang the master forever. ``stopped_since``
    is the caller's memory of when it first saw the run stopped."""
    if _dpdk.running():
        return False
    now = time.monotonic()
    if not stopped_since:
        stopped_since.append(now)
    return now - stopped_since[0] > grace


class TaskRegistry(Generic[T]):
    """The tasks of one run, by id, and the cores they run on."""

    def __init__(self, cores: list[int], grace: float, warn: Callable[[str], None]) -> None:
        self.master_core = cores[0]
        self.workers = list(cores[1:])
        self.grace = grace
        self.warn = warn
        self.tasks: dict[int, T] = {}
        self._lock = threading.Lock()
        self._next_id = 1
        self._warned_oversubscribe = False

    def _running(self) -> list[T]:
        return [t for t in self.tasks.values() if not t.done.is_set()]

    def pick_core(self, shared: bool, core: int | None) -> int:
        """The master's core for a shared task, ``core`` when one is asked for, else
        the least loaded worker core (called with the lock held)."""
        if shared:
            return self.master_core
        running = self._running()
        if core is not None:
            busy = any(t.core == core and not t.shared for t in running)
            usable = set(self.workers) | {self.master_core}
            if not busy and core in usable:
                return core
            # Scripts pin tasks to the cores of the machine they were written on
            # (startTaskOnCore(5, ...)); on a smaller machine the task still runs, on
            # the least loaded core, and the user is told once where it went.
            why = "already in use" if busy else f"not one of moonpy's cores {sorted(usable)}"
            chosen = self._least_loaded(running)
            self.warn(f"startTaskOnCore: core {core} is {why}; the task runs on core {chosen}")
            return chosen
        return self._least_loaded(running)

    def _least_loaded(self, running: list[T]) -> int:
        load = {c: 0 for c in self.workers}
        for t in running:
            if t.core in load and not t.shared:
                load[t.core] += 1
        for c in self.workers:
            if load[c] == 0:
                return c
        candidates = self.workers or [self.master_core]
        chosen = min(candidates, key=lambda c: load.get(c, 0))
        if not self._warned_oversubscribe:
            self._warned_oversubscribe = True
            self.warn(
                f"more tasks than worker cores ({len(self.workers)} worker cores: "
                f"{self.workers or 'none'}); extra tasks share cores and get a share of "
                "their time. Use --cores to give moonpy more cores."
            )
        return chosen

    def register(self, make: Callable[[int], T]) -> T:
        """Add the task ``make(id)`` builds (called with the lock held, after
        pick_core) under the next id."""
        task = make(self._next_id)
        self._next_id += 1
        self.tasks[self._next_id - 1] = task
        return task

    def wait_all(self) -> None:
        """Wait for every task (those started meanwhile too); after the run stops,
        give up once the grace period has passed."""
        stopped: list[float] = []
        while True:
            pending = [t for t in list(self.tasks.values()) if not t.done.is_set()]
            if not pending or give_up(stopped, self.grace):
                return
            pending[0].done.wait(0.05)

    def join(self, grace: float) -> list[T]:
        """Wait up to ``grace`` seconds for every task; returns the stuck ones."""
        deadline = time.monotonic() + grace
        for t in list(self.tasks.values()):
            t.done.wait(max(0.0, deadline - time.monotonic()))
        return [t for t in self.tasks.values() if not t.done.is_set()]

    def failures(self) -> list[T]:
        return [t for t in self.tasks.values() if t.failed]
