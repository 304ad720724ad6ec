/* mp_rx.c - RX: one burst, counted per queue (with a software timestamp on request); an
 * empty poll sends this thread's held paced frames and yields a shared core. */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_lifecycle.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_rx.h"
#include "mp_swsteer.h"
#include "mp_tx.h"

/* A cable end's RX queues are moonpy's rings (mp_cable.c), every other port's its PMD's,
 * through moonpy's filters where the script installed some (mp_swsteer.c). */
static inline uint16_t rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs,
                                uint32_t n)
{
    uint16_t k = (uint16_t)RTE_MIN(n, 65535u);
    if (port < MP_MAX_PORTS) {
        uint32_t flags = port_flags[port];
        if (flags & MP_PORT_DROP_ON_FULL)
            return cable_rx(port, queue, bufs, k);
        if (unlikely(flags & MP_PORT_SW_STEER))
            return swsteer_rx(port, queue, bufs, k);
    }
    return rte_eth_rx_burst(port, queue, bufs, k);
}

uint32_t mp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    held_poll(); /* a receive loop (recv waits for frames) sends this thread's held frames */
    uint16_t nb = rx_burst(port, queue, bufs, n);
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
    uint16_t nb = rx_burst(port, queue, bufs, n);
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
