"""Tasks: one OS thread per task, pinned to a core, registered with DPDK,
running its own LuaJIT VM (lupa releases the GIL while Lua runs, so tasks run
in parallel). Arguments and results cross as moonpy.core.serialize messages.

Which core a task gets and how the master waits for tasks: moonpy.core.taskcores,
shared with Python tasks. Shared tasks (stats, ARP, timers) run on the master's
core, at most ``shared_cores`` at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moonpy.core.engine import dpdk_thread
from moonpy.core.serialize import Message, message_roundtrip
from moonpy.core.taskcores import TaskRegistry, give_up
from moonpy.errors import ScriptError, TaskError


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

    @property
    def shared(self) -> bool:
        return self.kind == "shared"

    @property
    def failed(self) -> bool:
        return self.error is not None


class TaskManager(TaskRegistry[Task]):
    """Starts, tracks and joins the Lua tasks of one run."""

    def __init__(
        self,
        cores: list[int],
        shared_cores: int,
        body: Callable[[Task], Message | None],
        on_failure: Callable[[Task, ScriptError], None],
        warn: Callable[[str], None],
        grace: float = 3.0,
    ) -> None:
        super().__init__(cores, grace, warn)
        self.shared_limit = shared_cores
        self.body = body
        self.on_failure = on_failure

    def _pick_core(self, kind: str, core: int) -> int:
        if kind == "shared":
            shared = [t for t in self._running() if t.shared]
            if len(shared) >= self.shared_limit:
                raise TaskError(
                    f"all {self.shared_limit} shared task slots are busy; "
                    "raise shared_cores in the configuration"
                )
        return self.pick_core(kind == "shared", core if kind == "core" else None)

    def start(self, name: str, args: Message, kind: str = "worker", core: int = -1) -> Task:
        with self._lock:
            chosen = self._pick_core(kind, core)
            task = self.register(lambda id: Task(id, name, chosen, kind, message_roundtrip(args)))
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

    def wait(self, task_id: int) -> Message | None:
        task = self.get(task_id)
        self.report_placement()
        stopped: list[float] = []
        while not task.done.wait(0.05):
            if give_up(stopped, self.grace):
                return None
        return None if task.error else task.results
