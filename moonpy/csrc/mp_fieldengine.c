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

static inline void store16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void store32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void store64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline void put_be(uint8_t *p, uint32_t width, uint64_t v)
{
    switch (width) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2:
        store16(p, rte_cpu_to_be_16((uint16_t)v));
        break;
    case 4:
        store32(p, rte_cpu_to_be_32((uint32_t)v));
        break;
    case 8:
        store64(p, rte_cpu_to_be_64(v));
        break;
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

static inline uint64_t next_inc(struct mp_fe_op *op)
{
    uint64_t v = op->cur;
    op->cur = op->max - v < op->step ? op->min : v + op->step;
    return v;
}

static inline uint64_t next_dec(struct mp_fe_op *op)
{
    uint64_t v = op->cur;
    op->cur = v - op->min < op->step ? op->max : v - op->step;
    return v;
}

static inline uint64_t next_index(struct mp_fe_op *op)
{
    uint64_t v = op->cur;
    op->cur = v + 1 >= op->count ? 0 : v + 1;
    return v;
}

/* the next value of a variation (LIST_BYTES: the entry's index) */
static inline uint64_t next_value(struct mp_fe_op *op, uint64_t *rng)
{
    switch (op->kind) {
    case MP_FE_RANDOM:
        return rng_range(rng, op->min, op->max);
    case MP_FE_INC:
        return next_inc(op);
    case MP_FE_DEC:
        return next_dec(op);
    case MP_FE_LIST:
        return op->values[next_index(op)];
    case MP_FE_RANDOM_LIST:
        return op->values[rng_range(rng, 0, op->count - 1)];
    default:
        return next_index(op);
    }
}

/* The common cases -- a new value per packet into a whole 1/2/4/8-byte field --
 * get loops of their own: no per-packet dispatch on kind, width or repetition. */
#define VARY_LOOP(NEXT)                                                                        \
    do {                                                                                       \
        switch (op->width) {                                                                   \
        case 1:                                                                                \
            for (uint32_t i = 0; i < n; i++) {                                                 \
                uint64_t v = NEXT;                                                             \
                if (likely(end <= len[i]))                                                     \
                    d[i][off] = (uint8_t)v;                                                    \
            }                                                                                  \
            return;                                                                            \
        case 2:                                                                                \
            for (uint32_t i = 0; i < n; i++) {                                                 \
                uint64_t v = NEXT;                                                             \
                if (likely(end <= len[i]))                                                     \
                    store16(d[i] + off, rte_cpu_to_be_16((uint16_t)v));                        \
            }                                                                                  \
            return;                                                                            \
        case 4:                                                                                \
            for (uint32_t i = 0; i < n; i++) {                                                 \
                uint64_t v = NEXT;                                                             \
                if (likely(end <= len[i]))                                                     \
                    store32(d[i] + off, rte_cpu_to_be_32((uint32_t)v));                        \
            }                                                                                  \
            return;                                                                            \
        case 8:                                                                                \
            for (uint32_t i = 0; i < n; i++) {                                                 \
                uint64_t v = NEXT;                                                             \
                if (likely(end <= len[i]))                                                     \
                    store64(d[i] + off, rte_cpu_to_be_64(v));                                  \
            }                                                                                  \
            return;                                                                            \
        }                                                                                      \
    } while (0)

static void apply_variation(struct mp_fe_op *op, uint64_t *rng, uint8_t **d, const uint32_t *len,
                            uint32_t n)
{
    uint32_t off = op->offset, end = op->offset + op->width;
    if (op->every <= 1 && op->mask == 0) {
        uint64_t lo = op->min, hi = op->max;
        switch (op->kind) {
        case MP_FE_RANDOM:
            VARY_LOOP(rng_range(rng, lo, hi));
            break;
        case MP_FE_INC:
            VARY_LOOP(next_inc(op));
            break;
        case MP_FE_DEC:
            VARY_LOOP(next_dec(op));
            break;
        case MP_FE_LIST:
            VARY_LOOP(op->values[next_index(op)]);
            break;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
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
        if (unlikely(end > len[i]))
            continue;
        if (op->kind == MP_FE_LIST_BYTES)
            memcpy(d[i] + off, op->bytes + v * op->width, op->width);
        else
            write_field(d[i] + off, op, v);
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

static void apply_lengths(const struct mp_fe_op *op, uint8_t **d, const uint32_t *len, uint32_t n)
{
    uint32_t l3 = op->offset, l4 = op->l4_offset;
    for (uint32_t i = 0; i < n; i++) {
        if (op->flags & MP_FE_F_IPV6) {
            if (len[i] >= l3 + 40)
                store16(d[i] + l3 + 4, rte_cpu_to_be_16((uint16_t)(len[i] - l3 - 40)));
        } else if (len[i] >= l3 + 20) {
            store16(d[i] + l3 + 2, rte_cpu_to_be_16((uint16_t)(len[i] - l3)));
        }
        if ((op->flags & MP_FE_F_UDP) && len[i] >= l4 + 8)
            store16(d[i] + l4 + 4, rte_cpu_to_be_16((uint16_t)(len[i] - l4)));
    }
}

static void apply_ip4_csum(const struct mp_fe_op *op, uint8_t **d, const uint32_t *len, uint32_t n)
{
    uint32_t l3 = op->offset;
    for (uint32_t i = 0; i < n; i++) {
        if (unlikely(len[i] < l3 + 20))
            continue;
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d[i] + l3);
        if (unlikely(l3 + rte_ipv4_hdr_len(ip) > len[i]))
            continue;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
}

static void apply_l4_csum(const struct mp_fe_op *op, uint8_t **d, const uint32_t *len, uint32_t n)
{
    uint32_t l3 = op->offset, l4 = op->l4_offset;
    uint32_t cs_off = (op->flags & MP_FE_F_UDP) ? 6 : 16;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t dlen = len[i];
        uint8_t *p = d[i];
        if (unlikely(dlen < l4 + cs_off + 2))
            continue;
        uint8_t *cs = p + l4 + cs_off;
        if (op->flags & MP_FE_F_IPV6) {
            struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + l3);
            if (unlikely(l3 + 40 + rte_be_to_cpu_16(ip6->payload_len) > dlen))
                continue;
            store16(cs, 0);
            store16(cs, rte_ipv6_udptcp_cksum(ip6, p + l4));
        } else {
            struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + l3);
            uint32_t tot = rte_be_to_cpu_16(ip->total_length);
            if (unlikely(l3 + tot > dlen || tot < rte_ipv4_hdr_len(ip)))
                continue;
            store16(cs, 0);
            store16(cs, rte_ipv4_udptcp_cksum(ip, p + l4));
        }
    }
}

static inline uint16_t fold16(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Pseudo-header sum (not complemented, memory order) of the IPv4 header at `ip`,
 * summed straight from the header words: no temporary struct (store forwarding). */
static inline uint16_t ip4_pseudo(const uint8_t *ip, uint32_t l3_len)
{
    uint32_t l4len = (uint32_t)rte_be_to_cpu_16(load16(ip + 2)) - l3_len;
    uint32_t sum = (uint32_t)load16(ip + 12) + load16(ip + 14) + load16(ip + 16) + load16(ip + 18) +
                   rte_cpu_to_be_16((uint16_t)ip[9]) + rte_cpu_to_be_16((uint16_t)l4len);
    return fold16(sum);
}

static inline uint16_t ip6_pseudo(const uint8_t *ip)
{
    uint32_t sum = load16(ip + 4) + rte_cpu_to_be_16((uint16_t)ip[6]);
    for (uint32_t k = 8; k < 40; k += 2)
        sum += load16(ip + k);
    return fold16(sum);
}

/* MoonGen's offload request: flags, lengths and the pseudo-header sum. */
static inline void offload_one(struct rte_mbuf *m, uint8_t *data, uint32_t dlen, uint32_t l4,
                               int ipv4, uint32_t l2_len, uint32_t l3_len)
{
    uint8_t *ip = data + l2_len;
    uint64_t fl = ipv4 ? (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM) : RTE_MBUF_F_TX_IPV6;
    if (l4 == MP_FE_F_UDP)
        fl |= RTE_MBUF_F_TX_UDP_CKSUM;
    else if (l4 == MP_FE_F_TCP)
        fl |= RTE_MBUF_F_TX_TCP_CKSUM;
    m->ol_flags |= fl;
    m->tx_offload = l2_len + l3_len * 128;
    if (l4 == 0 || l2_len + l3_len + (l4 == MP_FE_F_UDP ? 8 : 20) > dlen)
        return;
    uint8_t *cs = ip + l3_len + (l4 == MP_FE_F_UDP ? 6 : 16);
    store16(cs, ipv4 ? ip4_pseudo(ip, l3_len) : ip6_pseudo(ip));
}

void mp_fe_offload(struct rte_mbuf **bufs, uint32_t n, uint32_t l4, int ipv4, uint32_t l2_len,
                   uint32_t l3_len)
{
    for (uint32_t i = 0; i < n; i++)
        if (bufs[i] != NULL)
            offload_one(bufs[i], frame(bufs[i]), bufs[i]->data_len, l4, ipv4, l2_len, l3_len);
}

#define CHUNK 256

/* An op the fused loop handles: a new value per packet into a whole 1/2/4/8-byte field. */
static inline int fusable(const struct mp_fe_op *op)
{
    switch (op->kind) {
    case MP_FE_RANDOM:
    case MP_FE_INC:
    case MP_FE_DEC:
    case MP_FE_LIST:
        return op->every <= 1 && op->mask == 0 &&
               (op->width == 1 || op->width == 2 || op->width == 4 || op->width == 8);
    case MP_FE_OFFLOAD:
        return 1;
    default:
        return 0;
    }
}

static inline void store_width(uint8_t *p, uint32_t width, uint64_t v)
{
    if (width == 4)
        store32(p, rte_cpu_to_be_32((uint32_t)v));
    else if (width == 2)
        store16(p, rte_cpu_to_be_16((uint16_t)v));
    else if (width == 1)
        p[0] = (uint8_t)v;
    else
        store64(p, rte_cpu_to_be_64(v));
}

/* The common program (simple variations, then an offload request) in one pass
 * per packet: each frame is visited once, every op applied while it is hot. */
static void apply_fused(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n)
{
    uint32_t nops = p->n_ops;
    struct mp_fe_op *ops = p->ops;
    uint64_t rng = p->rng;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        uint8_t *d = frame(m);
        uint32_t len = m->data_len;
        for (uint32_t k = 0; k < nops; k++) {
            struct mp_fe_op *op = &ops[k];
            uint64_t v;
            switch (op->kind) {
            case MP_FE_RANDOM:
                v = rng_range(&rng, op->min, op->max);
                break;
            case MP_FE_INC:
                v = next_inc(op);
                break;
            case MP_FE_DEC:
                v = next_dec(op);
                break;
            case MP_FE_LIST:
                v = op->values[next_index(op)];
                break;
            default: /* MP_FE_OFFLOAD */
                offload_one(m, d, len, op->flags & (MP_FE_F_UDP | MP_FE_F_TCP),
                            !(op->flags & MP_FE_F_IPV6), op->offset, op->l3_len);
                continue;
            }
            if (likely(op->offset + op->width <= len))
                store_width(d + op->offset, op->width, v);
        }
    }
    p->rng = rng;
}

static void apply_chunk(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n)
{
    uint8_t *d[CHUNK];
    uint32_t len[CHUNK];
    uint32_t k = 0;
    if (p->n_ops && p->ops[0].kind == MP_FE_SIZE) {
        apply_sizes(p, bufs, n); /* sizes first: the other ops see each frame's length */
        k = 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        d[i] = frame(bufs[i]);
        len[i] = bufs[i]->data_len;
    }
    for (; k < p->n_ops; k++) {
        struct mp_fe_op *op = &p->ops[k];
        switch (op->kind) {
        case MP_FE_SIZE:
            break;
        case MP_FE_LENGTHS:
            apply_lengths(op, d, len, n);
            break;
        case MP_FE_IP4_CSUM:
            apply_ip4_csum(op, d, len, n);
            break;
        case MP_FE_L4_CSUM:
            apply_l4_csum(op, d, len, n);
            break;
        case MP_FE_OFFLOAD: {
            uint32_t l4 = op->flags & (MP_FE_F_UDP | MP_FE_F_TCP);
            int ipv4 = !(op->flags & MP_FE_F_IPV6);
            for (uint32_t i = 0; i < n; i++)
                offload_one(bufs[i], d[i], len[i], l4, ipv4, op->offset, op->l3_len);
            break;
        }
        default:
            apply_variation(op, &p->rng, d, len, n);
        }
    }
}

void mp_fe_apply(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n)
{
    int fused = p->n_ops > 0;
    for (uint32_t k = 0; k < p->n_ops && fused; k++)
        fused = fusable(&p->ops[k]);
    if (fused) {
        apply_fused(p, bufs, n);
        return;
    }
    for (uint32_t base = 0; base < n; base += CHUNK)
        apply_chunk(p, bufs + base, n - base < CHUNK ? n - base : CHUNK);
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
