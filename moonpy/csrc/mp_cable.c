/* mp_cable.c - virtual cables. Each end's RX queues are moonpy's own rings (any count up
 * to MP_MAX_QUEUES, made when the end is configured); the sending end puts each frame
 * straight into the ring of the RX queue the receiving end's NIC would deliver it to
 * (filters, then RSS, else queue 0: cable_steer), and the receiving end's RX counters
 * follow from what was sent (mp_cable_arrived). */
#include <errno.h>

#include <rte_atomic.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mp_api.h"
#include "mp_cable.h"
#include "mp_port.h"
#include "mp_rss.h"
#include "mp_tx.h"

struct cable_txq cable_txqs[MP_MAX_PORTS * MP_MAX_QUEUES];

/* What the receiving side of a cable end does with what its peer sends, as a NIC (ixgbe,
 * the card MoonGen's filters were written for) does: ethertype filters first, five-tuple
 * filters by priority next, then the flow-director match on two payload bytes of IPv4
 * frames (libmoon's filterUdpTimestamps: bytes 42/43, a UDP PTP frame's type and version),
 * then RSS (the Toeplitz hash, mp_rss.c, and a 128-entry redirection table: reta[i] =
 * base + i % nq, the table libmoon's setRssQueues writes), and RX queue 0 for the rest.
 * Written by the control plane before traffic flows; `nrx` is published last. */
#define MP_RSS_RETA 128
#define CABLE_ETYPE_MAX 8    /* ixgbe's ETQF filters */
#define CABLE_TUPLE_MAX 128  /* ... its five-tuple filters */
#define CABLE_FLEX_MAX 8
#define CABLE_FILTERS_MAX (CABLE_ETYPE_MAX + CABLE_TUPLE_MAX + CABLE_FLEX_MAX)
struct cable_end {
    struct rte_ring *rx[MP_MAX_QUEUES];
    uint16_t nrx;    /* RX queues configured (0: not receiving: frames are missed) */
    uint16_t ntx;    /* TX queues configured */
    uint8_t nodrop;  /* dropEnable = false: a full RX ring holds the sender back */
    uint16_t nfilters, netype, ntuple; /* filters[] holds ethertype, five-tuple, flex */
    uint16_t rss_nq; /* 0: off */
    uint64_t rss_types;
    uint16_t reta[MP_RSS_RETA];
    struct mp_cable_filter filters[CABLE_FILTERS_MAX];
};
static struct cable_end cable_ends[MP_MAX_PORTS];

static inline int valid_port(int p) { return p >= 0 && p < MP_MAX_PORTS; }

/* A sending end goes `direct` (cable_tx, below) where nothing needs a look at the frames:
 * the peer receives, has neither filters nor RSS, and this end has one TX queue, so every
 * frame goes to the peer's RX queue 0 with this queue its ring's only producer. Otherwise
 * every burst goes through cable_steer (MP_PORT_STEER_TX), with rte_ring's multi-producer
 * enqueue. MP_PORT_HOLD: the peer was configured with dropEnable = false. Called whenever
 * either end's configuration changes (mp_port_set rewrites the flags first). */
void cable_mode(int sender)
{
    if (!valid_port(sender) || !(port_flags[sender] & MP_PORT_DROP_ON_FULL))
        return;
    int peer = port_peer[sender];
    const struct cable_end *rx = valid_port(peer) ? &cable_ends[peer] : NULL;
    int receiving = rx != NULL && rx->nrx > 0;
    int direct = receiving && rx->nfilters == 0 && rx->rss_nq == 0 && cable_ends[sender].ntx <= 1;
    uint32_t flags = port_flags[sender] & ~(MP_PORT_STEER_TX | MP_PORT_HOLD);
    if (receiving && rx->nodrop)
        flags |= MP_PORT_HOLD;
    struct cable_txq *c = &cable_txqs[QIDX(sender, 0)];
    if (direct) {
        c->ring = rx->rx[0];
        c->head = c->ring->prod.head; /* take up the ring where the last producer left it */
        c->free = 0;
    } else {
        flags |= MP_PORT_STEER_TX;
        c->ring = NULL;
    }
    __atomic_store_n(&port_flags[sender], flags, __ATOMIC_RELEASE);
}

