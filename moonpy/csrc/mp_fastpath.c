/*
 * mp_fastpath.c - the per-burst C functions behind `struct mp_api`.
 *
 * Everything here runs on worker threads in tight loops (LuaJIT FFI calls or
 * Cython nogil loops). Rules: no printing, no allocation, no locks; each
 * queue's counters are written only by the thread that owns the queue and
 * read (racily but atomically, 64-bit aligned) by the stats reader.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "mp_api.h"

static struct mp_queue_stats txq_stats[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
static struct mp_queue_stats rxq_stats[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
static struct mp_pacer pacers[MP_MAX_PORTS * MP_MAX_QUEUES] __rte_cache_aligned;
static uint32_t port_flags[MP_MAX_PORTS];
static int port_peer[MP_MAX_PORTS];
static int udata64_offset = -1;

/* The stop flag: running() is true while rdtsc() < deadline. UINT64_MAX means
 * "no deadline", checked first so the common case costs one load. */
static volatile uint64_t deadline = UINT64_MAX;
static volatile sig_atomic_t signals_seen;
static volatile sig_atomic_t last_signal;

#define QIDX(port, queue) ((uint32_t)(port) * MP_MAX_QUEUES + (queue))

int mp_running(uint64_t extra_cycles)
{
    uint64_t d = deadline;
    if (likely(d == UINT64_MAX))
        return 1;
    return rte_rdtsc() < d + extra_cycles;
}

int mp_running_now(void) { return mp_running(0); }

void mp_stop(void)
{
    uint64_t now = rte_rdtsc();
    if (now < deadline)
        deadline = now;
}

void mp_reset_lifecycle(void)
{
    deadline = UINT64_MAX;
    signals_seen = 0;
    last_signal = 0;
}

void mp_set_runtime_cycles(uint64_t cycles)
{
    uint64_t d = rte_rdtsc() + cycles;
    if (d < deadline)
        deadline = d;
}

static void on_signal(int signo)
{
    static const char msg[] = "Received more than one SIGINT/SIGTERM, aborting\n";
    last_signal = signo;
    if (signals_seen++ > 0) {
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)ignored;
        _exit(128 + signo);
    }
    deadline = rte_rdtsc(); /* async-signal-safe: an instruction and a store */
}

/* A C-level handler, because the main thread may sit inside a Lua call (the
 * master's own loop) where Python signal handlers would never get to run. */
void mp_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int mp_signal_received(void) { return last_signal; }

static uint64_t mp_rdtsc(void) { return rte_rdtsc(); }

static void mp_delay_cycles(uint64_t cycles)
{
    uint64_t end = rte_rdtsc() + cycles;
    while (rte_rdtsc() < end)
        rte_pause();
}

static void mp_stop_api(void) { mp_stop(); }

/* ---- buffers ---------------------------------------------------------- */

/* MoonGen's allocation: raw mempool gets plus a minimal metadata reset. The
 * data area is left alone on purpose: scripts write a template once (in the
 * pool's init function) and patch only a few fields per packet. */
int mp_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **bufs, uint32_t n, uint32_t len)
{
    if (unlikely(rte_mempool_get_bulk(pool, (void **)bufs, n) != 0))
        return -ENOBUFS;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        m->data_off = RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, m->buf_len);
        m->pkt_len = len;
        m->data_len = (uint16_t)len;
        m->ol_flags = 0;
        m->tx_offload = 0;
        m->vlan_tci = 0;
        m->packet_type = 0;
    }
    return (int)n;
}

void mp_free_bulk(struct rte_mbuf **bufs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (bufs[i] != NULL)
            rte_pktmbuf_free(bufs[i]);
}

static void mp_free_one(struct rte_mbuf *buf)
{
    if (buf != NULL)
        rte_pktmbuf_free(buf);
}

/* ---- software checksums ----------------------------------------------- */

/* Honour checksum-offload requests on ports that cannot do them, so frames on
 * the wire are valid. Lengths come from the (possibly nonsense) headers a
 * script wrote: never read past the frame. */
