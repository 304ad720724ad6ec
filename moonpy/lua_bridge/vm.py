"""One LuaJIT VM: the globals moonpy injects, the library on package.path,
and calls into it that turn Lua errors into ScriptError with file:line.

Hot-loop rule: code running in a VM must not call Python per packet or per
burst. Python objects reached from Lua (MOONPY_HOST) are control plane only:
each call takes the GIL.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from moonpy import _dpdk
from moonpy.errors import ScriptError
from moonpy.lua_bridge import require_luajit

LUA_DIR = str(resources.files("moonpy") / "lua")
_EXIT_MARKER = "__MOONPY_EXIT__"


def api_cdef() -> str:
    """The preprocessor-free region of csrc/mp_api.h, for ffi.cdef."""
    text = (resources.files("moonpy") / "csrc" / "mp_api.h").read_text()
    start = text.index("/* MP_CDEF_BEGIN */") + len("/* MP_CDEF_BEGIN */")
    return text[start : text.index("/* MP_CDEF_END */")]


def mbuf_cdef(layout: dict[str, tuple[int, int, str]]) -> str:
    """A ``struct rte_mbuf`` with the installed DPDK's offsets and padding between."""
    fields = sorted(
        (off, size, ctype, name)
        for name, (off, size, ctype) in layout.items()
        if name != "__size__"
    )
    lines, pos = [], 0
    for i, (off, size, ctype, name) in enumerate(fields):
        if off < pos:
            raise RuntimeError(f"mbuf field {name} overlaps the previous one")
        if off > pos:
            lines.append(f"uint8_t _pad{i}[{off - pos}];")
        lines.append(f"{ctype} {name};")
        pos = off + size
    total = layout["__size__"][1]
    if total > pos:
        lines.append(f"uint8_t _pad_end[{total - pos}];")
    return "struct rte_mbuf {\n    " + "\n    ".join(lines) + "\n};"


_CDEF_CACHE: dict[str, str] = {}
_GLOBAL_LIBS = (
    "librte_ethdev.so.23",
    "librte_mbuf.so.23",
    "librte_mempool.so.23",
    "librte_ring.so.23",
    "librte_eal.so.23",
)


def expose_dpdk_symbols() -> None:
    """Make DPDK's libraries global so that scripts' `ffi.C.rte_*` calls resolve (MoonGen
    scripts call e.g. rte_eth_xstats_get directly). They are loaded already: this only
    promotes them to the global symbol scope."""
    import ctypes

    for name in _GLOBAL_LIBS:
        try:
            ctypes.CDLL(name, mode=os.RTLD_GLOBAL)
        except OSError:
            pass


def _cdefs() -> dict[str, str]:
    if not _CDEF_CACHE:
        expose_dpdk_symbols()
        _CDEF_CACHE["api"] = api_cdef()
        _CDEF_CACHE["mbuf"] = mbuf_cdef(_dpdk.mbuf_layout())
    return _CDEF_CACHE


# Every `host.name` that Lua evaluates on the Python object makes a new bound method and
# a lupa reference to it, freed only when that VM's garbage collector next runs; a stats
# task polling devices once a second then grows the process by about 1 KiB/s for many
# minutes (seen in benchmarks/soak.py's 10-minute run). Lua sees the host through a
# table that looks each name up once.
HOST_PROXY = """
local py = ...
return setmetatable({}, { __index = function(t, name)
    local v = py[name]
    if v ~= nil then rawset(t, name, v) end
    return v
end })
"""


