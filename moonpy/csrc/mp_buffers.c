/* mp_buffers.c - buffers: MoonGen's bulk allocation (a minimal metadata reset, a
 * paced burst's held frames sent in between) and freeing. */
#include <errno.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "mp_api.h"
#include "mp_buffers.h"
#include "mp_pacing.h"

/* MoonGen's allocation: raw mempool gets plus a minimal metadata reset. The
 * data area is left alone on purpose: scripts write a template once (in the
 * pool's init function) and patch only a few fields per packet. */

/* A paced burst holds frames (see send_paced) while the application allocates its next
 * burst. When this thread's mempool cache cannot serve the allocation, DPDK refills it from
 * the pool's ring in one call (the cache size plus the request: 300+ pointers, last written
 * by the core that freed them, which on a cable is the receiver): 0.5-3 us during which no
 * held frame can leave. Refill it in small steps instead, sending held frames in between. */
static void cache_topup(struct rte_mempool *pool, uint32_t n)
{
    struct rte_mempool_cache *cache = rte_mempool_default_cache(pool, rte_lcore_id());
    void *objs[8];
    if (cache == NULL)
        return;
    while (cache->len < n) {
        if (rte_mempool_generic_get(pool, objs, 8, NULL) != 0)
            return; /* nearly empty: the allocation itself decides */
        rte_mempool_generic_put(pool, objs, 8, cache);
        held_poll();
    }
}

#define ALLOC_PREFETCH_AHEAD 12

int mp_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **bufs, uint32_t n, uint32_t len)
{
    held_poll();
    if (unlikely(held_pending()))
        cache_topup(pool, n);
    if (unlikely(rte_mempool_get_bulk(pool, (void **)bufs, n) != 0))
        return -ENOBUFS;
    /* every buffer of a pool has its data room: no need to wait for a header to read it */
    uint16_t room = rte_pktmbuf_data_room_size(pool);
    uint16_t headroom = RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, room);
    if (unlikely(n && len > (uint32_t)room - headroom)) {
        rte_mempool_put_bulk(pool, (void **)bufs, n);
        return -EMSGSIZE; /* the frame would not fit the pool's buffers */
    }
    /* Ask for the header lines ahead of use: on a virtual cable these mbufs were last
     * written by the receiving core, and resetting them one by one waits for each transfer
     * in turn (about 4 us for 63 on the development VM). Asking for all 63 at once is as
     * fast but stalls for ~1 us once the CPU's miss buffers are full, with no chance to send
     * a held frame; ALLOC_PREFETCH_AHEAD lines in flight keep both. */
    uint32_t ahead = RTE_MIN(n, (uint32_t)ALLOC_PREFETCH_AHEAD);
    for (uint32_t i = 0; i < ahead; i++)
        __builtin_prefetch(bufs[i], 1, 3);
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        if (i + ahead < n)
            __builtin_prefetch(bufs[i + ahead], 1, 3);
        held_poll(); /* a paced burst's held frames leave on time (see send_paced) */
        m->data_off = headroom;
        m->pkt_len = len;
        m->data_len = (uint16_t)len;
        m->ol_flags = 0;
        m->tx_offload = 0;
        m->vlan_tci = 0;
        m->packet_type = 0;
    }
    return (int)n;
}

/* Free the non-NULL entries (chains included) and clear them, so that an array freed twice
 * (bufs:free(n), then bufs:freeAll()) frees nothing twice. DPDK's bulk free skips NULLs and
 * returns buffers to their pools in batches. */
void mp_free_bulk(struct rte_mbuf **bufs, uint32_t n)
{
    rte_pktmbuf_free_bulk(bufs, n);
    memset(bufs, 0, n * sizeof(*bufs));
}

void mp_free_one(struct rte_mbuf *buf)
{
    if (buf != NULL)
        rte_pktmbuf_free(buf);
}
