/* mp_checksum.c - software checksums (IPv4 header, UDP/TCP over IPv4/IPv6) where a port
 * cannot offload them, and MoonGen's offload requests for a whole burst. */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "mp_checksum.h"

/* Ones' complement sums for the software checksums of ports without offload (virtual
 * cables, pcap, tap): 8 bytes per step into a 64-bit accumulator, folded at the end. Summing
 * native-order words and storing the result natively gives the network-order checksum
 * (RFC 1071), as DPDK's 16-bit loop does, in a fraction of the steps (a loop over 63 hot
 * 60-byte UDP frames: 80 -> 39 cycles a frame with rte_ipv4_cksum/rte_ipv4_udptcp_cksum
 * before; the seed's load task on a cable 16.5 -> 24.3 Mpps). */
static inline uint64_t csum_add(const uint8_t *p, uint32_t len, uint64_t sum)
{
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        sum += (w & 0xffffffffu) + (w >> 32);
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len) { /* 1-3 bytes, zero-padded in memory order */
        uint32_t w = 0;
        memcpy(&w, p, len);
        sum += w;
    }
    return sum;
}

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

/* Sum `len` bytes at p in whole 8-byte words, the last one masked to the bytes that belong
 * to the sum: the caller guarantees that the words' bytes past the end are readable (the
 * buffer's tailroom), which spares the 4-, 2- and 1-byte tail steps. */
static inline uint64_t csum_add_words(const uint8_t *p, uint32_t len, uint64_t sum)
{
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        sum += (w & 0xffffffffu) + (w >> 32);
    }
    if (len) {
        uint64_t w;
        memcpy(&w, p, 8);
        w &= ~0ull >> (64 - 8 * len); /* little-endian: the first `len` bytes */
        sum += (w & 0xffffffffu) + (w >> 32);
    }
    return sum;
}

/* Both sums below read the checksum field as it is and cancel it by adding its complement
 * (x + ~x is ones' complement zero) instead of zeroing it first: a 2-byte store followed by
 * 8-byte loads over it cannot be store-forwarded, and stalls cost more than the sum. */

/* The IPv4 header checksum. */
static inline uint16_t ip4_cksum(const struct rte_ipv4_hdr *ip, uint32_t ihl)
{
    uint64_t sum = (uint16_t)~ip->hdr_checksum;
    return (uint16_t)~csum_fold(csum_add((const uint8_t *)ip, ihl, sum));
}

/* The UDP/TCP checksum over IPv4, `field` pointing at its checksum field: the pseudo-header
 * (addresses, protocol, L4 length) and the segment. UDP sends a zero sum as 0xffff. */
static inline uint16_t ip4_l4_cksum(const struct rte_ipv4_hdr *ip, const uint8_t *l4,
                                    uint32_t l4_len, const uint16_t *field)
{
    uint64_t sum = csum_add((const uint8_t *)&ip->src_addr, 8, (uint16_t)~*field);
    sum += rte_cpu_to_be_16((uint16_t)ip->next_proto_id) + rte_cpu_to_be_16((uint16_t)l4_len);
    uint16_t cs = (uint16_t)~csum_fold(csum_add(l4, l4_len, sum));
    return (cs == 0 && ip->next_proto_id == IPPROTO_UDP) ? 0xffff : cs;
}

/* The common frame, IPv4 without options carrying UDP or TCP (or nothing asked for L4), in
 * one go: the header read once as three words that give both the header checksum and the
 * pseudo-header's addresses, the segment in whole words. Returns 0 where the frame is not
 * that case (sw_checksum_one's general path decides). On a cable this was about 46 cycles a
 * 60-byte frame of the seed's load task (general path), its biggest cost over a null port. */
