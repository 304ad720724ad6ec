"""Running a Python-native script: ``moonpy SCRIPT.py [script arguments]``.

The same model as a MoonGen Lua script: ``configure(parser)`` declares the
script's arguments (a Python ``argparse.ArgumentParser``), ``master(args)``
configures devices and starts tasks (``moonpy.start_task``), and the run ends
truthfully: tasks stopped within the grace period, counters finalised, buffers
back in their pools, and an exit code (0 ok, 1 error, 128 + signal).

A script without ``configure`` gets its raw words as ``master(*words)``, with
numbers converted (``0x10`` -> 16), as MoonGen does.
"""

from __future__ import annotations

import _thread
import argparse
import importlib.util
import os
import sys
import threading
from types import ModuleType
from typing import Any

from moonpy import _dpdk, device, log, memory, tasks
from moonpy.app.report import report_leaks, run_meta
from moonpy.core.config import Config
from moonpy.core.engine import Engine, queue_packets
from moonpy.core.instances import remove_runtime_dir
from moonpy.log import failed_tasks_line

MODULE_NAME = "moonpy_script"


class _Done(Exception):
    """Leave the run early with an exit code (help printed, bad arguments)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def load_script(path: str) -> ModuleType:
    """Import the script as a module (``__name__`` is ``moonpy_script``, not
    ``__main__``); its directory goes first on ``sys.path``."""
    full = os.path.abspath(path)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, full)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    sys.path.insert(0, os.path.dirname(full))
    spec.loader.exec_module(module)
    return module


def convert_word(word: str) -> Any:
    """A raw script argument: numbers become numbers (``0x10``, ``1e3``), the rest stays."""
    try:
        return int(word, 0)
    except ValueError:
        pass
    try:
        return float(word)
    except ValueError:
        return word


def parse_arguments(module: ModuleType, path: str, words: list[str]) -> tuple[list[Any], bool]:
    """``([args], True)`` for ``master(args)`` or ``(words, False)`` for ``master(*words)``."""
    configure = getattr(module, "configure", None)
    if configure is None:
        return [convert_word(w) for w in words], False
    doc = (module.__doc__ or "").strip().split("\n\n")[0] or None
    parser = argparse.ArgumentParser(prog=f"moonpy {path}", description=doc, allow_abbrev=False)
    result = configure(parser)
    if isinstance(result, argparse.Namespace):
        return [result], True
    if isinstance(result, argparse.ArgumentParser):
        parser = result
    try:
        return [parser.parse_args(words)], True
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        raise _Done(0 if not e.code else 1) from None


def _report(exc: BaseException, task: str = "master", script: str = "") -> None:
    text = tasks.format_error(exc, task, log.COLOR)
    if script and not tasks.where(exc):
        head, _, rest = text.partition("\n")
        text = f"{head}\n{script}: {rest}"
    print(text, file=sys.stderr, flush=True)


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    return e.code if isinstance(e.code, int) else 1


def _interrupt_on_signal(done: threading.Event, patience: float = 1.0) -> None:
    """The C handler only sets the stop flag: a master that never checks
    moonpy.running() (a busy loop) would keep the run alive. If it has not returned
    ``patience`` s after SIGINT/SIGTERM, it is interrupted (SystemExit at its next
    bytecode, through the handler cli installed), so the run ends within 2 s."""
    while not done.wait(0.05):
        if _dpdk.signal_received():
            if done.wait(patience):
                return
            log.log_info(
                f"the master did not return within {patience:.0f} s of the signal: interrupting it",
                file=sys.stderr,
                color=False,
            )
            _thread.interrupt_main()
            return


def held_queues(args: tuple[Any, ...]) -> set[tuple[int, int, str]]:
    """The queues a Python task holds: those among its arguments (or in a list, tuple or
    dict argument), as a Lua task's are those it was handed."""
    found: set[tuple[int, int, str]] = set()
    for a in args:
        items = a.values() if isinstance(a, dict) else a if isinstance(a, list | tuple) else [a]
        for q in items:
            if isinstance(q, device.TxQueue | device.RxQueue):
                kind = "tx" if isinstance(q, device.TxQueue) else "rx"
                found.add((q.dev.dpdk_id, q.qid, kind))
    return found