static void sw_checksum_one(struct rte_mbuf *m)
{
    uint64_t fl = m->ol_flags;
    uint64_t l4 = fl & RTE_MBUF_F_TX_L4_MASK;
    if (!(fl & RTE_MBUF_F_TX_IP_CKSUM) && l4 == 0)
        return;
    uint32_t l2 = m->l2_len, l3 = m->l3_len;
    uint32_t dlen = m->data_len;
    uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
    if (l2 + l3 > dlen || l3 < 20)
        return;
    if (fl & RTE_MBUF_F_TX_IPV6) {
        struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(data + l2);
        uint32_t plen = rte_be_to_cpu_16(ip6->payload_len);
        if (l3 != 40 || l2 + 40 + plen > dlen)
            return;
        if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && plen >= 8) {
            struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(data + l2 + l3);
            udp->dgram_cksum = 0;
            udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, udp);
        } else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && plen >= 20) {
            struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(data + l2 + l3);
            tcp->cksum = 0;
            tcp->cksum = rte_ipv6_udptcp_cksum(ip6, tcp);
        }
        return;
    }
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(data + l2);
    uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
    uint32_t tot = rte_be_to_cpu_16(ip->total_length);
    if (ihl < 20 || l2 + ihl > dlen)
        return;
    if (fl & RTE_MBUF_F_TX_IP_CKSUM) {
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    if (l4 == 0 || tot < ihl || l2 + tot > dlen)
        return;
    if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && tot >= ihl + 8) {
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
        udp->dgram_cksum = 0;
        udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    } else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && tot >= ihl + 20) {
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
        tcp->cksum = 0;
        tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    }
}

static void mp_sw_checksums(struct rte_mbuf **bufs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        sw_checksum_one(bufs[i]);
}

/* ---- TX ---------------------------------------------------------------- */

static inline uint64_t sum_len(struct rte_mbuf **bufs, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += bufs[i]->pkt_len;
    return bytes;
}

static uint32_t drop_rest(struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t from,
                          uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = from; i < n; i++) {
        bytes += bufs[i]->pkt_len;
        rte_pktmbuf_free(bufs[i]);
    }
    st->drops += n - from;
    return (uint32_t)bytes;
}

/* Software pacing: one frame at a time at its departure time (busy-wait on
 * the TSC, never sleep), so the gaps on the wire follow the target rate. */
static uint32_t send_paced(uint16_t port, uint16_t queue, struct mp_pacer *pc,
                           struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t sent = 0;
    uint64_t bytes = 0;
    uint64_t slack = rte_get_tsc_hz() / 1000;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint32_t len = m->pkt_len;
        uint64_t now = rte_rdtsc();
        if (pc->next_tsc == 0 || now > pc->next_tsc + slack)
            pc->next_tsc = now; /* idle for a while: restart the clock, no catch-up burst */
        while ((now = rte_rdtsc()) < pc->next_tsc) {
            if (unlikely(!mp_running(0)))
                goto out;
        }
        while (rte_eth_tx_burst(port, queue, &m, 1) == 0) {
            if (port_flags[port] & MP_PORT_DROP_ON_FULL) {
                rte_pktmbuf_free(m); /* sent on the wire, missed by the peer */
                st->drops++;
                break;
            }
            if (!mp_running(0))
                goto out;
        }
        sent++;
        bytes += len;
        pc->next_tsc += (uint64_t)(pc->cycles_per_pkt + pc->cycles_per_byte * (len + 4));
    }
out:
    st->pkts += sent;
    st->bytes += bytes;
    if (sent < n)
        drop_rest(st, bufs, sent, n);
    return sent;
}

/* Send every buffer: retry while running; on a virtual cable a full peer ring
 * drops the rest (like a wire), counted so the receiver reports it as missed.
 * Buffers not sent are freed: the caller never owns them after this call. */
uint32_t mp_send_all(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t flags = port_flags[port];
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    struct mp_pacer *pc = &pacers[QIDX(port, queue)];
    if (flags & MP_PORT_SW_CSUM)
        mp_sw_checksums(bufs, n);
    if (unlikely(pc->cycles_per_byte != 0 || pc->cycles_per_pkt != 0))
        return send_paced(port, queue, pc, st, bufs, n);
    /* count bytes first: once handed over, a buffer may already be freed */
    uint64_t bytes = sum_len(bufs, n);
    uint32_t sent = rte_eth_tx_burst(port, queue, bufs, (uint16_t)n);
    while (sent < n) {
        if (flags & MP_PORT_DROP_ON_FULL) {
            /* on a wire the frame left the sender: count it sent, and missed at the peer */
            drop_rest(st, bufs, sent, n);
            sent = n;
            break;
        }
        if (!mp_running(0)) {
            bytes -= drop_rest(st, bufs, sent, n);
            break;
        }
        sent += rte_eth_tx_burst(port, queue, bufs + sent, (uint16_t)(n - sent));
    }
    st->pkts += sent;
    st->bytes += bytes;
    return sent;
}

