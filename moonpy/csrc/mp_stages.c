/*
 * mp_stages.c - where a sent packet's cycles go (`moonpy bench --stages`): the C reference
 * loops of mp_bench.c cut into stages with a TSC read between them, and the same for the
 * per-packet work of dpdk-testpmd's txonly engine (rewritten here from its documented
 * behaviour, so the two paths are timed by one clock in one process on one port).
 *
 * Bench code, never on a script's path. Each stage's time is taken per burst and the
 * median burst is reported: a 2-core VM shared with other work preempts the loop now and
 * then, and a mean would charge that to whichever stage it hit. The TSC reads themselves
 * (the median of an empty interval) are subtracted.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include "mp_api.h"
#include "mp_buffers.h"
#include "mp_checksum.h"
#include "mp_port.h"
#include "mp_stages.h"
#include "mp_tx.h"

#define BURST 63
#define SAMPLES 16384 /* bursts kept per stage (a ring: the last ones) */

/* moonpy's math.random, as mp_bench.c draws it (xoshiro256**, top 53 bits, floor) */
struct prng {
    uint64_t s[4];
};

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t draw(struct prng *p, double range)
{
    uint64_t *s = p->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return (uint64_t)((double)(int64_t)(r >> 11) * 0x1p-53 * range);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

struct samples {
    uint32_t *v[MP_STAGE_COUNT];
    uint64_t n[MP_STAGE_COUNT];
};

static inline void keep(struct samples *s, int stage, uint64_t cycles)
{
    s->v[stage][s->n[stage]++ % SAMPLES] = (uint32_t)RTE_MIN(cycles, (uint64_t)UINT32_MAX);
}

static double median(struct samples *s, int stage)
{
    uint64_t n = RTE_MIN(s->n[stage], (uint64_t)SAMPLES);
    if (n == 0)
        return -1.0;
    qsort(s->v[stage], n, sizeof(uint32_t), cmp_u32);
    return s->v[stage][n / 2];
}

/* the random fields of the bench scenarios: 2 (source IP and port) or 8 */
static void fill(struct rte_mbuf **bufs, int fields, struct prng *p)
{
    for (int i = 0; i < BURST; i++) {
        uint8_t *d = rte_pktmbuf_mtod(bufs[i], uint8_t *);
        *(uint32_t *)(d + 26) = rte_cpu_to_be_32((uint32_t)draw(p, 4294967296.0));
        *(uint16_t *)(d + 34) = rte_cpu_to_be_16((uint16_t)draw(p, 65536.0));
        if (fields == 8) {
            *(uint32_t *)(d + 30) = rte_cpu_to_be_32((uint32_t)draw(p, 4294967296.0));
            *(uint16_t *)(d + 36) = rte_cpu_to_be_16((uint16_t)draw(p, 65536.0));
            d[22] = (uint8_t)draw(p, 256.0);
            *(uint16_t *)(d + 18) = rte_cpu_to_be_16((uint16_t)draw(p, 65536.0));
            d[15] = (uint8_t)draw(p, 256.0);
            *(uint32_t *)(d + 42) = (uint32_t)draw(p, 4294967296.0);
        }
    }
}

/* testpmd txonly's per-packet preparation: metadata, the three headers copied from a
 * template, and with multi-flow a source address from a per-core counter plus the IPv4
 * header's length and checksum written again (the checksum in software) */
struct txonly_tmpl {
    struct rte_ether_hdr eth;
    struct rte_ipv4_hdr ip;
    struct rte_udp_hdr udp;
};

static void txonly_template(struct txonly_tmpl *t, uint32_t size)
{
    memset(t, 0, sizeof(*t));
    t->eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    t->eth.src_addr.addr_bytes[0] = 0x02;
    t->eth.dst_addr.addr_bytes[0] = 0x10;
    uint16_t l3 = (uint16_t)(size - sizeof(struct rte_ether_hdr));
    t->ip.version_ihl = RTE_IPV4_VHL_DEF;
    t->ip.time_to_live = 64;
    t->ip.next_proto_id = IPPROTO_UDP;
    t->ip.total_length = rte_cpu_to_be_16(l3);
    t->ip.src_addr = rte_cpu_to_be_32(0xC0A80001);
    t->ip.dst_addr = rte_cpu_to_be_32(0xC0A80002);
    t->ip.hdr_checksum = rte_ipv4_cksum(&t->ip);
    t->udp.src_port = rte_cpu_to_be_16(9);
    t->udp.dst_port = rte_cpu_to_be_16(9);
    t->udp.dgram_len = rte_cpu_to_be_16((uint16_t)(l3 - sizeof(struct rte_ipv4_hdr)));
}

static void txonly_prepare(struct rte_mbuf **bufs, const struct txonly_tmpl *t, uint32_t size,
                           int multi_flow, uint8_t *flow)
{
    for (int i = 0; i < BURST; i++) {
        struct rte_mbuf *m = bufs[i];
        rte_pktmbuf_reset_headroom(m);
        m->data_len = (uint16_t)size;
        m->ol_flags &= RTE_MBUF_F_EXTERNAL;
        m->vlan_tci = 0;
        m->vlan_tci_outer = 0;
        m->l2_len = sizeof(struct rte_ether_hdr);
        m->l3_len = sizeof(struct rte_ipv4_hdr);
        uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
        rte_memcpy(d, &t->eth, sizeof(t->eth));
        rte_memcpy(d + sizeof(t->eth), &t->ip, sizeof(t->ip));
        rte_memcpy(d + sizeof(t->eth) + sizeof(t->ip), &t->udp, sizeof(t->udp));
        if (multi_flow) {
            struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + sizeof(t->eth));
            struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
            ip->src_addr = rte_cpu_to_be_32(0xC0A80001 | ((uint32_t)(*flow)++ << 8));
            uint16_t l3 = (uint16_t)(size - sizeof(struct rte_ether_hdr));
            udp->dgram_len = rte_cpu_to_be_16((uint16_t)(l3 - sizeof(*ip)));
            ip->hdr_checksum = 0;
            ip->total_length = rte_cpu_to_be_16(l3);
            ip->hdr_checksum = rte_ipv4_cksum(ip);
        }
        m->nb_segs = 1;
        m->pkt_len = size;
    }
}