def task_rows(manager: tasks.TaskManager) -> list[tuple[str, int, str, str, int]]:
    """(name, core, kind, state, packets) of every task, for the dashboard; packets are
    those sent and received on the queues the task was handed."""
    rows = []
    for t in list(manager.tasks.values()):
        state = "failed" if t.error else ("done" if t.done.is_set() else "running")
        packets = queue_packets(held_queues(t.args))
        rows.append((t.name, t.core, "shared" if t.shared else "task", state, packets))
    return rows


def make_console(
    opts: argparse.Namespace, cfg: Config, engine: Engine, manager: tasks.TaskManager
) -> Any:
    """The same console as a Lua script's (moonpy.console.dashboard.RunConsole): live dashboard on
    a terminal, plain lines otherwise, the summary and ``--output`` results."""
    from moonpy.console.dashboard import RunConsole

    return RunConsole(
        engine,
        title=" ".join([opts.target, *opts.args]),
        live=sys.stdout.isatty() and not opts.plain,
        output=opts.output,
        meta=run_meta(opts, cfg, engine),
        tasks=lambda: task_rows(manager),
    )


def run_python_script(opts: argparse.Namespace, cfg: Config) -> int:
    """Run ``opts.target`` with script arguments ``opts.args``; returns the exit code."""
    log.set_color(not opts.no_color)
    path = opts.target
    try:
        module = load_script(path)
        master = getattr(module, "master", None)
        if not callable(master):
            print(
                f"moonpy: error: {path} defines no master(args) function",
                file=sys.stderr,
                flush=True,
            )
            return 1
        call_args, _ = parse_arguments(module, path, list(opts.args))
    except _Done as d:
        return d.code
    except SystemExit as e:
        return _exit_code(e)
    except Exception as e:
        _report(e, script=path)
        return 1

    engine = Engine(cfg).start()
    _dpdk.install_signal_handlers()
    manager = tasks.TaskManager(engine.cores, grace=opts.grace)
    tasks.install(manager)
    console = make_console(opts, cfg, engine, manager)
    console.start()
    failed = False
    exit_request: int | None = None
    master_done = threading.Event()
    threading.Thread(
        target=_interrupt_on_signal, args=(master_done,), name="moonpy-sigwatch", daemon=True
    ).start()
    try:
        master(*call_args)
    except SystemExit as e:
        exit_request = _exit_code(e)
    except BaseException as e:
        failed = True
        _report(e, script=path)
    finally:
        master_done.set()
        # the master returned (or died): every task ends with it, as in MoonGen
        _dpdk.stop()
    stuck = manager.join(opts.grace)
    for t in stuck:
        print(
            f"[FATAL] task '{t.name}' on core {t.core} did not stop within {opts.grace:.0f} s "
            "of the end of the run; its loop must check moonpy.running()",
            file=sys.stderr,
            flush=True,
        )
    dead = manager.failures()
    if dead:
        print(failed_tasks_line([t.name for t in dead]), file=sys.stderr, flush=True)
    sig = _dpdk.signal_received()
    if sig:
        code = 128 + sig
    elif failed or stuck or dead:
        code = 1
    elif exit_request is not None:
        code = exit_request
    else:
        requests = [t.exit_code for t in manager.tasks.values() if t.exit_code is not None]
        code = requests[0] if requests else 0
    console.finish(code)
    sys.stdout.flush()
    if stuck:
        # a thread we cannot stop still uses DPDK: leave without tearing it down
        sys.stderr.flush()
        remove_runtime_dir()
        os._exit(code or 1)
    memory.free_all_arrays()
    tasks.install(None)

    leaks = engine.shutdown(reclaim=bool(failed or dead))
    return report_leaks(leaks, code, engine.reclaimed)
