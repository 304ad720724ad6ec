"""What the entries of cases.py are written with: their verdicts, the output they expect
(rates of at least 0.01 Mpps, missing modules), exit statuses, and notes several entries
share.

``verdict`` is what the original MoonGen does with the script on two ports of a
machine with enough cores:

- OK / DEG: runs (DEG: with warnings or no-ops on virtual devices) -- moonpy must show
  what the original shows;
- HW: needs a NIC feature (registers, hardware timestamps of a given chip);
- BUG: fails on the original too (a script bug, a hard-coded path of its author);
- FORK: needs what its own fork added to MoonGen/libmoon (new packet types, rings);
- DEP: needs a module that is neither MoonGen's nor the script's (luarocks, C builds);
- OLD: written for MoonGen's 2014/2015 API that upstream removed; the current original
  fails the same way.

For BUG/FORK/DEP/OLD/HW entries ``exit`` names the failing exit status and ``expect``
the error the original gives: moonpy must fail in the same place, for the same reason.
"""

from __future__ import annotations

from moonpy.tools.compat import Case

MPPS = r"(0\.0[1-9]|0\.[1-9]\d|[1-9]\d*\.\d\d)( \(StdDev [\d.]+\))? Mpps"  # at least 0.01
DEV_TX = r"\[Device: id=\d+\] TX: " + MPPS
DEV_RX = r"\[Device: id=\d+\] RX: " + MPPS
NOT_FOUND = r"module '{}' not found"
FAILED = (1,)
TASK_FAILED = (1, 130)  # a task died; the master runs on until Ctrl-C


def W(repo: str, commit: str, script: str, args: list[str], **kw: object) -> Case:
    kw.setdefault("seconds", 4.0)
    return Case(repo, script, args, commit=commit, **kw)  # type: ignore[arg-type]


RFC = ["{MOONGEN}/rfc2544/?.lua"]
RING = (
    "open moonpy difference: a cable takes TX queue q to the peer's RX queue q even "
    "without a filter (a NIC: RX queue 0); its load on TX queues 1-3 never reaches the RX "
    "queue 0 it counts"
)
RING = r"attempt to call method 'new(Pkt|Byte)sizedRing'"
