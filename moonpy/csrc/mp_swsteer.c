/* mp_swsteer.c - NIC filters in software. DPDK 22.11 has no filter_ctrl, and the virtual
 * PMDs (tap, af_packet, pcap, ...) have no filters at all, but scripts steer with them:
 * MoonGen's icmp-arp-responder answers ARP on RX queue 1 (l2Filter(0x0806, 1)) and pings
 * on queue 0, while the kernel's tun driver picks the queue by its own flow hash (ARP
 * lands on queue 0). So on such a port every RX queue's poll classifies what its PMD queue
 * delivered with the port's filter table (the one a cable end uses, mp_cable.c) and hands
 * frames that belong to another queue to that queue's inbox ring, which that queue's poll
 * reads first. As on a NIC, frames no filter matches go to queue 0 unless the port spreads
 * them itself (RSS). Frames are only moved by a queue that is polled: what the PMD put on
 * a queue nobody reads stays there, as on any port. */
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_port.h"
#include "mp_swsteer.h"

struct sw_steer {
    struct rte_ring *inbox[MP_MAX_QUEUES];
    uint16_t nrx;
    uint8_t keep_unmatched;
};
static struct sw_steer steers[MP_MAX_PORTS];

void mp_swsteer_set(uint16_t port, uint16_t nrx, int keep_unmatched, struct rte_ring **inbox)
{
    if (port >= MP_MAX_PORTS || nrx > MP_MAX_QUEUES)
        return;
    struct sw_steer *s = &steers[port];
    __atomic_fetch_and(&port_flags[port], ~MP_PORT_SW_STEER, __ATOMIC_ACQ_REL);
    if (nrx == 0) {
        port_filters_clear(port);
        s->nrx = 0;
        return;
    }
    for (uint16_t q = 0; q < MP_MAX_QUEUES; q++)
        s->inbox[q] = q < nrx ? inbox[q] : NULL;
    s->nrx = nrx;
    s->keep_unmatched = keep_unmatched != 0;
    __atomic_fetch_or(&port_flags[port], MP_PORT_SW_STEER, __ATOMIC_ACQ_REL);
}

/* A frame this queue's poll cannot deliver: a filter drops it, its queue does not exist,
 * or its queue's inbox is full (that queue is not read fast enough): missed, as a NIC
 * misses a frame it has no descriptor for. */
static inline void swsteer_miss(uint16_t port, uint16_t queue, struct rte_mbuf *m)
{
    struct mp_queue_stats *st = &rxq_stats[QIDX(port, queue)];
    st->missed++;
    st->missed_bytes += m->pkt_len;
    rte_pktmbuf_free(m);
}

/* RX queue `queue` of a port with MP_PORT_SW_STEER: the frames other queues handed to it,
 * then its PMD queue's, less those that belong elsewhere. */
uint16_t swsteer_rx(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n)
{
    const struct sw_steer *s = &steers[port];
    uint16_t got = 0;
    if (likely(queue < s->nrx))
        got = (uint16_t)rte_ring_sc_dequeue_burst(s->inbox[queue], (void **)bufs, n, NULL);
    if (got == n)
        return got;
    uint16_t nb = rte_eth_rx_burst(port, queue, bufs + got, (uint16_t)(n - got));
    uint16_t keep = got;
    for (uint16_t i = got; i < got + nb; i++) {
        struct rte_mbuf *m = bufs[i];
        int to = port_filter_queue(port, m);
        if (to == FILTER_NO_MATCH)
            to = s->keep_unmatched ? queue : 0;
        if (to == queue)
            bufs[keep++] = m;
        else if (to < 0 || to >= s->nrx || rte_ring_mp_enqueue(s->inbox[to], m) != 0)
            swsteer_miss(port, queue, m);
    }
    return keep;
}
