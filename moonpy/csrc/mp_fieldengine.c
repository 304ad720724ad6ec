/*
 * mp_fieldengine.c - per-burst packet variations for moonpy's Python API.
 *
 * mp_fe_apply() runs op-major: each op walks the whole burst before the next
 * op starts, so the switch on the op kind is taken once per burst and the
 * inner loops are short and branch-light. Fixups (lengths, checksums,
 * offload requests) are ordinary ops placed after the variations by the
 * compiler in moonpy/fieldengine.py.
 *
 * Header lengths come from the template the program was compiled for; they
 * are bounds-checked against each frame so an odd size never reads or writes
 * past the data a buffer holds.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "mp_api.h"
#include "mp_fieldengine.h"

static inline uint8_t *frame(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, uint8_t *); }

/* wyrand: one multiply per value, good enough for traffic generation */
static inline uint64_t rng_next(uint64_t *s)
{
    *s += 0xa0761d6478bd642fULL;
    __uint128_t t = (__uint128_t)*s * (*s ^ 0xe7037ed1a0b428dbULL);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

/* uniform in [min, max] without division */
static inline uint64_t rng_range(uint64_t *s, uint64_t min, uint64_t max)
{
    uint64_t span = max - min + 1; /* 0: the full 64-bit range */
    uint64_t r = rng_next(s);
    if (span == 0)
        return r;
    return min + (uint64_t)(((__uint128_t)r * span) >> 64);
}

static inline void put_be(uint8_t *p, uint32_t width, uint64_t v)
{
    switch (width) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2: {
        uint16_t x = rte_cpu_to_be_16((uint16_t)v);
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = rte_cpu_to_be_32((uint32_t)v);
        memcpy(p, &x, 4);
        break;
    }
    case 8: {
        uint64_t x = rte_cpu_to_be_64(v);
        memcpy(p, &x, 8);
        break;
    }
    default:
        for (uint32_t i = width; i-- > 0;) {
            p[i] = (uint8_t)v;
            v >>= 8;
        }
    }
}

static inline uint64_t get_be(const uint8_t *p, uint32_t width)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void write_field(uint8_t *p, const struct mp_fe_op *op, uint64_t v)
{
    if (op->mask == 0) {
        put_be(p, op->width, v);
    } else {
        uint64_t c = get_be(p, op->width);
        c = (c & ~op->mask) | ((v << op->shift) & op->mask);
        put_be(p, op->width, c);
    }
}

/* the next value of a variation (before `every` repetition) */
static inline uint64_t next_value(struct mp_fe_op *op, uint64_t *rng)
{
    uint64_t v;
    switch (op->kind) {
    case MP_FE_RANDOM:
        return rng_range(rng, op->min, op->max);
    case MP_FE_INC:
        v = op->cur;
        op->cur = op->max - v < op->step ? op->min : v + op->step;
        return v;
    case MP_FE_DEC:
        v = op->cur;
        op->cur = v - op->min < op->step ? op->max : v - op->step;
        return v;
    case MP_FE_LIST:
        v = op->values[op->cur];
        op->cur = op->cur + 1 >= op->count ? 0 : op->cur + 1;
        return v;
    case MP_FE_RANDOM_LIST:
        return op->values[rng_range(rng, 0, op->count - 1)];
    default: /* MP_FE_LIST_BYTES: the index */
        v = op->cur;
        op->cur = op->cur + 1 >= op->count ? 0 : op->cur + 1;
        return v;
    }
}

static void apply_variation(struct mp_fe_op *op, uint64_t *rng, struct rte_mbuf **bufs,
                            uint32_t n)
{
    uint32_t end = op->offset + op->width;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint64_t v;
        if (op->every <= 1) {
            v = next_value(op, rng);
        } else {
            if (op->left == 0) {
                op->held = next_value(op, rng);
                op->left = op->every;
            }
            op->left--;
            v = op->held;
        }
        if (unlikely(end > m->data_len))
            continue;
        uint8_t *p = frame(m) + op->offset;
        if (op->kind == MP_FE_LIST_BYTES)
            memcpy(p, op->bytes + v * op->width, op->width);
        else
            write_field(p, op, v);
    }
}

static void apply_sizes(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len;
        if (p->size_random) {
            len = p->sizes[rng_range(&p->rng, 0, p->n_sizes - 1)];
        } else {
            len = p->sizes[p->size_idx];
            p->size_idx = p->size_idx + 1 >= p->n_sizes ? 0 : p->size_idx + 1;
        }
        bufs[i]->pkt_len = len;
        bufs[i]->data_len = len;
    }
}

static void apply_lengths(const struct mp_fe_op *op, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t l3 = op->offset, l4 = op->l4_offset;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint32_t len = m->data_len;
        uint8_t *d = frame(m);
        if (op->flags & MP_FE_F_IPV6) {
            if (len >= l3 + 40)
                put_be(d + l3 + 4, 2, len - l3 - 40);
        } else if (len >= l3 + 20) {
            put_be(d + l3 + 2, 2, len - l3);
        }
        if ((op->flags & MP_FE_F_UDP) && len >= l4 + 8)
            put_be(d + l4 + 4, 2, len - l4);
    }
}

