#ifndef MP_PORT_H
#define MP_PORT_H
/* mp_port.h - the registry of ports (kind flags, cable peers) and the per-queue counters
 * and pacers every other part of the fast path reads and writes (owner: mp_port.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
extern struct mp_queue_stats txq_stats[MP_MAX_PORTS * MP_MAX_QUEUES];
extern struct mp_queue_stats rxq_stats[MP_MAX_PORTS * MP_MAX_QUEUES];
extern struct mp_pacer pacers[MP_MAX_PORTS * MP_MAX_QUEUES];
extern uint32_t port_flags[MP_MAX_PORTS];
extern int port_peer[MP_MAX_PORTS];
extern int udata64_offset; /* moonpy's 8-byte dynfield in each mbuf, -1 until mp_init */
MP_INTERNAL_END
#endif /* MP_PORT_H */
