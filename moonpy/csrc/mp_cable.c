/* mp_cable.c - virtual cables: each TX queue's end of the peer's RX ring (cable_tx, its
 * owner the ring's only producer), RSS over the peer's RX queues (cable_tx_rss), and the
 * peer's RX counters derived from what was sent (mp_cable_arrived). */
#include <rte_atomic.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_port.h"
#include "mp_rss.h"

struct cable_txq cable_txqs[MP_MAX_PORTS * MP_MAX_QUEUES];

/* Receive-side scaling of a cable's receiving end: frames go to its RX queues by their RSS
 * hash (mp_rss.c) and this redirection table, as a NIC's would (reta[i] = base + i % nq, the
 * table libmoon's setRssQueues writes; 128 entries, as ixgbe has). The sending end does it:
 * TX queue q of one end feeds RX queue q of the other, so the frames of any TX queue go into
 * the ring of the RX queue their hash picks. Several TX queues may then fill one ring, so
 * these use rte_ring's multi-producer enqueue, not cable_tx's (MP_PORT_RSS_TX on the
 * sending end switches every one of its queues over). */
#define MP_RSS_RETA 128
struct cable_rss {
    uint64_t types; /* RTE_ETH_RSS_* */
    uint16_t nq;    /* 0: off */
    uint16_t nrx;   /* RX queues this end was configured with (0: not configured) */
    uint16_t ntx;   /* TX queues this end was configured with */
    uint16_t reta[MP_RSS_RETA];
};
static struct cable_rss cable_rss[MP_MAX_PORTS];

/* A NIC puts what every TX queue sends onto one wire, and the receiver's NIC delivers it to
 * RX queue 0 unless RSS or a filter steers it elsewhere. A cable's TX queue q feeds the
 * peer's RX queue q (which is how timestamped frames sent on queue 1 reach RX queue 1,
 * as MoonGen's timestamp filters put them there); but where the peer has no RX queue q,
 * nobody would ever read that ring, so those frames go to RX queue 0 instead. Several TX
 * queues then fill one ring: like RSS, that needs the multi-producer enqueue. */
int cable_needs_mp(int sender, int peer)
{
    if (peer < 0 || peer >= MP_MAX_PORTS || sender < 0 || sender >= MP_MAX_PORTS)
        return 0;
    const struct cable_rss *rx = &cable_rss[peer];
    return rx->nq != 0 || (rx->nrx != 0 && cable_rss[sender].ntx > rx->nrx);
}

/* Called once the ring exists and before any thread sends on the queue (NULL detaches):
 * a new cable's end starts without RSS, whatever an earlier port of that id had. */
void mp_cable_attach(uint16_t port, uint16_t queue, struct rte_ring *ring)
{
    if (port >= MP_MAX_PORTS || queue >= MP_MAX_QUEUES)
        return;
    cable_rss[port].nq = 0;
    cable_rss[port].nrx = 0;
    cable_rss[port].ntx = 0;
    struct cable_txq *c = &cable_txqs[QIDX(port, queue)];
    c->ring = ring;
    if (ring == NULL)
        return;
    c->head = ring->prod.head;
    c->free = 0;
    c->sink = 1; /* until the other end sets up its RX queues */
}

/* How many frames of the sender's pool a cable's ring may hold. On a NIC the receiver's
 * RX ring holds the receiver's own buffers and the sender's are freed as they leave; a
 * cable's ring holds the sender's buffers, so a receiver that does not read would take
 * them all and a sender with a small pool (MoonGen's default 2047 with bufArrays of 1023)
 * would wait in alloc forever. Half the sender's pool is the share libmoon's RX pools give
 * their ring (numBufs = 2 * rxDescs - 1); beyond it frames are missed, as on a full NIC
 * ring. Read only when the known free slots run out (not per burst). */
static inline uint32_t cable_cap(const struct rte_ring *r, const struct rte_mbuf *m)
{
    uint32_t half = m->pool != NULL ? m->pool->size / 2 : r->capacity;
    return RTE_MIN(r->capacity, RTE_MAX(half, 1u));
}

uint16_t cable_tx(struct cable_txq *c, struct rte_mbuf **bufs, uint16_t n)
{
    struct rte_ring *r = c->ring; /* its first line (size, mask) is never written again */
    if (unlikely(c->free < n)) {
        if (c->sink)
            return 0; /* tx_burst: on the wire, missed by the peer */
        uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
        uint32_t used = c->head - cons;
        uint32_t cap = cable_cap(r, bufs[0]);
        c->free = used < cap ? cap - used : 0;
        if (n > c->free)
            n = (uint16_t)c->free;
        if (n == 0)
            return 0;
    }
    void **slots = (void **)&r[1]; /* rte_ring keeps its pointer entries right after itself */
    uint32_t head = c->head;
    for (uint16_t i = 0; i < n; i++)
        slots[(head + i) & r->mask] = bufs[i];
    head += n;
    c->head = head;
    c->free -= n;
    r->prod.head = head;
    __atomic_store_n(&r->prod.tail, head, __ATOMIC_RELEASE); /* the frames are out */
    return n;
}

/* Switch the sending end `sender` between cable_tx (its queues the only producers of
 * their rings) and cable_tx_rss (multi-producer enqueue), as cable_needs_mp says; back on
 * cable_tx, each queue takes up the ring's head again. */
