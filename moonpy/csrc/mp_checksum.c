/* mp_checksum.c - software checksums (IPv4 header, UDP/TCP over IPv4/IPv6) where a port
 * cannot offload them, and MoonGen's offload requests for a whole burst. */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "mp_checksum.h"

/* Ones' complement sums for the software checksums of ports without offload (virtual
 * cables, pcap, tap): 8 bytes per step into a 64-bit accumulator (csum_acc, below), folded
 * at the end. Summing
 * native-order words and storing the result natively gives the network-order checksum
 * (RFC 1071), as DPDK's 16-bit loop does, in a fraction of the steps (a loop over 63 hot
 * 60-byte UDP frames: 80 -> 39 cycles a frame with rte_ipv4_cksum/rte_ipv4_udptcp_cksum
 * before; the seed's load task on a cable 16.5 -> 24.3 Mpps). */
/* Fold a 64-bit ones' complement sum to 16 bits: x + (x rotated by half its width) has the
 * end-around-carried sum of both halves in its upper half (two steps where five shifts and
 * masks were a chain of ten dependent operations). */
static inline uint16_t csum_fold(uint64_t sum)
{
    sum = (sum + ((sum >> 32) | (sum << 32))) >> 32;
    uint32_t x = (uint32_t)sum;
    x = (x + ((x >> 16) | (x << 16))) >> 16;
    return (uint16_t)x;
}

/* The sums: whole 64-bit words, the carries out of the top counted apart (an
 * add and an add-with-carry a word; 2^64 = 1 in ones' complement arithmetic modulo 0xffff,
 * so each carry counts as a one), folded at the end. (unsigned __int128 would say the same,
 * but GCC 12 keeps it on the stack.) */
struct csum_acc {
    uint64_t sum, carries;
};

static inline void csum_acc_add(struct csum_acc *a, uint64_t w)
{
    a->sum += w;
    a->carries += a->sum < w;
}

static inline uint16_t csum_fold_acc(struct csum_acc a)
{
    uint64_t s = a.sum + a.carries;
    return csum_fold(s + (s < a.carries));
}

/* Sum `len` bytes at p in whole 8-byte words, the last 1-7 bytes as the 8-byte word that
 * ends with them, shifted down to where a word starting at them would hold them: the caller
 * guarantees that the 8 bytes before p+len are readable (at least 8 bytes summed, or a
 * header before them). Reading past
 * the frame's end instead would touch the tailroom's cache line, one the frame never does. */
static inline void csum_add_words(struct csum_acc *acc, const uint8_t *p, uint32_t len)
{
    const uint8_t *end = p + len;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        csum_acc_add(acc, w);
    }
    if (len) {
        uint64_t w;
        memcpy(&w, end - 8, 8);
        csum_acc_add(acc, w >> (8 * (8 - len))); /* little-endian: the last `len` bytes */
    }
}

/* Both sums below read the checksum field as it is and cancel it by adding its complement
 * (x + ~x is ones' complement zero) instead of zeroing it first: a 2-byte store followed by
 * 8-byte loads over it cannot be store-forwarded, and stalls cost more than the sum. */

/* The IPv4 header checksum. */
static inline uint16_t ip4_cksum(const struct rte_ipv4_hdr *ip, uint32_t ihl)
{
    struct csum_acc acc = {(uint16_t)~ip->hdr_checksum, 0};
    csum_add_words(&acc, (const uint8_t *)ip, ihl); /* ihl >= 20 */
    return (uint16_t)~csum_fold_acc(acc);
}

/* The UDP/TCP checksum over IPv4, `field` pointing at its checksum field: the pseudo-header
 * (addresses, protocol, L4 length) and the segment. UDP sends a zero sum as 0xffff. */
static inline uint16_t ip4_l4_cksum(const struct rte_ipv4_hdr *ip, const uint8_t *l4,
                                    uint32_t l4_len, const uint16_t *field, int udp)
{
    struct csum_acc acc = {(uint16_t)~*field, 0};
    acc.sum += rte_cpu_to_be_16((uint16_t)ip->next_proto_id) + rte_cpu_to_be_16((uint16_t)l4_len);
    csum_add_words(&acc, (const uint8_t *)&ip->src_addr, 8);
    csum_add_words(&acc, l4, l4_len); /* l4_len >= 8, the IPv4 header before it */
    uint16_t cs = (uint16_t)~csum_fold_acc(acc);
    return (cs == 0 && udp) ? 0xffff : cs; /* the request's protocol, as the fast path */
}