/* Every buffer of the pool gets the bench scenarios' frame, as benchmark.lua's pool
 * initialiser writes it: without valid headers the offload request and the software
 * checksums would skip their work. */
static void write_template(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
    (void)mp;
    (void)idx;
    struct rte_mbuf *m = obj;
    memcpy((uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM, arg, sizeof(struct txonly_tmpl));
}

/* Send a burst the way mp_send_all does, minus its counters and pacing: tx_burst until
 * all are taken; on a cable a full ring drops the rest (as mp_send_all does there). */
static void send_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t sent = tx_burst(port, queue, bufs, (uint16_t)n);
    while (sent < n) {
        if (port_flags[port] & MP_PORT_DROP_ON_FULL) {
            struct mp_queue_stats scratch = {0};
            cable_miss(&scratch, bufs, sent, n);
            return;
        }
        if (!mp_running(0)) {
            rte_pktmbuf_free_bulk(bufs + sent, n - sent);
            return;
        }
        sent += tx_burst(port, queue, bufs + sent, (uint16_t)(n - sent));
    }
}

int mp_bench_stages(int scenario, uint16_t port, uint16_t queue, struct rte_mempool *pool,
                    uint32_t size, double seconds, double *out)
{
    struct samples s;
    memset(&s, 0, sizeof(s));
    for (int k = 0; k < MP_STAGE_COUNT; k++) {
        s.v[k] = malloc(SAMPLES * sizeof(uint32_t));
        if (s.v[k] == NULL) {
            for (int j = 0; j < k; j++)
                free(s.v[j]);
            return -12; /* -ENOMEM */
        }
    }
    struct rte_mbuf *bufs[BURST];
    struct prng p = {{0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull,
                      0x2545f4914f6cdd1dull}};
    struct txonly_tmpl tmpl;
    txonly_template(&tmpl, size);
    rte_mempool_obj_iter(pool, write_template, &tmpl);
    uint8_t flow = 0;
    const uint64_t flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    /* a cable computes requested checksums in software, in the send's pass */
    int sw_csum = (port_flags[port] & MP_PORT_SW_CSUM) != 0;
    int txonly = scenario == MP_STAGES_TXONLY || scenario == MP_STAGES_TXONLY_MF;
    uint16_t room = rte_pktmbuf_data_room_size(pool);
    uint16_t headroom = RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, room);
    uint64_t stop = rte_rdtsc() + (uint64_t)(seconds * (double)rte_get_tsc_hz());
    uint64_t bursts = 0;
    volatile uint64_t sink = 0; /* the byte counts, kept */
    while (mp_running(0) && rte_rdtsc() < stop) {
        uint64_t t0 = rte_rdtsc();
        if (rte_mempool_get_bulk(pool, (void **)bufs, BURST) != 0)
            continue;
        uint64_t t1 = rte_rdtsc();
        if (txonly)
            txonly_prepare(bufs, &tmpl, size, scenario == MP_STAGES_TXONLY_MF, &flow);
        else
            mp_reset_bufs(bufs, BURST, size, headroom);
        uint64_t t2 = rte_rdtsc();
        if (scenario == MP_STAGES_RANDOM || scenario == MP_STAGES_HEAVY)
            fill(bufs, scenario == MP_STAGES_HEAVY ? 8 : 2, &p);
        uint64_t t3 = rte_rdtsc();
        /* the send's pass (mp_send_all_req): the TX byte count with the offload request
         * carried out, on a cable the checksums computed in software */
        if (scenario == MP_STAGES_RANDOM || scenario == MP_STAGES_HEAVY) {
            struct mp_offload_req req = {flags, 14, 20, 6, BURST};
            sink += offload_len(bufs, BURST, &req, sw_csum);
        } else if (!txonly) {
            sink += sw_csum ? sw_checksums_len(bufs, BURST) : sum_len(bufs, BURST);
        }
        uint64_t t4 = rte_rdtsc();
        /* every other burst is freed instead of sent: the buffer recycling the driver does
         * on a null port (rte_pktmbuf_free_bulk), timed on its own */
        int freed = (bursts & 1) != 0;
        if (freed)
            rte_pktmbuf_free_bulk(bufs, BURST);
        else
            send_burst(port, queue, bufs, BURST);
        uint64_t t5 = rte_rdtsc();
        uint64_t t6 = rte_rdtsc();
        keep(&s, MP_STAGE_GET, t1 - t0);
        keep(&s, MP_STAGE_RESET, t2 - t1);
        keep(&s, MP_STAGE_FILL, t3 - t2);
        keep(&s, MP_STAGE_PASS, t4 - t3);
        keep(&s, freed ? MP_STAGE_FREE : MP_STAGE_SEND, t5 - t4);
        keep(&s, MP_STAGE_CLOCK, t6 - t5);
        if (!freed)
            keep(&s, MP_STAGE_TOTAL, t5 - t0);
        bursts++;
    }
    double clock = median(&s, MP_STAGE_CLOCK);
    for (int k = 0; k < MP_STAGE_COUNT; k++) {
        double m = median(&s, k);
        if (k == MP_STAGE_TOTAL)
            m -= 5 * clock; /* five reads inside a sent burst's interval */
        else if (k != MP_STAGE_CLOCK && m >= 0)
            m -= clock;
        out[k] = m < 0 && s.n[k] ? 0.0 : m / BURST;
    }
    out[MP_STAGE_CLOCK] = clock;
    for (int k = 0; k < MP_STAGE_COUNT; k++)
        free(s.v[k]);
    return (int)RTE_MIN(bursts, (uint64_t)INT32_MAX);
}
