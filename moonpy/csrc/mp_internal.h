#ifndef MP_INTERNAL_H
#define MP_INTERNAL_H
/*
 * mp_internal.h - what the C fast path's files share and neither Cython nor Lua sees.
 *
 * The fast path (mp_port.c, mp_lifecycle.c, mp_buffers.c, mp_checksum.c, mp_cable.c,
 * mp_tx.c, mp_rx.c, mp_ring.c, mp_pacing.c, mp_delay.c, mp_limiter.c, mp_hwclock.c, the
 * table in mp_api.c) runs on worker threads in tight loops (LuaJIT FFI calls or Cython
 * nogil loops). Rules: no printing, no allocation, no locks; each queue's counters are
 * written only by the thread that owns the queue and read (racily but atomically, 64-bit
 * aligned) by the stats reader.
 *
 * Each file's header declares what the others use of it between MP_INTERNAL_BEGIN and
 * MP_INTERNAL_END: hidden symbols, so that they stay out of the extension's dynamic symbol
 * table (as file-static ones were), calls between the files bind locally (no PLT, inlining
 * allowed) and thread-local state keeps the cheap local TLS model. System headers are
 * included before that region, never inside it (DPDK's own symbols must stay default).
 */
#include <stdint.h>

#include "mp_api.h"

#define MP_INTERNAL_BEGIN _Pragma("GCC visibility push(hidden)")
#define MP_INTERNAL_END _Pragma("GCC visibility pop")

#define QIDX(port, queue) ((uint32_t)(port) * MP_MAX_QUEUES + (queue))
#endif /* MP_INTERNAL_H */