/* Cable end `port` receives on the rings rx[0 .. nrx-1] from now on (nrx 0: it stops
 * receiving; what its peer sends is missed) and sends on `ntx` TX queues; a fresh
 * configuration has no filters and no RSS. */
void mp_cable_end(uint16_t port, uint16_t nrx, uint16_t ntx, int nodrop, struct rte_ring **rx)
{
    if (port >= MP_MAX_PORTS || nrx > MP_MAX_QUEUES)
        return;
    struct cable_end *e = &cable_ends[port];
    __atomic_store_n(&e->nrx, 0, __ATOMIC_RELEASE);
    e->nfilters = e->netype = e->ntuple = 0;
    e->rss_nq = 0;
    for (uint16_t q = 0; q < MP_MAX_QUEUES; q++)
        e->rx[q] = q < nrx ? rx[q] : NULL;
    e->ntx = ntx;
    e->nodrop = nodrop != 0;
    __atomic_store_n(&e->nrx, nrx, __ATOMIC_RELEASE);
    cable_mode(port);
    cable_mode(port_peer[port]);
}

/* RSS for what arrives at cable end `port`; set before traffic flows. */
void mp_cable_rss(uint16_t port, uint16_t nq, uint16_t base, uint64_t types)
{
    if (port >= MP_MAX_PORTS)
        return;
    struct cable_end *e = &cable_ends[port];
    e->rss_nq = nq > 1 ? nq : 0;
    e->rss_types = types;
    for (uint32_t i = 0; i < MP_RSS_RETA; i++)
        e->reta[i] = (uint16_t)(base + (nq > 1 ? i % nq : 0));
    cable_mode(port_peer[port]);
}

/* Filters of one class stay in the order they apply: ethertype filters, then five-tuple
 * filters by priority (higher first; equal ones in the order they were added), then the
 * flex-byte ones. */
int mp_cable_filter_add(uint16_t port, const struct mp_cable_filter *f)
{
    if (port >= MP_MAX_PORTS || f->kind < MP_FILTER_ETYPE || f->kind > MP_FILTER_FLEX)
        return -EINVAL;
    struct cable_end *e = &cable_ends[port];
    uint16_t nflex = (uint16_t)(e->nfilters - e->netype - e->ntuple);
    /* one ethertype filter per ethertype, as ixgbe keeps them: adding it again is -EEXIST
     * (scripts that install their timestamp filter once per trial see libmoon's warning) */
    if (f->kind == MP_FILTER_ETYPE)
        for (uint16_t i = 0; i < e->netype; i++)
            if (e->filters[i].etype == f->etype)
                return -EEXIST;
    if ((f->kind == MP_FILTER_ETYPE && e->netype >= CABLE_ETYPE_MAX)
        || (f->kind == MP_FILTER_TUPLE && e->ntuple >= CABLE_TUPLE_MAX)
        || (f->kind == MP_FILTER_FLEX && nflex >= CABLE_FLEX_MAX))
        return -ENOSPC;
    uint16_t at;
    if (f->kind == MP_FILTER_ETYPE) {
        at = e->netype++;
    } else if (f->kind == MP_FILTER_TUPLE) {
        at = (uint16_t)(e->netype + e->ntuple);
        while (at > e->netype && e->filters[at - 1].priority < f->priority)
            at--;
        e->ntuple++;
    } else {
        at = e->nfilters;
    }
    for (uint16_t i = e->nfilters; i > at; i--)
        e->filters[i] = e->filters[i - 1];
    e->filters[at] = *f;
    e->nfilters++;
    cable_mode(port_peer[port]);
    return 0;
}