static uint32_t mp_try_send(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    if (port_flags[port] & MP_PORT_SW_CSUM)
        mp_sw_checksums(bufs, n);
    uint64_t bytes = sum_len(bufs, n);
    uint32_t sent = rte_eth_tx_burst(port, queue, bufs, (uint16_t)n);
    if (sent < n)
        bytes -= sum_len(bufs + sent, n - sent);
    st->pkts += sent;
    st->bytes += bytes;
    return sent;
}

/* ---- RX ---------------------------------------------------------------- */

uint32_t mp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    uint16_t nb = rte_eth_rx_burst(port, queue, bufs, (uint16_t)RTE_MIN(n, 65535u));
    if (nb) {
        struct mp_queue_stats *st = &rxq_stats[QIDX(port, queue)];
        st->pkts += nb;
        st->bytes += sum_len(bufs, nb);
    }
    return nb;
}

static uint32_t mp_rx_burst_ts(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t nb = mp_rx_burst(port, queue, bufs, n);
    if (nb && udata64_offset >= 0) {
        uint64_t tsc = rte_rdtsc();
        for (uint32_t i = 0; i < nb; i++)
            *RTE_MBUF_DYNFIELD(bufs[i], udata64_offset, uint64_t *) = tsc;
    }
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

/* ---- rings --------------------------------------------------------------- */

static uint32_t mp_ring_enqueue(struct rte_ring *r, void **objs, uint32_t n)
{
    return rte_ring_enqueue_burst(r, objs, n, NULL);
}

static uint32_t mp_ring_dequeue(struct rte_ring *r, void **objs, uint32_t n)
{
    return rte_ring_dequeue_burst(r, objs, n, NULL);
}

static uint32_t mp_ring_count(struct rte_ring *r) { return rte_ring_count(r); }

/* ---- registry of port kinds and counters ------------------------------- */

void mp_port_set(uint16_t port, uint32_t flags, int peer)
{
    if (port >= MP_MAX_PORTS)
        return;
    port_flags[port] = flags;
    port_peer[port] = peer;
}

uint32_t mp_port_flags_get(uint16_t port) { return port < MP_MAX_PORTS ? port_flags[port] : 0; }

int mp_port_peer(uint16_t port) { return port < MP_MAX_PORTS ? port_peer[port] : -1; }

/* Frames the peer of a cable end dropped because this end's RX ring was full. */
uint64_t mp_drops_into(uint16_t port)
{
    int peer = mp_port_peer(port);
    uint64_t total = 0;
    if (peer < 0 || !(port_flags[peer] & MP_PORT_DROP_ON_FULL))
        return 0;
    for (uint32_t q = 0; q < MP_MAX_QUEUES; q++)
        total += txq_stats[QIDX(peer, q)].drops;
    return total;
}

struct mp_queue_stats *mp_txq_stats(uint16_t port, uint16_t queue)
{
    return &txq_stats[QIDX(port, queue)];
}

struct mp_queue_stats *mp_rxq_stats(uint16_t port, uint16_t queue)
{
    return &rxq_stats[QIDX(port, queue)];
}

struct mp_pacer *mp_pacer_get(uint16_t port, uint16_t queue) { return &pacers[QIDX(port, queue)]; }

static struct mp_api api = {
    .abi_version = MP_API_VERSION,
    .size = sizeof(struct mp_api),
    .alloc_bulk = mp_alloc_bulk,
    .free_bulk = mp_free_bulk,
    .free_one = mp_free_one,
    .send_all = mp_send_all,
    .try_send = mp_try_send,
    .rx_burst = mp_rx_burst,
    .rx_burst_ts = mp_rx_burst_ts,
    .rdtsc = mp_rdtsc,
    .running = mp_running,
    .stop = mp_stop_api,
    .set_runtime_cycles = mp_set_runtime_cycles,
    .delay_cycles = mp_delay_cycles,
    .sw_checksums = mp_sw_checksums,
    .ring_enqueue = mp_ring_enqueue,
    .ring_dequeue = mp_ring_dequeue,
    .ring_count = mp_ring_count,
    .txq_stats = txq_stats,
    .rxq_stats = rxq_stats,
    .pacers = pacers,
    .max_queues = MP_MAX_QUEUES,
};

void mp_init(uint64_t tsc_hz, int udata_off)
{
    api.tsc_hz = tsc_hz;
    api.udata64_offset = udata_off;
    udata64_offset = udata_off;
    for (int i = 0; i < MP_MAX_PORTS; i++)
        port_peer[i] = -1;
}

const struct mp_api *mp_api_get(void) { return &api; }