/* The common frame, IPv4 without options carrying UDP or TCP with both checksums asked for,
 * in one go and without a call: the header read once as three words that give the header
 * checksum (its own field masked out), the pseudo-header's addresses and protocol, the
 * segment in whole words (the header before it makes csum_add_words' last word readable).
 * Returns 0 where the frame is not that case (sw_checksum_general decides). Instructions are
 * what this costs, the frame being hot in cache: one branch on the request, one on the
 * header, no vectorised loop for a short segment (`moonpy bench --stages`, a 60-byte UDP
 * frame on hugepages: 31.5 cycles before, 22.9 now). */
static inline __attribute__((always_inline)) int sw_checksum_ip4_fast(struct rte_mbuf *m)
{
    const uint64_t asked = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK;
    uint64_t fl = m->ol_flags & asked;
    uint64_t txo = m->tx_offload;
    int udp = fl == (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
    int tcp = fl == (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
    uint32_t l2 = txo & 0x7f;
    if (!(udp | tcp) || (txo & (0x1ffu << 7)) != (20u << 7) || l2 + 20 > m->data_len)
        return fl == 0; /* nothing asked for, or the general path's case */
    uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + l2;
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, ip, 8);
    memcpy(&b, ip + 8, 8);
    memcpy(&c, ip + 16, 4);
    uint32_t tot_be = (uint32_t)(a >> 16) & 0xffff; /* total length, network order */
    uint32_t tot = rte_be_to_cpu_16((uint16_t)tot_be);
    uint32_t csoff = udp ? 6 : 16, l4min = udp ? 8 : 20; /* as the general path */
    /* IPv4 without options, long enough for its L4 header, within the frame */
    if (((uint8_t)a != 0x45) | (tot < 20 + l4min) | (l2 + tot > m->data_len))
        return 0;
    struct csum_acc acc = {a, 0};
    csum_acc_add(&acc, b & ~0xffff0000ull); /* bytes 10-11: the field itself */
    csum_acc_add(&acc, c);
    uint16_t ipcs = (uint16_t)~csum_fold_acc(acc);
    memcpy(ip + 10, &ipcs, 2);
    uint8_t *seg = ip + 20;
    uint16_t *field = (uint16_t *)(seg + csoff);
    /* addresses (b's upper half and c), protocol (byte 9: b & 0xff00 is the word 0,proto),
     * L4 length as total length minus 20 (adding ~htons(20) = 0xebff subtracts it), and the
     * checksum field as it is, cancelled by its complement */
    acc.sum = (b >> 32) + c + (b & 0xff00) + tot_be + 0xebff + (uint16_t)~*field;
    acc.carries = 0;
    csum_add_words(&acc, seg, tot - 20);
    uint16_t cs = (uint16_t)~csum_fold_acc(acc);
    *field = (cs == 0 && udp) ? 0xffff : cs;
    return 1;
}

/* Honour checksum-offload requests on ports that cannot do them, so frames on
 * the wire are valid. Lengths come from the (possibly nonsense) headers a
 * script wrote: never read past the frame. */
static __attribute__((noinline)) void sw_checksum_general(struct rte_mbuf *m)
{
    uint64_t fl = m->ol_flags;
    uint64_t l4 = fl & RTE_MBUF_F_TX_L4_MASK;
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
    if (fl & RTE_MBUF_F_TX_IP_CKSUM)
        ip->hdr_checksum = ip4_cksum(ip, ihl);
    if (l4 == 0 || tot < ihl || l2 + tot > dlen)
        return;
    if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && tot >= ihl + 8) {
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
        udp->dgram_cksum = ip4_l4_cksum(ip, (const uint8_t *)udp, tot - ihl, &udp->dgram_cksum,
                                        1);
    } else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && tot >= ihl + 20) {
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
        tcp->cksum = ip4_l4_cksum(ip, (const uint8_t *)tcp, tot - ihl, &tcp->cksum, 0);
    }
}

void sw_checksum_one(struct rte_mbuf *m)
{
    if (unlikely(!sw_checksum_ip4_fast(m)))
        sw_checksum_general(m);
}

/* A burst's checksums, returning the frames' bytes: the TX counters' sum taken in the same
 * pass over the buffers (a pass of its own costs some cycles a frame before it does
 * anything). */