int mp_cable_filter_get(uint16_t port, int i, struct mp_cable_filter *out)
{
    if (port >= MP_MAX_PORTS || i < 0 || i >= cable_ends[port].nfilters)
        return -ENOENT;
    *out = cable_ends[port].filters[i];
    return 0;
}

static inline int masked_eq(uint32_t v, uint32_t want, uint32_t mask)
{
    return ((v ^ want) & mask) == 0;
}

/* The RX queue the filters of `e` steer frame `m` to (-1: a filter drops it;
 * FILTER_NO_MATCH: none matches). Reads only the first segment, as far as the frame goes. */
static int filter_queue_of(const struct cable_end *e, const struct rte_mbuf *m)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t len = m->data_len;
    uint16_t et = len >= 14 ? (uint16_t)(p[12] << 8 | p[13]) : 0;
    uint32_t l3 = 14;
    if ((et == 0x8100 || et == 0x88A8) && len >= 18) { /* the type after one tag */
        et = (uint16_t)(p[16] << 8 | p[17]);
        l3 = 18;
    }
    uint16_t i = 0;
    for (; i < e->netype; i++)
        if (e->filters[i].etype == et)
            return e->filters[i].queue;
    if (et == 0x0800 && len >= l3 + 20) {
        const uint8_t *ip = p + l3;
        uint32_t ihl = (uint32_t)(ip[0] & 0xF) * 4;
        uint8_t proto = ip[9];
        uint32_t src = rte_be_to_cpu_32(*(const rte_be32_t *)(ip + 12));
        uint32_t dst = rte_be_to_cpu_32(*(const rte_be32_t *)(ip + 16));
        uint16_t sport = 0, dport = 0;
        if ((proto == 6 || proto == 17 || proto == 132) && ihl >= 20
            && len >= l3 + ihl + 4) {
            sport = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
            dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
        }
        uint16_t tuple_end = (uint16_t)(e->netype + e->ntuple);
        for (; i < tuple_end; i++) {
            const struct mp_cable_filter *f = &e->filters[i];
            if (masked_eq(src, f->src_ip, f->src_mask) && masked_eq(dst, f->dst_ip, f->dst_mask)
                && masked_eq(sport, f->sport, f->sport_mask)
                && masked_eq(dport, f->dport, f->dport_mask)
                && masked_eq(proto, f->proto, f->proto_mask))
                return f->queue;
        }
        if (len >= 44)
            for (; i < e->nfilters; i++)
                if (p[42] == e->filters[i].flex[0] && p[43] == e->filters[i].flex[1])
                    return e->filters[i].queue;
    }
    return FILTER_NO_MATCH;
}

/* The RX queue cable end `e` delivers frame `m` to (-1: a filter drops it): its filters,
 * then RSS, then queue 0. */
static int cable_queue_of(const struct cable_end *e, struct rte_mbuf *m)
{
    uint32_t h = 0;
    if (e->rss_nq) {
        h = mp_rss_hash(m, e->rss_types);
        m->hash.rss = h;
        m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
    }
    if (e->nfilters) {
        int q = filter_queue_of(e, m);
        if (q != FILTER_NO_MATCH)
            return q;
    }
    return e->rss_nq ? e->reta[h % MP_RSS_RETA] : 0;
}

/* The same filters on a port moonpy steers in software (mp_swsteer.c): the table is the
 * port's whatever its kind; nothing installed is FILTER_NO_MATCH. */
int port_filter_queue(uint16_t port, const struct rte_mbuf *m)
{
    if (port >= MP_MAX_PORTS || cable_ends[port].nfilters == 0)
        return FILTER_NO_MATCH;
    return filter_queue_of(&cable_ends[port], m);
}

/* A fresh filter table for `port` (a port that is not a cable end is configured). */
void port_filters_clear(uint16_t port)
{
    if (port < MP_MAX_PORTS)
        cable_ends[port].nfilters = cable_ends[port].netype = cable_ends[port].ntuple = 0;
}

