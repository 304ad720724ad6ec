"""Tasks: one OS thread per task, pinned to a core, registered with DPDK,
running its own LuaJIT VM (lupa releases the GIL while Lua runs, so tasks run
in parallel). Arguments and results cross as moonpy.serialize messages.

Cores: the first configured core belongs to the master (and to shared tasks:
stats, ARP, timers); every other core takes one worker task. When there are
more worker tasks than cores, moonpy says so once and puts the extra task on
the least loaded worker core: it runs, but shares that core's time.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moonpy import _dpdk
from moonpy.engine import dpdk_thread
from moonpy.errors import ScriptError, TaskError
from moonpy.serialize import Message, message_roundtrip


@dataclass
class Task:
    id: int
    name: str
    core: int
    kind: str
    args: Message
    thread: threading.Thread | None = None
    results: Message | None = None
    error: ScriptError | None = None
    done: threading.Event = field(default_factory=threading.Event)
    started_at: float = field(default_factory=time.monotonic)


class TaskManager:
    """Starts, tracks and joins the tasks of one run."""

    def __init__(
        self,
        cores: list[int],
        shared_cores: int,
        body: Callable[[Task], Message | None],
        on_failure: Callable[[Task, ScriptError], None],
        warn: Callable[[str], None],
        grace: float = 3.0,
    ) -> None:
        self.grace = grace
        self.master_core = cores[0]
        self.workers = cores[1:]
        self.shared_limit = shared_cores
        self.body = body
        self.on_failure = on_failure
        self.warn = warn
        self.tasks: dict[int, Task] = {}
        self._lock = threading.Lock()
        self._next_id = 1
        self._warned_oversubscribe = False

    def _pick_core(self, kind: str, core: int) -> int:
        running = [t for t in self.tasks.values() if not t.done.is_set()]
        if kind == "shared":
            shared = [t for t in running if t.kind == "shared"]
            if len(shared) >= self.shared_limit:
                raise TaskError(
                    f"all {self.shared_limit} shared task slots are busy; "
                    "raise shared_cores in the configuration"
                )
            return self.master_core
        if kind == "core":
            if any(t.core == core and t.kind != "shared" for t in running):
                raise TaskError(f"requested core {core} is already in use")
            if core not in os.sched_getaffinity(0) | {self.master_core}:
                raise TaskError(
                    f"core {core} is not available; usable cores: {sorted(os.sched_getaffinity(0))}"
                )
            return core
        load = {c: 0 for c in self.workers}
        for t in running:
            if t.core in load and t.kind != "shared":
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

    def start(self, name: str, args: Message, kind: str = "worker", core: int = -1) -> Task:
        with self._lock:
            chosen = self._pick_core(kind, core)
            task = Task(self._next_id, name, chosen, kind, message_roundtrip(args))
            self._next_id += 1
            self.tasks[task.id] = task
        task.thread = threading.Thread(
            target=self._run, args=(task,), name=f"task-{name}", daemon=True
        )
        task.thread.start()
        return task

    def _run(self, task: Task) -> None:
        try:
            with dpdk_thread(task.core):
                task.results = self.body(task)
        except ScriptError as e:
            task.error = e
            self.on_failure(task, e)
        except BaseException as e:  # a bug in moonpy itself: still stop the run
            task.error = ScriptError(f"internal error in task {task.name}: {e!r}", task=task.name)
            self.on_failure(task, task.error)
        finally:
            task.done.set()

    def get(self, task_id: int) -> Task:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise TaskError(f"no task with id {task_id}") from None

    def _give_up(self, stopped_since: list[float]) -> bool:
        """After the run stopped, tasks get ``grace`` seconds; a task that never
        checks mg.running() must not hang the master forever."""
        if _dpdk.running():
            return False
        now = time.monotonic()
        if not stopped_since:
            stopped_since.append(now)
        return now - stopped_since[0] > self.grace

    def wait(self, task_id: int) -> Message | None:
        task = self.get(task_id)
        stopped: list[float] = []
        while not task.done.wait(0.05):
            if self._give_up(stopped):
                return None
        return None if task.error else task.results

    def wait_all(self) -> None:
        stopped: list[float] = []
        while True:
            pending = [t for t in list(self.tasks.values()) if not t.done.is_set()]
            if not pending or self._give_up(stopped):
                return
            pending[0].done.wait(0.05)

    def join(self, grace: float) -> list[Task]:
        """Wait up to ``grace`` seconds for every task; returns the stuck ones."""
        deadline = time.monotonic() + grace
        for t in list(self.tasks.values()):
            t.done.wait(max(0.0, deadline - time.monotonic()))
        return [t for t in self.tasks.values() if not t.done.is_set()]

    def failures(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.error is not None]


def eprint(*parts: str) -> None:
    print(*parts, file=sys.stderr, flush=True)
