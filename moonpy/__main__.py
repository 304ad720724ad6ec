"""`python -m moonpy`: the command line.

A signal during start-up (imports, before DPDK runs) ends the process at once
with 128 + the signal number and no traceback; later phases install their own
handlers (cli.main, then the C handler once DPDK is up)."""

import os
import signal
import sys

# pyserde pulls in numpy; its OpenBLAS thread pool would only compete with our tasks
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _early_exit(signo: int, frame: object) -> None:
    os._exit(128 + signo)


signal.signal(signal.SIGINT, _early_exit)
signal.signal(signal.SIGTERM, _early_exit)

from moonpy.app.cli import main  # noqa: E402

sys.exit(main())
