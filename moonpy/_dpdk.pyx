# cython: language_level=3, embedsignature=True
"""moonpy._dpdk - Cython driver for DPDK: EAL, ports, mempools, bursts, counters.

The root of one extension module; each concept lives in its own .pxi under
dpdk/ (uvloop style, one C translation unit). This module imports nothing from
the Python side of moonpy. Its fast path (`struct mp_api`, csrc/) is shared
with LuaJIT through `api_address()` and `mbuf_layout()`.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.errno cimport EEXIST
from libc.string cimport memcpy, memset, strncpy

from moonpy.includes.mp_api cimport *
from moonpy.includes.rte_eal cimport *
from moonpy.includes.rte_ethdev cimport *
from moonpy.includes.rte_mbuf cimport *
from moonpy.includes.rte_ring cimport *

include "dpdk/errors.pxi"
include "dpdk/eal.pxi"
include "dpdk/mempool.pxi"
include "dpdk/port.pxi"
include "dpdk/ring.pxi"
include "dpdk/bufarray.pxi"
include "dpdk/api.pxi"
include "dpdk/bench.pxi"
include "dpdk/replay.pxi"
include "dpdk/mbufview.pxi"
include "dpdk/fieldengine.pxi"
include "dpdk/sendloops.pxi"
include "dpdk/streams.pxi"
include "dpdk/flows.pxi"