static void apply_ip4_csum(const struct mp_fe_op *op, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t l3 = op->offset;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        if (unlikely(m->data_len < l3 + 20))
            continue;
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame(m) + l3);
        if (unlikely(l3 + rte_ipv4_hdr_len(ip) > m->data_len))
            continue;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
}

static void apply_l4_csum(const struct mp_fe_op *op, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t l3 = op->offset, l4 = op->l4_offset;
    int udp = (op->flags & MP_FE_F_UDP) != 0;
    uint32_t cs_off = udp ? 6 : 16;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint32_t dlen = m->data_len;
        uint8_t *d = frame(m);
        if (unlikely(dlen < l4 + cs_off + 2))
            continue;
        uint16_t *cs = (uint16_t *)(d + l4 + cs_off);
        if (op->flags & MP_FE_F_IPV6) {
            struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(d + l3);
            if (unlikely(l3 + 40 + rte_be_to_cpu_16(ip6->payload_len) > dlen))
                continue;
            *cs = 0;
            *cs = rte_ipv6_udptcp_cksum(ip6, d + l4);
        } else {
            struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + l3);
            uint32_t tot = rte_be_to_cpu_16(ip->total_length);
            if (unlikely(l3 + tot > dlen || tot < rte_ipv4_hdr_len(ip)))
                continue;
            *cs = 0;
            *cs = rte_ipv4_udptcp_cksum(ip, d + l4);
        }
    }
}

/* MoonGen's offload request: flags, lengths and the pseudo-header sum (not complemented). */
static inline void offload_one(struct rte_mbuf *m, uint32_t l4, int ipv4, uint32_t l2_len,
                               uint32_t l3_len)
{
    uint8_t *ip = frame(m) + l2_len;
    uint64_t fl = ipv4 ? (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM) : RTE_MBUF_F_TX_IPV6;
    if (l4 == MP_FE_F_UDP)
        fl |= RTE_MBUF_F_TX_UDP_CKSUM;
    else if (l4 == MP_FE_F_TCP)
        fl |= RTE_MBUF_F_TX_TCP_CKSUM;
    m->ol_flags |= fl;
    m->tx_offload = l2_len + l3_len * 128;
    if (l4 == 0 || l2_len + l3_len + (l4 == MP_FE_F_UDP ? 8 : 20) > m->data_len)
        return;
    uint16_t *cs = (uint16_t *)(ip + l3_len + (l4 == MP_FE_F_UDP ? 6 : 16));
    if (ipv4) {
        const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)ip;
        struct {
            uint32_t src, dst;
            uint8_t zero, proto;
            uint16_t len;
        } __attribute__((packed)) psd = {
            h->src_addr, h->dst_addr, 0, h->next_proto_id,
            rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(h->total_length) - l3_len)),
        };
        *cs = rte_raw_cksum(&psd, sizeof(psd));
    } else {
        *cs = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)ip, 0);
    }
}

void mp_fe_offload(struct rte_mbuf **bufs, uint32_t n, uint32_t l4, int ipv4, uint32_t l2_len,
                   uint32_t l3_len)
{
    for (uint32_t i = 0; i < n; i++)
        if (bufs[i] != NULL)
            offload_one(bufs[i], l4, ipv4, l2_len, l3_len);
}

void mp_fe_apply(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n)
{
    for (uint32_t k = 0; k < p->n_ops; k++) {
        struct mp_fe_op *op = &p->ops[k];
        switch (op->kind) {
        case MP_FE_SIZE:
            apply_sizes(p, bufs, n);
            break;
        case MP_FE_LENGTHS:
            apply_lengths(op, bufs, n);
            break;
        case MP_FE_IP4_CSUM:
            apply_ip4_csum(op, bufs, n);
            break;
        case MP_FE_L4_CSUM:
            apply_l4_csum(op, bufs, n);
            break;
        case MP_FE_OFFLOAD: {
            uint32_t l4 = op->flags & (MP_FE_F_UDP | MP_FE_F_TCP);
            int ipv4 = !(op->flags & MP_FE_F_IPV6);
            for (uint32_t i = 0; i < n; i++)
                offload_one(bufs[i], l4, ipv4, op->offset, op->l3_len);
            break;
        }
        default:
            apply_variation(op, &p->rng, bufs, n);
        }
    }
}

void mp_fe_stamp_tsc(struct rte_mbuf **bufs, uint32_t n, uint32_t offset)
{
    uint64_t tsc = rte_rdtsc();
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        if (m != NULL && offset + 8 <= (uint32_t)(m->buf_len - m->data_off))
            memcpy(frame(m) + offset, &tsc, 8);
    }
}

uint32_t mp_fe_rx_burst_ts(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n)
{
    return mp_api_get()->rx_burst_ts(port, queue, bufs, n);
}

void mp_fe_write_template(struct rte_mbuf **bufs, uint32_t n, const uint8_t *tpl, uint32_t len,
                          uint32_t fill_len)
{
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint32_t room = m->buf_len - m->data_off;
        uint32_t k = len < room ? len : room;
        uint32_t f = fill_len < room ? fill_len : room;
        uint8_t *d = frame(m);
        memcpy(d, tpl, k);
        if (f > k)
            memset(d + k, 0, f - k);
    }
}
