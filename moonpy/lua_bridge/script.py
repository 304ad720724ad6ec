"""Running a MoonGen Lua script: the master VM in the main thread, tasks in
their own threads and VMs, and an end that tells the truth (exit code,
errors with file:line, counters finalised, buffers back in their pools)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from moonpy import _dpdk
from moonpy.app.report import failed_tasks_line
from moonpy.core.engine import Engine, queue_packets
from moonpy.core.serialize import Message, pack_message, to_descriptor
from moonpy.errors import ScriptError
from moonpy.lua_bridge.host import Host
from moonpy.lua_bridge.tasks import Task, TaskManager
from moonpy.lua_bridge.vm import LuaVM, ScriptExit

RED, RESET = "\033[0;31m", "\033[0m"


def write_lines(*lines: str) -> None:
    """Whole lines to stderr in one write: task threads print to the same terminal or
    pipe at the same time, and a line split between two writes can interleave with
    theirs (scripts' users parse the output)."""
    sys.stderr.write("".join(line + "\n" for line in lines))
    sys.stderr.flush()


class LuaRun:
    """One run of one script."""

    def __init__(
        self,
        engine: Engine,
        script: str,
        words: list[str],
        *,
        grace: float = 3.0,
        color: bool | None = None,
        on_port_configured: Callable[[int], None] | None = None,
        lua_globals: dict | None = None,
    ) -> None:
        self.engine = engine
        self.script = script
        self.words = words
        self.grace = grace
        self.color = sys.stderr.isatty() if color is None else color
        self.exit_request: int | None = None
        self.rates: dict[tuple[int, int], tuple[float, float]] = {}
        self.errors: list[ScriptError] = []
        self._port_hook = on_port_configured
        self.lua_globals = dict(lua_globals or {})
        # fed by the VMs for the live dashboard: name -> (mpps, mbit, total) and
        # id -> (samples, p50, p90, p99, max, low, high, 8 bucket counts)
        self.live_counters: dict[str, tuple] = {}
        self.live_histograms: dict[str, tuple] = {}
        self.task_queues: dict[int, set[tuple[int, int, str]]] = {}  # task id -> queues
        self.stuck: list[Task] = []
        self._kept_vms: list[LuaVM] = []
        self.tasks = TaskManager(
            engine.cores,
            engine.config.shared_cores,
            self._task_body,
            self._task_failed,
            self.warn,
            grace,
        )

    # ---- hooks ---------------------------------------------------------------

    def warn(self, text: str) -> None:
        line = f"\033[1;33m[WARN]  {text}\033[0m" if self.color else f"[WARN]  {text}"
        write_lines(line)

    def on_port_configured(self, port: int) -> None:
        if self._port_hook:
            self._port_hook(port)

    def report(self, err: ScriptError) -> None:
        head = f"[FATAL] Lua error in task {err.task}"
        if not err.details:
            # nothing of the script's in the stack: the message is all there is, one line
            line = f"{head}: {err}"
            write_lines(f"{RED}{line}{RESET}" if self.color else line)
            return
        lines = [f"{RED}{head}{RESET}" if self.color else head, str(err), err.details]
        write_lines(*lines)

    def _task_body(self, task: Task) -> Message | None:
        vm = LuaVM(
            Host(self),
            self.script,
            task.name,
            task.id,
            task.core,
            self.engine.cores,
            self.engine.config.shared_cores,
            self.lua_globals,
        )
        vm.load_script()
        descs = vm.table([to_descriptor(v) for v in task.args.values])
        packed, n, by_address = vm.call("task", task.name, descs, len(task.args.values))
        if by_address:
            # cdata of this VM crossed by address (its results, or what it passed on to
            # tasks it started): keep the VM, so that memory stays valid for the receivers
            self._kept_vms.append(vm)
        return pack_message(packed, int(n))

    def _task_failed(self, task: Task, err: ScriptError) -> None:
        if isinstance(err, ScriptExit):
            # os.exit in a task ends the whole process in MoonGen: end the run
            _dpdk.stop()
            return
        # As libmoon: the error is printed at once, the task's result is empty, and the
        # other tasks and the master go on; the exit status at the end says it failed.
        self.errors.append(err)
        self.report(err)

    def task_rows(self) -> list[tuple[str, int, str, str, int]]:
        """(name, core, kind, state, packets) of every task, for the dashboard; packets
        are those sent and received on the queues the task holds."""
        rows = []
        for t in list(self.tasks.tasks.values()):
            state = "failed" if t.error else ("done" if t.done.is_set() else "running")
            packets = queue_packets(self.task_queues.get(t.id, ()))
            rows.append((t.name, t.core, t.kind, state, packets))
        return rows

    # ---- the run -------------------------------------------------------------

    def run(self) -> int:
        """Run the script to its end; returns the process exit code."""
        master_error: ScriptError | None = None
        try:
            vm = LuaVM(
                Host(self),
                self.script,
                "master",
                0,
                self.engine.cores[0],
                self.engine.cores,
                self.engine.config.shared_cores,
                self.lua_globals,
            )
            vm.load_script()
            vm.call("master", self.script, vm.table(self.words), len(self.words))
        except ScriptExit:
            pass
        except ScriptError as e:
            master_error = e
            self.errors.append(e)
            self.report(e)
        finally:
            # the master returned (or died): every task ends with it, as in MoonGen
            _dpdk.stop()
        stuck = self.tasks.join(self.grace)
        if stuck:
            for t in stuck:
                err = ScriptError(
                    f"task '{t.name}' on core {t.core} did not stop within {self.grace:.0f} s "
                    "of the end of the run; its loop must check mg.running()",
                    task=t.name,
                )
                self.errors.append(err)
                self.report(err)
            self.stuck = stuck
        else:
            self.stuck = []
        failed = [e for e in self.errors if e.task and e.task != "master"]
        if failed:
            # the run went on past them (as in MoonGen): say once at the end, where the
            # exit status is read, which tasks failed
            write_lines(failed_tasks_line([str(e.task) for e in failed]))
        sig = _dpdk.signal_received()
        if sig:
            return 128 + sig
        if self.errors or master_error:
            return 1
        if self.exit_request is not None:
            return self.exit_request
        return 0
