"""MoonGen's log lines and the one colour switch (MoonGen's ``log`` module).

Every ``[INFO]``/``[WARN]``/``[ERROR]`` line moonpy prints from Python comes from here, so
the prefixes, their padding and their colours are written once. The module sits at the
bottom of the package (it imports nothing from moonpy) so that the engine, the script API
and the front ends can all log without importing each other.
"""

from __future__ import annotations

import math
import sys
from typing import IO

# MoonGen writes ANSI colours even into files; `moonpy --no-color` turns them off
COLOR = True


def set_color(on: bool) -> None:
    global COLOR
    COLOR = on


def code(body: str = "0") -> str:
    """The ANSI escape ``ESC[<body>m``, or nothing with colours off."""
    return f"\033[{body}m" if COLOR else ""


def _line(prefix: str, text: str, ansi: str, file: IO[str] | None, color: bool | None) -> None:
    out = file or sys.stdout
    line = prefix + text
    on = COLOR if color is None else color
    out.write(f"\033[{ansi}m{line}\033[0m\n" if on else line + "\n")
    out.flush()


# ``color``: None follows the switch; the end-of-run report passes False (plain stderr)


def log_info(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[INFO]  text`` in white, as MoonGen's ``log:info``."""
    _line("[INFO]  ", text, "1;37", file, color)


def log_warn(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[WARN]  text`` in yellow."""
    _line("[WARN]  ", text, "1;33", file, color)


def log_error(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[ERROR] text`` in bold red."""
    _line("[ERROR] ", text, "1;31", file, color)


def lua_number(x: float) -> str:
    """Lua's ``tostring`` of a number (``%.14g``, integers without a point): how
    MoonGen's CSV rows print rates, so moonpy's rows compare equal as text."""
    if math.isnan(x):
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.14g}"
