"""The Lua side of moonpy: one LuaJIT VM per task, embedded with lupa.

This package is the only place that imports lupa, and it imports the LuaJIT
flavour explicitly (plain ``import lupa`` gives Lua 5.4, which has no FFI).
"""

from moonpy.errors import MoonpyError

try:
    from lupa import luajit21 as luajit  # noqa: TID251
except ImportError:  # pragma: no cover - depends on the installed wheel
    luajit = None

LUPA_HINT = (
    "moonpy needs lupa built with LuaJIT 2.1 (module lupa.luajit21), which has the "
    "FFI that packet access uses; install it with: pip install 'lupa>=2' "
    "(x86_64/aarch64 wheels include LuaJIT)"
)


def require_luajit():
    if luajit is None:
        raise MoonpyError(LUPA_HINT)
    return luajit
