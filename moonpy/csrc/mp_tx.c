/* mp_tx.c - TX: every frame moonpy sends goes through tx_burst (a cable's ring, or the PMD
 * with tx_prepare where the port offloads checksums); send_all (retry while running, a
 * paced queue handed to mp_pacing.c), try_send, and one frame with a software timestamp. */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_checksum.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_tx.h"

/* Frames that left a cable end but found no RX descriptor at the peer (its ring full, or
 * no RX queue set up): freed, and counted as the peer's imissed with their real length
 * (mp_cable_arrived). The caller counts them sent (pkts, bytes): they were on the wire. */
/* Free bufs[from..n) and return their bytes: what the wire or a drop takes. */
static uint64_t free_rest(struct rte_mbuf **bufs, uint32_t from, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = from; i < n; i++)
        bytes += bufs[i]->pkt_len;
    /* in bulk: rte_pktmbuf_free finds the lcore's mempool cache through a thread-local
     * lookup, which in Debian's shared DPDK is a __tls_get_addr call per frame (13 cycles
     * a frame more than freeing the burst at once, `moonpy bench --stages`) */
    if (n > from)
        rte_pktmbuf_free_bulk(bufs + from, n - from);
    return bytes;
}

void cable_miss(struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t from, uint32_t n)
{
    st->missed_bytes += free_rest(bufs, from, n);
    st->missed += n - from;
}

/* Every frame moonpy sends goes through here. Ports with hardware checksum offload run the
 * driver's rte_eth_tx_prepare first (what its NIC needs beyond MoonGen's pseudo-header sum,
 * which offload_l4 writes; a no-op for drivers that need nothing); a frame it
 * refuses (an offload request the NIC cannot do) is dropped and counted, like a wire error,
 * rather than retried forever. Returns the frames consumed, sent or dropped. */
uint16_t tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n)
{
    uint32_t flags = port_flags[port];
    if (flags & MP_PORT_DROP_ON_FULL) { /* a cable end */
        struct cable_txq *c = &cable_txqs[QIDX(port, queue)];
        if (likely(!(flags & MP_PORT_STEER_TX)) && c->ring != NULL)
            return cable_tx(c, bufs, n);
        return cable_steer(port, queue, bufs, n);
    }
    if (likely(!(flags & MP_PORT_TX_PREPARE)))
        return rte_eth_tx_burst(port, queue, bufs, n);
    uint16_t ok = rte_eth_tx_prepare(port, queue, bufs, n);
    uint16_t sent = ok ? rte_eth_tx_burst(port, queue, bufs, ok) : 0;
    if (ok < n && sent == ok) {
        rte_pktmbuf_free(bufs[ok]);
        txq_stats[QIDX(port, queue)].drops++;
        sent++;
    }
    return sent;
}

uint32_t drop_rest(struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t from, uint32_t n)
{
    st->drops += n - from;
    return (uint32_t)free_rest(bufs, from, n);
}

/* Send every buffer: retry while running; on a virtual cable a full peer ring
 * drops the rest (like a wire), counted so the receiver reports it as missed, unless the
 * peer holds the sender back (dropEnable = false: retry while running).
 * Buffers not sent are freed: the caller never owns them after this call. A bufArray's
 * offload request (req, NULL or flags 0: none) is carried out in the pass that counts the
 * bytes (offload_len), and cleared. */
static inline __attribute__((always_inline)) uint32_t
send_all(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
         struct mp_offload_req *req)
{
    uint32_t flags = port_flags[port];
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    struct mp_pacer *pc = &pacers[QIDX(port, queue)];
    /* count bytes first: once handed over, a buffer may already be freed */
    uint64_t bytes = 0;
    int counted = 0;
    if (req != NULL && req->flags != 0) {
        bytes = offload_len(bufs, n, req, (flags & MP_PORT_SW_CSUM) != 0);
        req->flags = 0;
        counted = 1;
    } else if (flags & MP_PORT_SW_CSUM) {
        bytes = sw_checksums_len(bufs, n);
        counted = 1;
    }
    if (unlikely(pc->cycles_per_byte != 0 || pc->cycles_per_pkt != 0))
        return send_paced(port, queue, pc, st, bufs, n);
    if (unlikely(held_queue >= 0))
        held_service(1); /* the rate was switched off with frames held */
    if (!counted)
        bytes = sum_len(bufs, n);
    uint32_t sent = tx_burst(port, queue, bufs, (uint16_t)n);
    while (sent < n) {
        if (cable_drops(flags)) {
            /* on a wire the frame left the sender: count it sent, and missed at the peer */
            cable_miss(st, bufs, sent, n);
            sent = n;
            break;
        }
        if (!mp_running(0)) {
            bytes -= drop_rest(st, bufs, sent, n);
            break;
        }
        sent += tx_burst(port, queue, bufs + sent, (uint16_t)(n - sent));
    }
    st->pkts += sent;
    st->bytes += bytes;
    return sent;
}

uint32_t mp_send_all(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    return send_all(port, queue, bufs, n, NULL);
}

uint32_t mp_send_all_req(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                         struct mp_offload_req *req)
{
    return send_all(port, queue, bufs, n, req);
}

uint32_t mp_try_send(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    if (unlikely(held_queue >= 0))
        held_service(1); /* a paced burst's held frames go first */
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    if (port_flags[port] & MP_PORT_SW_CSUM)
        mp_sw_checksums(bufs, n);
    uint64_t bytes = sum_len(bufs, n);
    uint32_t sent = tx_burst(port, queue, bufs, (uint16_t)n);
    if (sent < n)
        bytes -= sum_len(bufs + sent, n - sent);
    st->pkts += sent;
    st->bytes += bytes;
    return sent;
}

/* One frame with a software TX timestamp: the TSC right before the tx_burst that took it.
 * With tsc_offset >= 0 that TSC is also written into the frame (checksums requested by
 * the frame are computed after that write, as a NIC would). */
uint64_t mp_send_ts(uint16_t port, uint16_t queue, struct rte_mbuf *m, int32_t tsc_offset)
{
    if (unlikely(held_queue >= 0))
        held_service(1); /* a paced burst's held frames go first */
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    uint32_t flags = port_flags[port];
    uint32_t len = m->pkt_len;
    int stamp = tsc_offset >= 0 && (uint32_t)tsc_offset + 8 <= m->data_len;
    uint64_t tsc;
    if (!stamp && (flags & MP_PORT_SW_CSUM))
        sw_checksum_one(m);
    for (;;) {
        tsc = rte_rdtsc();
        if (stamp) {
            memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, tsc_offset), &tsc, 8);
            if (flags & MP_PORT_SW_CSUM)
                sw_checksum_one(m);
        }
        if (tx_burst(port, queue, &m, 1) == 1)
            break;
        if (cable_drops(flags)) {
            cable_miss(st, &m, 0, 1);
            break;
        }
        if (!mp_running(0)) {
            rte_pktmbuf_free(m);
            st->drops++;
            return 0;
        }
    }
    st->pkts++;
    st->bytes += len;
    return tsc;
}
