"""Build moonpy._dpdk against the system DPDK found with pkg-config."""

import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

# scripts `moonpy bench` runs, copied into the package so an installed wheel has them (in a
# checkout moonpy.tools.bench_runs reads them in place): checkout path -> moonpy/tools/_data/NAME
BENCH_SCRIPTS = ["lua_scripts/benchmark.lua", "examples/udp-load.py"]


class build_py_with_bench_scripts(build_py):
    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "moonpy", "tools", "_data")
        os.makedirs(dest, exist_ok=True)
        for src in BENCH_SCRIPTS:
            self.copy_file(src, os.path.join(dest, os.path.basename(src)))


def pkg_config(*args: str) -> list[str]:
    try:
        out = subprocess.run(["pkg-config", *args, "libdpdk"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        sys.exit("moonpy needs DPDK: `pkg-config libdpdk` failed; install it with "
                 "`apt-get install libdpdk-dev pkg-config` (or set PKG_CONFIG_PATH).")
    return shlex.split(out)


def extensions() -> list[Extension]:
    from Cython.Build import cythonize

    debug = os.environ.get("MOONPY_DEBUG") == "1"
    cflags = pkg_config("--cflags") + (["-O0", "-g", "-DMOONPY_DEBUG=1"] if debug else ["-O3"])
    libs = pkg_config("--libs") + ["-lrte_net_ring"]
    ext = Extension(
        "moonpy._dpdk",
        [
            "moonpy/_dpdk.pyx",
            "moonpy/csrc/mp_api.c",
            "moonpy/csrc/mp_port.c",
            "moonpy/csrc/mp_lifecycle.c",
            "moonpy/csrc/mp_buffers.c",
            "moonpy/csrc/mp_checksum.c",
            "moonpy/csrc/mp_cable.c",
            "moonpy/csrc/mp_tx.c",
            "moonpy/csrc/mp_rx.c",
            "moonpy/csrc/mp_swsteer.c",
            "moonpy/csrc/mp_ring.c",
            "moonpy/csrc/mp_pacing.c",
            "moonpy/csrc/mp_delay.c",
            "moonpy/csrc/mp_limiter.c",
            "moonpy/csrc/mp_hwclock.c",
            "moonpy/csrc/mp_layout.c",
            "moonpy/csrc/mp_bench.c",
            "moonpy/csrc/mp_stages.c",
            "moonpy/csrc/mp_replay.c",
            "moonpy/csrc/mp_fieldengine.c",
            "moonpy/csrc/mp_reclaim.c",
            "moonpy/csrc/mp_rss.c",
            "moonpy/csrc/mp_streams.c",
        ],
        include_dirs=["moonpy/csrc"],
        extra_compile_args=cflags + ["-Wno-deprecated-declarations"],
        extra_link_args=libs,
    )
    directives = {"language_level": 3, "embedsignature": True,
                  "boundscheck": False, "wraparound": False}
    if debug:
        directives["linetrace"] = True
    return cythonize([ext], compiler_directives=directives, annotate=debug)


setup(ext_modules=extensions(), cmdclass={"build_py": build_py_with_bench_scripts})
