/* mp_port.c - the registry of port kinds and counters: each port's flags (mp_api.h:
 * MP_PORT_*) and cable peer, set by the control plane before traffic flows, and the
 * per-queue counter and pacer arrays the table publishes. */
#include <rte_common.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_port.h"

struct mp_queue_stats txq_stats[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
struct mp_queue_stats rxq_stats[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
struct mp_pacer pacers[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
uint32_t port_flags[MP_MAX_PORTS];
int port_peer[MP_MAX_PORTS];
int udata64_offset = -1;

/* ---- registry of port kinds and counters ------------------------------- */

void mp_port_set(uint16_t port, uint32_t flags, int peer)
{
    if (port >= MP_MAX_PORTS)
        return;
    /* the RSS bit follows the peer's table (mp_cable_rss), whichever end is set up first */
    if (cable_needs_mp(port, peer))
        flags |= MP_PORT_RSS_TX;
    port_flags[port] = flags;
    port_peer[port] = peer;
}

int mp_port_peer(uint16_t port) { return port < MP_MAX_PORTS ? port_peer[port] : -1; }

/* Frames the peer of a cable end sent that this end missed (no RX descriptor). */
uint64_t mp_drops_into(uint16_t port)
{
    uint64_t a[4];
    mp_cable_arrived(port, a);
    return a[2];
}

struct mp_queue_stats *mp_txq_stats(uint16_t port, uint16_t queue)
{
    return &txq_stats[QIDX(port, queue)];
}

struct mp_queue_stats *mp_rxq_stats(uint16_t port, uint16_t queue)
{
    return &rxq_stats[QIDX(port, queue)];
}

struct mp_pacer *mp_pacer_get(uint16_t port, uint16_t queue) { return &pacers[QIDX(port, queue)]; }