/* How many frames of the sender's pool a cable's ring may hold. On a NIC the receiver's
 * RX ring holds the receiver's own buffers and the sender's are freed as they leave; a
 * cable's ring holds the sender's buffers, so a receiver that does not read would take
 * them all and a sender with a small pool (MoonGen's default 2047 with bufArrays of 1023)
 * would wait in alloc forever. Half the sender's pool is the share libmoon's RX pools give
 * their ring (numBufs = 2 * rxDescs - 1); beyond it frames are missed, as on a full NIC
 * ring (or, MP_PORT_HOLD, wait). Read only when the known free slots run out. */
static inline uint32_t cable_cap(const struct rte_ring *r, const struct rte_mbuf *m)
{
    uint32_t half = m->pool != NULL ? m->pool->size / 2 : r->capacity;
    return RTE_MIN(r->capacity, RTE_MAX(half, 1u));
}

/* The direct path: this queue is the only producer of the peer's RX ring 0 (struct
 * cable_txq). Returns the frames that fit (the rest: ring full). */
uint16_t cable_tx(struct cable_txq *c, struct rte_mbuf **bufs, uint16_t n)
{
    struct rte_ring *r = c->ring; /* its first line (size, mask) is never written again */
    if (unlikely(c->free < n)) {
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

/* Up to n frames into ring r with the multi-producer enqueue, within cable_cap. */
static inline unsigned steer_enqueue(struct rte_ring *r, struct rte_mbuf **bufs, unsigned n)
{
    uint32_t cap = cable_cap(r, bufs[0]);
    uint32_t used = rte_ring_count(r);
    unsigned room = used < cap ? cap - used : 0;
    return rte_ring_mp_enqueue_burst(r, (void **)bufs, RTE_MIN(n, room), NULL);
}

/* Every other case: each frame to the ring of the RX queue the peer delivers it to, each
 * run of frames for one queue in one enqueue. Frames the peer has no RX queue for (it does
 * not receive, or a filter drops them) left the wire and are missed there, freed at once
 * as a NIC frees what it sent. Returns the frames consumed; it stops at the first frame
 * that finds its ring full (the caller misses or retries the rest). */
uint16_t cable_steer(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n)
{
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    int peer = port_peer[port];
    const struct cable_end *e = valid_port(peer) ? &cable_ends[peer] : NULL;
    uint16_t nrx = e != NULL ? __atomic_load_n(&e->nrx, __ATOMIC_ACQUIRE) : 0;
    if (nrx == 0) {
        cable_miss(st, bufs, 0, n);
        return n;
    }
    if (e->nfilters == 0 && e->rss_nq == 0) /* several TX queues into RX queue 0 */
        return (uint16_t)steer_enqueue(e->rx[0], bufs, n);
    int to[64];
    uint16_t done = 0;
    while (done < n) {
        uint16_t k = (uint16_t)RTE_MIN(n - done, 64);
        for (uint16_t i = 0; i < k; i++)
            to[i] = cable_queue_of(e, bufs[done + i]);
        for (uint16_t i = 0; i < k;) {
            uint16_t j = (uint16_t)(i + 1);
            while (j < k && to[j] == to[i])
                j++;
            struct rte_mbuf **run = bufs + done + i;
            if (to[i] < 0 || to[i] >= nrx) {
                cable_miss(st, run, 0, (uint32_t)(j - i));
            } else {
                unsigned got = steer_enqueue(e->rx[to[i]], run, (unsigned)(j - i));
                if (got < (unsigned)(j - i))
                    return (uint16_t)(done + i + got);
            }
            i = j;
        }
        done = (uint16_t)(done + k);
    }
    return n;
}

/* RX queue `queue` of cable end `port`: its ring (sc: one task reads one queue). */
uint16_t cable_rx(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n)
{
    if (unlikely(port >= MP_MAX_PORTS || queue >= MP_MAX_QUEUES))
        return 0;
    struct rte_ring *r = cable_ends[port].rx[queue];
    if (unlikely(r == NULL))
        return 0;
    return (uint16_t)rte_ring_sc_dequeue_burst(r, (void **)bufs, n, NULL);
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