class LuaVM:
    """A fresh LuaJIT state with moonpy's library loaded (``moonpy.prelude``)."""

    def __init__(
        self,
        host: Any,
        script: str,
        task_name: str,
        task_id: int,
        core: int,
        cores: list[int],
        shared_cores: int = 8,
        extra_globals: dict[str, Any] | None = None,
    ) -> None:
        lj = require_luajit()
        self.lua = lj.LuaRuntime(
            register_eval=False, register_builtins=False, unpack_returned_tuples=True
        )
        self.script = script
        self.task_name = task_name
        host.bind(self)
        g = self.lua.globals()
        cdefs = _cdefs()
        g.MOONPY_HOST = self.lua.execute(HOST_PROXY, host)
        self._traceback_handler()
        g.MOONPY_CDEF = cdefs["api"]
        g.MOONPY_MBUF_CDEF = cdefs["mbuf"]
        g.MOONPY_API_ADDR = _dpdk.api_address()
        g.MOONPY_ABI_VERSION = _dpdk.abi_version()
        g.MOONPY_SCRIPT = script
        g.MOONPY_LUA_PATH = LUA_DIR
        g.MOONPY_CORES = self.table(cores)
        g.MOONPY_SHARED_CORES = shared_cores
        g.LIBMOON_TASK_NAME = task_name
        g.LIBMOON_TASK_ID = task_id
        g.LIBMOON_TASK_CORE = core
        for name, value in (extra_globals or {}).items():
            g[name] = value
        script_dir = os.path.dirname(os.path.abspath(script))
        paths = [
            f"{LUA_DIR}/?.lua",
            f"{LUA_DIR}/?/init.lua",
            f"{script_dir}/?.lua",
            f"{script_dir}/?/init.lua",
        ]
        self.lua.execute("package.path = ... .. ';' .. package.path", ";".join(paths))
        self._run_chunk('require "moonpy.prelude"', "moonpy library")

    # ---- conversions --------------------------------------------------------

    def table(self, value: Any) -> Any:
        """Python list/dict (nested) → Lua table; lists become 1-based arrays."""
        if isinstance(value, dict):
            t = self.lua.table()
            for k, v in value.items():
                t[k] = self.table(v)
            return t
        if isinstance(value, (list, tuple)):
            t = self.lua.table()
            for i, v in enumerate(value, 1):
                t[i] = self.table(v)
            return t
        return value

    # ---- calls ----------------------------------------------------------------

    def _traceback_handler(self) -> None:
        """xpcall's message handler: debug.traceback, but an error value that is not a
        string (``error({})``, ``error(nil)``) is shown as what it holds rather than as
        lupa's ``<Lua table at 0x...>`` (and gets its traceback too)."""
        self.lua.execute(
            "local function show(v, depth)\n"
            "  if type(v) ~= 'table' then return tostring(v) end\n"
            "  local mt = getmetatable(v)\n"
            "  if mt and mt.__tostring then return tostring(v) end\n"
            "  if depth > 2 then return '{...}' end\n"
            "  local parts, n = {}, 0\n"
            "  for k, x in pairs(v) do\n"
            "    n = n + 1\n"
            "    if n > 8 then parts[#parts + 1] = '...' break end\n"
            "    parts[#parts + 1] = tostring(k) .. ' = ' .. show(x, depth + 1)\n"
            "  end\n"
            "  return '{' .. table.concat(parts, ', ') .. '}'\n"
            "end\n"
            "MOONPY_TRACEBACK = function(e)\n"
            "  if type(e) ~= 'string' and type(e) ~= 'number' then\n"
            "    e = 'error object (' .. type(e) .. '): ' .. show(e, 0)\n"
            "  end\n"
            "  return debug.traceback(e, 1)\n"
            "end\n"
        )

    def _run_chunk(self, code: str, what: str) -> None:
        runner = self.lua.eval(
            "function(code) local f, e = loadstring(code) if not f then return false, e end "
            "local ok, err = xpcall(f, MOONPY_TRACEBACK) return ok, err end"
        )
        ok, err = runner(code)
        if not ok:
            raise self._error(err, f"loading the {what} failed")

    def load_script(self) -> None:
        """Run the script's top level (again in every task VM, as in MoonGen)."""
        loader = self.lua.eval(
            "function(path) local f, e = loadfile(path) if not f then return false, e, true end "
            "local ok, err = xpcall(f, MOONPY_TRACEBACK) return ok, err, false end"
        )
        ok, err, syntax = loader(self.script)
        if not ok:
            what = "syntax error" if syntax else "error while loading the script"
            raise self._error(err, what)

    def call(self, module_fn: str, *args: Any) -> tuple:
        """xpcall ``require('moonpy.main').<module_fn>(args...)``; returns its results."""
        caller = self.lua.eval(
            "function(name, ...) local m = require 'moonpy.main' "
            "return (function(ok, ...) return ok, select('#', ...), {...} end)"
            "(xpcall(m[name], MOONPY_TRACEBACK, ...)) end"
        )
        ok, n, results = caller(module_fn, *args)
        if not ok:
            raise self._error(results[1], f"Lua error in task {self.task_name}")
        return tuple(results[i] for i in range(1, int(n) + 1))

    def _error(self, err: Any, what: str) -> ScriptError:
        text = err.decode(errors="replace") if isinstance(err, bytes) else str(err)
        if text.startswith(_EXIT_MARKER):
            return ScriptExit(self.task_name)
        head, _, trace = text.partition("\nstack traceback:")
        debug = os.environ.get("MOONPY_DEBUG") == "1"
        frames = [ln for ln in trace.splitlines() if ln.strip() and not _internal_frame(ln)]
        if not debug:
            # moonpy's own library frames say nothing to the script's author; an error
            # with no frame of the script left (a command-line or configuration error
            # of `moonpy simple`) is one line (--debug shows everything)
            frames = [ln for ln in frames if not _library_frame(ln)]
            if head.startswith(LUA_DIR):
                # raised inside the library: the place that matters is the script's call
                msg = head.split(": ", 1)[-1]
                where = frames[0].strip().split(": in ", 1)[0] if frames else ""
                head = f"{where}: {msg}" if where else msg
        details = "stack traceback:\n" + "\n".join(frames) if frames else ""
        return ScriptError(
            f"{what}: {head}" if "Lua error" not in what else head,
            task=self.task_name,
            details=details,
        )


def _library_frame(line: str) -> bool:
    """Traceback lines inside moonpy's Lua library (or C functions such as error)."""
    text = line.strip()
    return text.startswith(LUA_DIR) or text.startswith("[C]:") or text == "(tail call): ?"


def _internal_frame(line: str) -> bool:
    """Traceback lines of moonpy's own call machinery, not of the script."""
    return (
        '[string "<python>"]' in line or "in function 'xpcall'" in line or "moonpy/main.lua" in line
    )


class ScriptExit(ScriptError):
    """The script called os.exit(); the host holds the exit code."""

    def __init__(self, task: str) -> None:
        super().__init__("os.exit() called", task=task)
