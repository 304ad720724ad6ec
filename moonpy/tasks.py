"""Python tasks: threads pinned to a core and registered with DPDK.

    def load(queue):
        while moonpy.running():
            ...

    def master(args):
        moonpy.start_task(load, dev.get_tx_queue(0))
        moonpy.wait_for_tasks()

A task is an OS thread pinned to its own core and registered with DPDK
(``rte_thread_register``: an lcore id, per-lcore mempool caches). Arguments are
passed as they are (same interpreter: no serialization). Batch operations
(``send``, ``recv``, the field engine) release the GIL, so tasks that spend
their time there run in parallel; Python code between batches takes the GIL
and runs one task at a time.

Cores: the first configured core belongs to the master and to shared tasks
(stats); every other core takes one worker task. More worker tasks than cores
go to the master's core, then share cores and yield to each other (taskcores.py).
"""

from __future__ import annotations

import math
import os
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moonpy import _dpdk, log
from moonpy.core.engine import dpdk_thread
from moonpy.core.taskcores import TaskRegistry, give_up
from moonpy.errors import ConfigError, MoonpyError, TaskError

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])
_PURELIB = os.path.abspath(sysconfig.get_paths()["purelib"])


@dataclass(eq=False)
class Task:
    """A running (or finished) task; ``wait()`` returns what its function returned."""

    id: int
    name: str
    core: int
    shared: bool
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    thread: threading.Thread | None = None
    result: Any = None
    error: BaseException | None = None
    exit_code: int | None = None
    done: threading.Event = field(default_factory=threading.Event)
    manager: TaskManager | None = None

    def wait(self) -> Any:
        """Wait for the task to end and return its result (``None`` if it failed
        or did not stop within the grace period after the run stopped)."""
        if self.manager:
            self.manager.report_placement()
        stopped: list[float] = []
        grace = self.manager.grace if self.manager else 3.0
        while not self.done.wait(0.05):
            if give_up(stopped, grace):
                return None
        return None if self.error else self.result

    def is_running(self) -> bool:
        return not self.done.is_set()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def __repr__(self) -> str:
        return f"[Task: id={self.id}, core={self.core}, fn={self.name}]"


class TaskManager(TaskRegistry[Task]):
    """Starts, tracks and joins the Python tasks of one run."""

    def __init__(
        self,
        cores: list[int],
        grace: float = 3.0,
        on_failure: Callable[[Task, BaseException], None] | None = None,
    ) -> None:
        super().__init__(cores, grace, _warn)
        self.on_failure = on_failure or _report_failure

    def start(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        *,
        shared: bool = False,
        core: int | None = None,
        name: str | None = None,
    ) -> Task:
        if not callable(fn):
            raise TaskError(f"start_task: the first argument must be a function, got {fn!r}")
        with self._lock:
            chosen = self.pick_core(shared, core)
            label = name or str(getattr(fn, "__name__", "task"))
            task = self.register(lambda id: Task(id, label, chosen, shared, fn, args, manager=self))
        task.thread = threading.Thread(
            target=self._run, args=(task,), name=f"task-{task.name}", daemon=True
        )
        task.thread.start()
        return task

    def _run(self, task: Task) -> None:
        try:
            with dpdk_thread(task.core):
                task.result = task.fn(*task.args)
        except SystemExit as e:
            task.exit_code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            _dpdk.stop()
        except BaseException as e:
            # as in libmoon: report it at once, give the task an empty result and let
            # the other tasks and the master go on; the exit status says it failed
            task.error = e
            self.on_failure(task, e)
        finally:
            task.done.set()


# ---- error reports: the script's frames only ----------------------------------------


def _warn(message: str) -> None:
    log.log_warn(message, file=sys.stderr)


def _is_user_frame(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_PKG_DIR + os.sep) or filename.startswith("<frozen"):
        return False
    return not (path.startswith(_STDLIB + os.sep) or path.startswith(_PURELIB + os.sep))


def _short_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback entries of the script (not moonpy's, not the standard library's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if _is_user_frame(f.filename)]


def where(exc: BaseException) -> str:
    """``file:line`` of the innermost script frame of ``exc`` (or ``""``)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_short_path(exc.filename)}:{exc.lineno}"
    frames = user_frames(exc)
    if not frames:
        return ""
    f = frames[-1]
    return f"{_short_path(f.filename)}:{f.lineno}"


def format_error(exc: BaseException, task: str = "master", color: bool = False) -> str:
    """The report of a failed script or task.

    moonpy's own errors (a wrong port, a bad field name, DPDK refusing
    something) are one line with the script's ``file:line``; other exceptions
    get a traceback of the script's frames.
    """
    head = f"[FATAL] Python error in task {task}"
    if color:
        head = f"\033[0;31m{head}\033[0m"
    if isinstance(exc, SyntaxError):
        return f"{head}\n{where(exc)}: {type(exc).__name__}: {exc.msg}"
    if isinstance(exc, (MoonpyError, _dpdk.DpdkError, ValueError, TypeError)) and (
        not user_frames(exc) or _raised_by_moonpy(exc)
    ):
        loc = where(exc)
        return f"{head}\n{loc + ': ' if loc else ''}{exc}"
    lines = ["Traceback (most recent call last; script frames only):"]
    frames = user_frames(exc) or traceback.extract_tb(exc.__traceback__)[-1:]
    for f in frames:
        lines.append(f'  File "{_short_path(f.filename)}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()}")
    lines.extend(traceback.format_exception_only(type(exc), exc)[-1:])
    return head + "\n" + "\n".join(line.rstrip("\n") for line in lines)


def _raised_by_moonpy(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is moonpy's (an API call that refused)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and not _is_user_frame(frames[-1].filename)


def _report_failure(task: Task, exc: BaseException) -> None:

    print(format_error(exc, task.name, log.COLOR), file=sys.stderr, flush=True)


# ---- the module-level API -----------------------------------------------------------

_manager: TaskManager | None = None


def install(manager: TaskManager | None) -> None:
    """Use ``manager`` for ``start_task`` & co. (``moonpy SCRIPT.py`` does this)."""
    global _manager
    _manager = manager


def manager() -> TaskManager:
    """The run's task manager; outside ``moonpy SCRIPT.py`` one is made for the
    running engine's cores."""
    global _manager
    if _manager is None:
        from moonpy.core import engine

        _manager = TaskManager(engine.current().cores)
    return _manager


def start_task(fn: Callable[..., Any], *args: Any, core: int | None = None) -> Task:
    """Run ``fn(*args)`` in a new task on a worker core (or on ``core``)."""
    return manager().start(fn, args, core=core)


def start_shared_task(fn: Callable[..., Any], *args: Any, name: str | None = None) -> Task:
    """Run ``fn(*args)`` on the master's core (stats, helpers that mostly sleep)."""
    return manager().start(fn, args, shared=True, name=name)


def wait_for_tasks() -> None:
    """Wait until every task has returned (MoonGen's ``waitForTasks``)."""
    manager().wait_all()


def running(extra: float = 0.0) -> bool:
    """Whether the run goes on; ``extra`` seconds past a stop still count as
    running (MoonGen's ``running(ms)`` takes milliseconds: this takes seconds).
    Reads one C flag: cheap enough for every batch."""
    return _dpdk.running(extra)


def stop() -> None:
    """Stop the run: every task's ``running()`` turns false."""
    _dpdk.stop()


def set_runtime(seconds: float) -> None:
    """Stop the run ``seconds`` from now."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"set_runtime({seconds!r}): give a number of seconds >= 0")
    _dpdk.set_runtime(seconds)
