/*
 * mp_fieldengine.h - the batch field engine of moonpy's Python API.
 *
 * Python (moonpy/fieldengine.py) describes per-packet variations once; it is
 * compiled into a `struct mp_fe_prog` (an array of `struct mp_fe_op`) that
 * mp_fe_apply() runs over a whole burst of mbufs. The Cython loop around it
 * (dpdk/fieldengine.pxi) holds no GIL and calls C once per burst:
 * alloc -> apply -> send.
 *
 * Conventions as in mp_api.h: no printing, no allocation, no locks. A program
 * is owned by exactly one thread while it runs (its counters and RNG state
 * are plain fields).
 */
#ifndef MP_FIELDENGINE_H
#define MP_FIELDENGINE_H

#include <stdint.h>

#define MP_FE_MAX_OPS 64

/* op kinds */
#define MP_FE_RANDOM 1     /* uniform in [min, max] */
#define MP_FE_INC 2        /* start, start+step, ... wrapping from max to min */
#define MP_FE_DEC 3        /* start, start-step, ... wrapping from min to max */
#define MP_FE_LIST 4       /* values[0..count), in turn */
#define MP_FE_LIST_BYTES 5 /* bytes[count][width], copied in turn (wide fields) */
#define MP_FE_RANDOM_LIST 6 /* values[...] picked at random */
#define MP_FE_SIZE 10      /* frame size from the program's size table */
#define MP_FE_LENGTHS 11   /* ip4.len or ip6.plen, and udp.len, from the frame size */
#define MP_FE_IP4_CSUM 12  /* software IPv4 header checksum */
#define MP_FE_L4_CSUM 13   /* software UDP/TCP checksum */
#define MP_FE_OFFLOAD 14   /* request checksum offload (flags + pseudo-header sum) */

/* fixup flags */
#define MP_FE_F_IPV6 0x1u
#define MP_FE_F_UDP 0x2u
#define MP_FE_F_TCP 0x4u

struct rte_mbuf;

struct mp_fe_op {
    uint32_t kind;
    uint32_t offset;    /* variations: first byte of the field's container; fixups: L3 offset */
    uint32_t width;     /* container bytes, 1..8 (LIST_BYTES: bytes per entry, 1..64) */
    uint32_t shift;     /* bit position of the field's least significant bit */
    uint64_t mask;      /* the field's bits in the container; 0 = the whole container */
    uint64_t min;
    uint64_t max;
    uint64_t step;
    uint64_t cur;       /* next value (INC/DEC) or next index (lists) */
    uint64_t held;      /* the value being repeated (every > 1) */
    uint32_t every;     /* packets per value (>= 1) */
    uint32_t left;      /* packets left for the held value */
    uint32_t count;     /* list entries */
    uint32_t l4_offset; /* fixups: offset of the UDP/TCP header */
    uint32_t l3_len;    /* fixups: L3 header length */
    uint32_t flags;     /* fixups: MP_FE_F_* */
    const uint64_t *values;
    const uint8_t *bytes;
};

struct mp_fe_prog {
    uint32_t n_ops;
    uint32_t n_sizes;
    uint32_t size_idx;
    uint32_t size_random;
    uint64_t rng;
    const uint16_t *sizes;
    struct mp_fe_op ops[MP_FE_MAX_OPS];
};

#ifdef __cplusplus
extern "C" {
#endif

/* Run every op of `p` over bufs[0..n). */
void mp_fe_apply(struct mp_fe_prog *p, struct rte_mbuf **bufs, uint32_t n);

/* MoonGen's bufArray:offload{IP,Udp,Tcp}Checksums(ipv4, l2Len, l3Len) for n buffers:
 * l4 is 0 (IP only), MP_FE_F_UDP or MP_FE_F_TCP. */
void mp_fe_offload(struct rte_mbuf **bufs, uint32_t n, uint32_t l4, int ipv4, uint32_t l2_len,
                   uint32_t l3_len);

/* Write the TSC (host byte order) at data offset `offset` of each buffer. */
void mp_fe_stamp_tsc(struct rte_mbuf **bufs, uint32_t n, uint32_t offset);

/* One RX burst that stores the RX TSC in each buffer's udata64 (mp_api.rx_burst_ts). */
uint32_t mp_fe_rx_burst_ts(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);

/* Copy `len` template bytes into each buffer and zero the rest up to `fill_len`. */
void mp_fe_write_template(struct rte_mbuf **bufs, uint32_t n, const uint8_t *tpl, uint32_t len,
                          uint32_t fill_len);

#ifdef __cplusplus
}
#endif

#endif /* MP_FIELDENGINE_H */
