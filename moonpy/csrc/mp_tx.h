#ifndef MP_TX_H
#define MP_TX_H
/* mp_tx.h - the one way frames leave (tx_burst) and the unpaced senders (mp_tx.c);
 * mp_send_all is in mp_api.h. */
#include <stdint.h>

#include <rte_mbuf.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
uint16_t tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n);
void cable_miss(struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t from, uint32_t n);
uint32_t drop_rest(struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t from, uint32_t n);
uint32_t mp_try_send(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
uint64_t mp_send_ts(uint16_t port, uint16_t queue, struct rte_mbuf *m, int32_t tsc_offset);

static inline uint64_t sum_len(struct rte_mbuf **bufs, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += bufs[i]->pkt_len;
    return bytes;
}
MP_INTERNAL_END
#endif /* MP_TX_H */
