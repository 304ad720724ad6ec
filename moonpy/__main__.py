"""`python -m moonpy`: the command line.

A signal during start-up (imports, before DPDK runs) ends the process at once
with 128 + the signal number and no traceback; later phases install their own
handlers (cli.main, then the C handler once DPDK is up)."""

# the C module, not `signal`: importing signal.py pulls in enum, which takes long enough on a
# loaded machine for an early Ctrl-C to arrive while the default handler would still raise
import _signal  # type: ignore[import-not-found]  # noqa: I001
import os
import sys


def _early_exit(signo: int, frame: object) -> None:
    os._exit(128 + signo)


_signal.signal(_signal.SIGINT, _early_exit)
_signal.signal(_signal.SIGTERM, _early_exit)

# pyserde pulls in numpy; its OpenBLAS thread pool would only compete with our tasks
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from moonpy.app.cli import main  # noqa: E402

sys.exit(main())
