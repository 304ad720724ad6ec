#ifndef MP_CABLE_H
#define MP_CABLE_H
/* mp_cable.h - the sending end of a virtual cable: frames put straight into the peer's RX
 * rings, with RSS where the peer spreads them over queues (mp_cable.c). */
#include <stdint.h>

#include <rte_common.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
/* The sending end of a virtual cable's ring (one per port and TX queue; ring NULL: not a
 * cable). rte_ring's enqueue reads the ring's producer head and its consumer tail, but the
 * receiving core reads the producer line on every poll and writes the consumer tail after
 * every burst, so both reads miss, each a transfer from the other core: ~70 ns per burst on
 * the dev VM, more than a 60 B frame's wire time, the floor under every gap a paced sender
 * makes (single-frame bursts measured 140-150 ns apart, 80 ns with these reads gone). The
 * queue's owner is the ring's only producer: it keeps the head itself and counts free
 * slots, reading the consumer tail only when they run out, and only stores to the shared
 * lines (stores do not wait for the line). */
struct cable_txq {
    struct rte_ring *ring;
    uint32_t head;  /* next slot to fill; the ring's prod.head and prod.tail after each burst */
    uint32_t free;  /* slots known free (the consumer may have freed more) */
    /* 1: the peer has no RX queue for these frames (not configured, or fewer RX queues):
     * they leave and are missed there, freed at once as a NIC frees what it sent. Set by
     * the control plane (mp_cable_rx_queues), read only when `free` runs out. */
    uint32_t sink;
} __rte_cache_aligned; /* each queue's owner writes its own line */
extern struct cable_txq cable_txqs[MP_MAX_PORTS * MP_MAX_QUEUES];

int cable_needs_mp(int sender, int peer);
uint16_t cable_tx(struct cable_txq *c, struct rte_mbuf **bufs, uint16_t n);
uint16_t cable_tx_rss(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n);
MP_INTERNAL_END
#endif /* MP_CABLE_H */