static inline int sw_checksum_ip4_fast(struct rte_mbuf *m, uint64_t fl, uint64_t l4)
{
    uint32_t l2 = m->l2_len, dlen = m->data_len;
    if ((fl & RTE_MBUF_F_TX_IPV6) || m->l3_len != 20 || l2 + 20 > dlen)
        return 0;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(rte_pktmbuf_mtod(m, uint8_t *) + l2);
    uint32_t tot = rte_be_to_cpu_16(ip->total_length);
    uint32_t csoff = l4 == RTE_MBUF_F_TX_UDP_CKSUM ? 6 : 16;
    if (ip->version_ihl != 0x45 || tot < 20 || l2 + tot > dlen
        || l2 + tot + 7u > (uint32_t)(m->buf_len - m->data_off))
        return 0;
    if (l4 != 0 && l4 != RTE_MBUF_F_TX_UDP_CKSUM && l4 != RTE_MBUF_F_TX_TCP_CKSUM)
        return 0;
    if (l4 != 0 && tot < 20 + csoff + 2)
        return 0; /* too short for its L4 header: the general path leaves it alone */
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, ip, 8);
    memcpy(&b, (const uint8_t *)ip + 8, 8);
    memcpy(&c, (const uint8_t *)ip + 16, 4);
    if (fl & RTE_MBUF_F_TX_IP_CKSUM) {
        uint64_t sum = (uint16_t)~ip->hdr_checksum;
        sum += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) + c;
        ip->hdr_checksum = (uint16_t)~csum_fold(sum);
    }
    if (l4 == 0)
        return 1;
    uint8_t *seg = (uint8_t *)ip + 20;
    uint16_t *field = (uint16_t *)(seg + csoff);
    /* addresses (b's upper half and c), protocol, L4 length, and the field cancelled */
    uint64_t sum = (b >> 32) + c + rte_cpu_to_be_16((uint16_t)ip->next_proto_id)
                   + rte_cpu_to_be_16((uint16_t)(tot - 20)) + (uint16_t)~*field;
    uint16_t cs = (uint16_t)~csum_fold(csum_add_words(seg, tot - 20, sum));
    *field = (cs == 0 && l4 == RTE_MBUF_F_TX_UDP_CKSUM) ? 0xffff : cs;
    return 1;
}

/* Honour checksum-offload requests on ports that cannot do them, so frames on
 * the wire are valid. Lengths come from the (possibly nonsense) headers a
 * script wrote: never read past the frame. */
void sw_checksum_one(struct rte_mbuf *m)
{
    uint64_t fl = m->ol_flags;
    uint64_t l4 = fl & RTE_MBUF_F_TX_L4_MASK;
    if (!(fl & RTE_MBUF_F_TX_IP_CKSUM) && l4 == 0)
        return;
    if (likely(sw_checksum_ip4_fast(m, fl, l4)))
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
    if (fl & RTE_MBUF_F_TX_IP_CKSUM)
        ip->hdr_checksum = ip4_cksum(ip, ihl);
    if (l4 == 0 || tot < ihl || l2 + tot > dlen)
        return;
    if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && tot >= ihl + 8) {
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
        udp->dgram_cksum = ip4_l4_cksum(ip, (const uint8_t *)udp, tot - ihl, &udp->dgram_cksum);
    } else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && tot >= ihl + 20) {
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
        tcp->cksum = ip4_l4_cksum(ip, (const uint8_t *)tcp, tot - ihl, &tcp->cksum);
    }
}

/* A burst's checksums, returning the frames' bytes: the TX counters' sum taken in the same
 * pass over the buffers (a pass of its own costs some cycles a frame before it does
 * anything). */
uint64_t sw_checksums_len(struct rte_mbuf **bufs, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        sw_checksum_one(bufs[i]);
        bytes += bufs[i]->pkt_len;
    }
    return bytes;
}

void mp_sw_checksums(struct rte_mbuf **bufs, uint32_t n)
{
    (void)sw_checksums_len(bufs, n);
}

/* MoonGen's bufArray:offloadUdpChecksums() and friends for a whole burst: one call
 * instead of a Lua loop. IPv6 requests carry no IP checksum flag. */
void mp_offload_l4(struct rte_mbuf **bufs, uint32_t n, uint64_t flags, uint32_t l2_len,
                   uint32_t l3_len, uint32_t cs_offset)
{
    uint64_t tx_offload = (uint64_t)l2_len | ((uint64_t)l3_len << 7);
    int ipv6 = (flags & RTE_MBUF_F_TX_IPV6) != 0;
    int l4 = (flags & RTE_MBUF_F_TX_L4_MASK) != 0;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        m->ol_flags |= flags;
        m->tx_offload = tx_offload;
        if (!l4 || l2_len + l3_len + cs_offset + 2 > m->data_len)
            continue;
        uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + l2_len;
        uint16_t *cs = (uint16_t *)(ip + l3_len + cs_offset);
        if (ipv6) {
            *cs = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)ip, 0);
            continue;
        }
        /* IPv4 pseudo header, summed as network-order words (what rte_ipv4_phdr_cksum
         * returns, without its generic byte loop) */
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
}