static void cable_tx_mode(int sender)
{
    if (sender < 0 || sender >= MP_MAX_PORTS)
        return;
    int was = (port_flags[sender] & MP_PORT_RSS_TX) != 0;
    if (cable_needs_mp(sender, port_peer[sender])) {
        port_flags[sender] |= MP_PORT_RSS_TX;
        return;
    }
    port_flags[sender] &= ~MP_PORT_RSS_TX;
    if (!was)
        return;
    for (uint16_t q = 0; q < MP_MAX_QUEUES; q++) {
        struct cable_txq *c = &cable_txqs[QIDX(sender, q)];
        if (c->ring != NULL) {
            c->head = c->ring->prod.head;
            c->free = 0;
        }
    }
}

/* RSS for what arrives at cable end `port` (struct cable_rss); set before traffic flows. */
void mp_cable_rss(uint16_t port, uint16_t nq, uint16_t base, uint64_t types)
{
    if (port >= MP_MAX_PORTS)
        return;
    struct cable_rss *rss = &cable_rss[port];
    rss->nq = nq > 1 ? nq : 0;
    rss->types = types;
    for (uint32_t i = 0; i < MP_RSS_RETA; i++)
        rss->reta[i] = (uint16_t)(base + (nq > 1 ? i % nq : 0));
    cable_tx_mode(port_peer[port]);
}

/* The queue counts cable end `port` was configured with (device.config), set after its
 * flags (mp_port_set): what its peer sends on a TX queue it has no RX queue for goes to
 * RX queue 0 (cable_needs_mp). */
void mp_cable_queues(uint16_t port, uint16_t nrx, uint16_t ntx)
{
    if (port >= MP_MAX_PORTS)
        return;
    cable_rss[port].nrx = nrx;
    cable_rss[port].ntx = ntx;
    cable_tx_mode(port);
    cable_tx_mode(port_peer[port]);
}

/* Hash, then enqueue each run of frames bound for one RX queue; the first frames that did
 * not fit end it (as a full ring ends a burst). Frames the peer has no such queue for
 * (a table set up with more queues than the cable has) go to the sender's own queue's. */
uint16_t cable_tx_rss(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n)
{
    const struct cable_rss *rss = &cable_rss[port_peer[port]];
    struct rte_ring *own = cable_txqs[QIDX(port, queue)].ring;
    if (rss->nq == 0) { /* no RSS: one ring for the whole burst (cable_needs_mp) */
        struct rte_ring *r = queue < rss->nrx ? own : cable_txqs[QIDX(port, 0)].ring;
        return (uint16_t)rte_ring_mp_enqueue_burst(r, (void **)bufs, n, NULL);
    }
    struct rte_ring *to[64];
    uint16_t done = 0;
    while (done < n) {
        uint16_t k = (uint16_t)RTE_MIN(n - done, 64);
        for (uint16_t i = 0; i < k; i++) {
            struct rte_mbuf *m = bufs[done + i];
            uint32_t h = mp_rss_hash(m, rss->types);
            m->hash.rss = h;
            m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
            struct rte_ring *r = cable_txqs[QIDX(port, rss->reta[h % MP_RSS_RETA])].ring;
            to[i] = r != NULL ? r : own;
        }
        for (uint16_t i = 0; i < k;) {
            uint16_t j = (uint16_t)(i + 1);
            while (j < k && to[j] == to[i])
                j++;
            unsigned got = rte_ring_mp_enqueue_burst(to[i], (void **)(bufs + done + i),
                                                     (unsigned)(j - i), NULL);
            if (got < (unsigned)(j - i))
                return (uint16_t)(done + i + got);
            i = j;
        }
        done = (uint16_t)(done + k);
    }
    return n;
}

/* A NIC's RX counters for a cable end, from what its peer sent: every frame that left the
 * peer reached this port, either into an RX ring (ipackets, counted when it is put there,
 * read by a task or not) or missed. Each TX queue's owner writes its own line; the sums are
 * read without a lock, so a reader may see a burst's pkts before its misses (off by at most
 * one burst for that instant). */
void mp_cable_arrived(uint16_t port, uint64_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    int peer = mp_port_peer(port);
    if (peer < 0 || peer >= MP_MAX_PORTS || !(port_flags[peer] & MP_PORT_DROP_ON_FULL))
        return;
    for (uint32_t q = 0; q < MP_MAX_QUEUES; q++) {
        const struct mp_queue_stats *t = &txq_stats[QIDX(peer, q)];
        uint64_t missed = __atomic_load_n(&t->missed, __ATOMIC_ACQUIRE);
        uint64_t mbytes = __atomic_load_n(&t->missed_bytes, __ATOMIC_RELAXED);
        uint64_t pkts = __atomic_load_n(&t->pkts, __ATOMIC_RELAXED);
        uint64_t bytes = __atomic_load_n(&t->bytes, __ATOMIC_RELAXED);
        out[0] += pkts > missed ? pkts - missed : 0;
        out[1] += bytes > mbytes ? bytes - mbytes : 0;
        out[2] += missed;
        out[3] += mbytes;
    }
}

/* Cable end `port` receives on RX queues 0..nrxq-1 from now on (0: none): the peer's TX
 * queue q feeds RX queue q, so its queues q >= nrxq become sinks. */
void mp_cable_rx_queues(uint16_t port, uint16_t nrxq)
{
    int peer = mp_port_peer(port);
    if (peer < 0 || peer >= MP_MAX_PORTS)
        return;
    for (uint16_t q = 0; q < MP_MAX_QUEUES; q++)
        __atomic_store_n(&cable_txqs[QIDX(peer, q)].sink, q >= nrxq ? 1u : 0u, __ATOMIC_RELEASE);
}
