#ifndef MP_CABLE_H
#define MP_CABLE_H
/* mp_cable.h - virtual cables: frames put straight into the peer's RX rings, steered as
 * its NIC would (filters, RSS), and read from them (mp_cable.c). */
#include <stdint.h>

#include <rte_common.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
/* The sending end of a virtual cable's ring (one per port and TX queue; ring NULL: not in
 * the direct mode, see cable_mode). rte_ring's enqueue reads the ring's producer head and its consumer tail, but the
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
} __rte_cache_aligned; /* each queue's owner writes its own line */
extern struct cable_txq cable_txqs[MP_MAX_PORTS * MP_MAX_QUEUES];

void cable_mode(int sender);
uint16_t cable_tx(struct cable_txq *c, struct rte_mbuf **bufs, uint16_t n);
uint16_t cable_steer(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n);
uint16_t cable_rx(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n);

/* The filter table of any port (filled by mp_cable_filter_add): the queue its filters
 * steer `m` to, -1 (drop) or FILTER_NO_MATCH; ports that are not cable ends apply it in
 * their RX path (mp_swsteer.c). */
#define FILTER_NO_MATCH (-2)
int port_filter_queue(uint16_t port, const struct rte_mbuf *m);
void port_filters_clear(uint16_t port);

/* A full ring misses the frame (a wire) unless the peer holds the sender back. */
static inline int cable_drops(uint32_t flags)
{
    return (flags & (MP_PORT_DROP_ON_FULL | MP_PORT_HOLD)) == MP_PORT_DROP_ON_FULL;
}
MP_INTERNAL_END
#endif /* MP_CABLE_H */
