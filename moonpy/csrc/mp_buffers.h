#ifndef MP_BUFFERS_H
#define MP_BUFFERS_H
/* mp_buffers.h - mbuf allocation and freeing (mp_buffers.c); mp_alloc_bulk and
 * mp_free_bulk are in mp_api.h. */
#include <stddef.h>
#include <string.h>

#include <rte_mbuf.h>

#include "mp_internal.h"

/* An allocated buffer's metadata, reset as rte_pktmbuf_reset would for one segment and
 * given its length: the 32 bytes from rearm_data (data_off, refcnt, nb_segs, port, ol_flags,
 * packet_type, pkt_len, data_len, vlan_tci, the low half of the RSS hash) are copied from
 * a template made once per burst, two vector stores where field by field took seven (the
 * metadata reset of a 63-buffer burst: 14-17 -> 8-9 cycles a buffer on the development VM,
 * about a sixth of scenario 1's packet), plus tx_offload on the second line. refcnt and
 * nb_segs are 1 in every buffer a pool hands out, so writing 1 changes nothing; port is
 * rte_pktmbuf_reset's "none", the hash meaningless on TX. */
#define MP_RESET_BYTES 32
_Static_assert(offsetof(struct rte_mbuf, ol_flags) - offsetof(struct rte_mbuf, rearm_data) == 8,
               "mbuf layout: ol_flags follows rearm_data");
_Static_assert(offsetof(struct rte_mbuf, vlan_tci) + 2 <=
                   offsetof(struct rte_mbuf, rearm_data) + MP_RESET_BYTES,
               "mbuf layout: the template covers data_off .. vlan_tci");
_Static_assert(offsetof(struct rte_mbuf, vlan_tci_outer) >=
                   offsetof(struct rte_mbuf, rearm_data) + MP_RESET_BYTES,
               "mbuf layout: the template ends before vlan_tci_outer, buf_len and pool");

/* Header lines asked for ahead of use: on a virtual cable the buffers were last written by
 * the receiving core, and resetting them one by one waits for each transfer in turn (about
 * 4 us for 63 on the development VM). Asking for all 63 at once is as fast but stalls for
 * ~1 us once the CPU's miss buffers are full, with no chance to send a held frame; this
 * many lines in flight keep both. */
#define MP_RESET_PREFETCH_AHEAD 12

MP_INTERNAL_BEGIN
void mp_free_one(struct rte_mbuf *buf);

static inline void mp_reset_template(uint8_t tmpl[MP_RESET_BYTES], uint32_t len,
                                     uint16_t headroom)
{
    struct rte_mbuf t;
    memset(&t, 0, sizeof(t));
    t.data_off = headroom;
    t.refcnt = 1;
    t.nb_segs = 1;
    t.port = RTE_MBUF_PORT_INVALID;
    t.pkt_len = len;
    t.data_len = (uint16_t)len;
    memcpy(tmpl, &t.rearm_data, MP_RESET_BYTES);
}

static inline void mp_reset_one(struct rte_mbuf *m, const uint8_t tmpl[MP_RESET_BYTES])
{
    memcpy(&m->rearm_data, tmpl, MP_RESET_BYTES);
    m->tx_offload = 0;
}

/* the reset of a burst whose buffers came from a pool with `headroom` */
static inline void mp_reset_bufs(struct rte_mbuf **bufs, uint32_t n, uint32_t len,
                                 uint16_t headroom)
{
    uint8_t tmpl[MP_RESET_BYTES];
    mp_reset_template(tmpl, len, headroom);
    uint32_t ahead = n < MP_RESET_PREFETCH_AHEAD ? n : MP_RESET_PREFETCH_AHEAD;
    for (uint32_t i = 0; i < ahead; i++)
        __builtin_prefetch(bufs[i], 1, 3);
    for (uint32_t i = 0; i < n; i++) {
        if (i + ahead < n)
            __builtin_prefetch(bufs[i + ahead], 1, 3);
        mp_reset_one(bufs[i], tmpl);
    }
}
MP_INTERNAL_END
#endif /* MP_BUFFERS_H */
