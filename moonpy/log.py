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


# MoonGen's log prefixes (padded to one width) and their colours
_INFO, _WARN, _ERROR = ("[INFO]  ", "1;37"), ("[WARN]  ", "1;33"), ("[ERROR] ", "1;31")


def _format(level: tuple[str, str], text: str, color: bool | None) -> str:
    prefix, ansi = level
    on = COLOR if color is None else color
    return f"\033[{ansi}m{prefix}{text}\033[0m" if on else prefix + text


# ``color``: None follows the switch; the end-of-run report and moonpy's own notes on
# stderr pass False (plain, as a log file or a terminal's error stream shows them)


def info_line(text: str, color: bool | None = None) -> str:
    """``[INFO]  text`` (white), the line ``log_info`` prints."""
    return _format(_INFO, text, color)


def warn_line(text: str, color: bool | None = None) -> str:
    """``[WARN]  text`` (yellow)."""
    return _format(_WARN, text, color)


def error_line(text: str, color: bool | None = None) -> str:
    """``[ERROR] text`` (bold red)."""
    return _format(_ERROR, text, color)


def _write(line: str, file: IO[str] | None) -> None:
    out = file or sys.stdout
    out.write(line + "\n")
    out.flush()


def log_info(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[INFO]  text`` in white, as MoonGen's ``log:info``."""
    _write(info_line(text, color), file)


def log_warn(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[WARN]  text`` in yellow."""
    _write(warn_line(text, color), file)


def log_error(text: str, file: IO[str] | None = None, color: bool | None = None) -> None:
    """``[ERROR] text`` in bold red."""
    _write(error_line(text, color), file)


def failed_tasks_line(names: list[str]) -> str:
    """The run's closing line when tasks died on an error: the run went on past them (as
    in libmoon), so the end, where the exit status is read, says which ones failed."""
    unique = sorted(set(names))
    n = len(names)
    return error_line(
        f"{n} task{'s' if n > 1 else ''} failed ({', '.join(unique)}; errors above); exit status 1",
        color=False,
    )


def lua_number(x: float) -> str:
    """Lua's ``tostring`` of a number (``%.14g``, integers without a point): how
    MoonGen's CSV rows print rates, so moonpy's rows compare equal as text."""
    if math.isnan(x):
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.14g}"


# ---- MoonGen's counter lines (libmoon's stats.lua), as moonpy/lua/stats.lua prints them too

STATS_CSV_HEADER = "Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes"
_RX_COLOR, _TX_COLOR = "1;36", "0;34"


def _counter_name(name: str, direction: str) -> str:
    return f"{code(_RX_COLOR if direction == 'RX' else _TX_COLOR)}[{name}] {direction}{code()}"


def stats_line(name: str, direction: str, mpps: float, mbit: float, wire: float) -> str:
    """A counter's line for one interval: ``[name] TX: 1.00 Mpps, 512 Mbit/s (672 Mbit/s
    with framing)``, the name coloured by direction while colours are on."""
    return (
        f"{_counter_name(name, direction)}: "
        f"{mpps:.2f} Mpps, {mbit:.0f} Mbit/s ({wire:.0f} Mbit/s with framing)"
    )


def stats_final_line(
    name: str,
    direction: str,
    mpps: tuple[float, float],
    mbit: tuple[float, float],
    wire: float,
    total: int,
    total_bytes: int,
) -> str:
    """A counter's last line: averages with their standard deviations (``mpps``, ``mbit``
    are (average, std dev)), the wire rate's average and the totals."""
    return (
        f"{_counter_name(name, direction)}: "
        f"{mpps[0]:.2f} (StdDev {mpps[1]:.2f}) Mpps, "
        f"{mbit[0]:.0f} (StdDev {mbit[1]:.0f}) Mbit/s "
        f"({wire:.0f} Mbit/s with framing), total {total} packets "
        f"with {total_bytes} bytes (incl. CRC)"
    )


def stats_csv_row(
    when: float,
    name: str,
    direction: str,
    mpps: float,
    mbit: float,
    wire: float,
    total: int,
    total_bytes: int,
) -> str:
    """One row under ``STATS_CSV_HEADER``: whole seconds of wall time, rates in Lua's
    number format."""
    return (
        f"{int(when)},{name},{direction},{lua_number(mpps)},{lua_number(mbit)},"
        f"{lua_number(wire)},{total},{total_bytes}"
    )