uint64_t sw_checksums_len(struct rte_mbuf **bufs, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        sw_checksum_one(bufs[i]); /* inlined: the fast path in this loop */
        bytes += bufs[i]->pkt_len;
    }
    return bytes;
}

void mp_sw_checksums(struct rte_mbuf **bufs, uint32_t n)
{
    (void)sw_checksums_len(bufs, n);
}

/* MoonGen's checksum-offload request for one frame: ol_flags |= flags, the header lengths,
 * and (cs_offset != 0, an L4 request) the pseudo-header sum in the L4 checksum field, what a
 * NIC expects there. IPv6 requests carry no IP checksum flag. */
static inline void offload_one(struct rte_mbuf *m, uint64_t flags, uint64_t tx_offload,
                               uint32_t l2_len, uint32_t l3_len, uint32_t cs_offset)
{
    m->ol_flags |= flags;
    m->tx_offload = tx_offload;
    if (cs_offset == 0 || !(flags & RTE_MBUF_F_TX_L4_MASK)
        || l2_len + l3_len + cs_offset + 2 > m->data_len)
        return;
    uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + l2_len;
    uint16_t *cs = (uint16_t *)(ip + l3_len + cs_offset);
    if (flags & RTE_MBUF_F_TX_IPV6) {
        *cs = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)ip, 0);
        return;
    }
    /* IPv4 pseudo header, summed as network-order words (what rte_ipv4_phdr_cksum returns,
     * without its generic byte loop) */
    const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)ip;
    const uint16_t *w = (const uint16_t *)ip;
    uint32_t l4len = rte_be_to_cpu_16(h->total_length) - (uint32_t)(h->version_ihl & 0xf) * 4;
    uint32_t sum = (uint32_t)w[6] + w[7] + w[8] + w[9]
                   + rte_cpu_to_be_16((uint16_t)h->next_proto_id)
                   + rte_cpu_to_be_16((uint16_t)l4len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    *cs = (uint16_t)sum;
}

/* bufArray:offloadUdpChecksums() and friends for a whole burst, at once: one call instead of
 * a Lua loop (a bufArray sent right after its request takes offload_len instead). */
void mp_offload_l4(struct rte_mbuf **bufs, uint32_t n, uint64_t flags, uint32_t l2_len,
                   uint32_t l3_len, uint32_t cs_offset)
{
    uint64_t tx_offload = (uint64_t)l2_len | ((uint64_t)l3_len << 7);
    for (uint32_t i = 0; i < n; i++)
        offload_one(bufs[i], flags, tx_offload, l2_len, l3_len, cs_offset);
}

/* A bufArray's offload request carried out in the send's pass over its buffers, with the TX
 * byte count: one pass where the request and the send made two, each of which pays its
 * way through the buffers' pages (`moonpy bench --stages`: a separate request pass costs
 * 15 cycles a 60-byte frame on 4 KiB pages). On a port that offloads, each frame gets what
 * mp_offload_l4 writes; on one that does not (sw), the flags and lengths and then the
 * checksums themselves, computed at once: the pseudo-header sum they replace is not
 * written. Frames past the request's n get only what they ask for themselves. */
uint64_t offload_len(struct rte_mbuf **bufs, uint32_t n, const struct mp_offload_req *req,
                     int sw)
{
    uint64_t flags = req->flags;
    uint32_t l2 = req->l2_len, l3 = req->l3_len;
    uint64_t tx_offload = (uint64_t)l2 | ((uint64_t)l3 << 7);
    uint32_t k = RTE_MIN(n, (uint32_t)req->n);
    uint64_t bytes = 0;
    uint32_t i = 0;
    if (sw) {
        for (; i < k; i++) {
            struct rte_mbuf *m = bufs[i];
            offload_one(m, flags, tx_offload, l2, l3, 0); /* flags and lengths alone */
            sw_checksum_one(m); /* inlined: the fast path in this loop */
            bytes += m->pkt_len;
        }
        return bytes + sw_checksums_len(bufs + k, n - k);
    }
    for (; i < k; i++) {
        offload_one(bufs[i], flags, tx_offload, l2, l3, req->cs_offset);
        bytes += bufs[i]->pkt_len;
    }
    for (; i < n; i++)
        bytes += bufs[i]->pkt_len;
    return bytes;
}
