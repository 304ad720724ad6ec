/* mp_rx.c - RX: one burst, counted per queue (with a software timestamp on request); an
 * empty poll sends this thread's held paced frames and yields a shared core. */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "mp_api.h"
#include "mp_lifecycle.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_rx.h"
#include "mp_tx.h"

uint32_t mp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    held_poll(); /* a receive loop (recv waits for frames) sends this thread's held frames */
    uint16_t nb = rte_eth_rx_burst(port, queue, bufs, (uint16_t)RTE_MIN(n, 65535u));
    if (nb) {
        struct mp_queue_stats *st = &rxq_stats[QIDX(port, queue)];
        st->pkts += nb;
        st->bytes += sum_len(bufs, nb);
    } else {
        coop_yield(); /* nothing yet: let a task sharing this core send it */
    }
    return nb;
}

/* RX with software timestamps: the TSC read right after the PMD handed the burst over
 * (before any other work), the same for every frame of the burst. */
uint32_t mp_rx_burst_ts(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    held_poll();
    uint16_t nb = rte_eth_rx_burst(port, queue, bufs, (uint16_t)RTE_MIN(n, 65535u));
    if (nb == 0) {
        coop_yield();
        return 0;
    }
    uint64_t tsc = rte_rdtsc();
    if (udata64_offset >= 0) {
        for (uint32_t i = 0; i < nb; i++)
            *RTE_MBUF_DYNFIELD(bufs[i], udata64_offset, uint64_t *) = tsc;
    }
    struct mp_queue_stats *st = &rxq_stats[QIDX(port, queue)];
    st->pkts += nb;
    st->bytes += sum_len(bufs, nb);
    return nb;
}

/* Return every frame still queued on a port's RX side to its pool (shutdown:
 * frames left in a cable's rings belong to the sender's mempool). */
uint32_t mp_drain_port(uint16_t port, uint16_t nb_queues)
{
    struct rte_mbuf *bufs[64];
    uint32_t total = 0;
    for (uint16_t q = 0; q < nb_queues; q++) {
        uint16_t nb;
        while ((nb = rte_eth_rx_burst(port, q, bufs, 64)) > 0) {
            mp_free_bulk(bufs, nb);
            total += nb;
        }
    }
    return total;
}
