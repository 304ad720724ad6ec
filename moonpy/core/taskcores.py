"""What Lua tasks (moonpy.lua_bridge.tasks) and Python tasks (moonpy.tasks) share: the
registry of a run's tasks, which core a new task gets, and how the master waits for
them once the run stops.

Cores: the first configured core belongs to the master and to shared tasks; every
other core takes one worker task. With more worker tasks than worker cores, the next
one goes to the master's core (the master mostly sleeps in waitForTasks), then to the
least loaded core. Tasks on a shared core yield to each other where they poll
(running(), an empty receive, busy sleeps, a send waiting for room: mp_fastpath.c's
coop_yield) instead of waiting for the kernel's time slices, so a sender and its
receiver on one core lose nothing at rates one core carries. When the master first
waits for its tasks, moonpy says in one line what runs where.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from moonpy import _dpdk


class TaskLike(Protocol):
    core: int
    name: str
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
        self._oversubscribed = False
        self._reported = False
        for c in cores:  # a new run: no core is shared yet
            _dpdk.core_share(c, False)

    def _running(self) -> list[T]:
        return [t for t in self.tasks.values() if not t.done.is_set()]

    def pick_core(self, shared: bool, core: int | None) -> int:
        """The master's core for a shared task, ``core`` when one is asked for, else a
        free worker core, else the master's core, else the least loaded core (called
        with the lock held). A core that gets a second task is marked shared."""
        if shared:
            return self.master_core
        running = self._running()
        if core is not None:
            busy = any(t.core == core and not t.shared for t in running)
            usable = set(self.workers) | {self.master_core}
            if not busy and core in usable:
                self._mark(core, running)
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
        load = {c: 0 for c in [*self.workers, self.master_core]}
        for t in running:
            if t.core in load and not t.shared:
                load[t.core] += 1
        free = [c for c in self.workers if load[c] == 0]
        if free:
            return free[0]
        self._oversubscribed = True
        if load[self.master_core] == 0:
            chosen = self.master_core  # the master sleeps while its tasks work
        else:
            chosen = min(load, key=lambda c: (load[c], c == self.master_core))
        self._mark(chosen, running)
        return chosen

    def _mark(self, core: int, running: list[T]) -> None:
        # a core is shared once a second worker task lands there. The master and shared
        # tasks (stats) on the master's core sleep between their short turns and the
        # kernel runs a waking sleeper at once; yielding to them would only hand the core
        # to other processes of a busy machine (measured: a lone task on the master's core
        # lost up to 95 % of its rate to sched_yield on a loaded 2-core VM)
        others = sum(1 for t in running if t.core == core and not t.shared)
        if others > 0:
            _dpdk.core_share(core, True)

    def report_placement(self) -> None:
        """Once per run, when the master first waits: one line saying which task runs on
        which core, if any core runs more than one (nothing to say otherwise)."""
        if self._reported or not self._oversubscribed:
            return
        self._reported = True
        by_core: dict[int, list[str]] = {}
        for t in self.tasks.values():
            if not t.shared:
                by_core.setdefault(t.core, []).append(t.name)
        parts = []
        for c in sorted(by_core, key=lambda c: (c == self.master_core, c)):
            where = f"core {c} (the master's)" if c == self.master_core else f"core {c}"
            parts.append(f"{where}: {', '.join(by_core[c])}")
        self.warn(
            f"more tasks than worker cores ({len(self.workers)} worker cores: "
            f"{self.workers or 'none'}): {'; '.join(parts)}; tasks sharing a core yield "
            "to each other where they poll (use --cores to give each task its own)"
        )

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
        self.report_placement()
        stopped: list[float] = []
        while True:
            pending = [t for t in list(self.tasks.values()) if not t.done.is_set()]
            if not pending or give_up(stopped, self.grace):
                return
            pending[0].done.wait(0.05)

    def join(self, grace: float) -> list[T]:
        """Wait up to ``grace`` seconds for every task; returns the stuck ones."""
        self.report_placement()
        deadline = time.monotonic() + grace
        for t in list(self.tasks.values()):
            t.done.wait(max(0.0, deadline - time.monotonic()))
        return [t for t in self.tasks.values() if not t.done.is_set()]

    def failures(self) -> list[T]:
        return [t for t in self.tasks.values() if t.failed]
