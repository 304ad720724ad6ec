/* mp_rss.c - receive-side scaling: the RSS hash of a frame, as a NIC computes it, and RSS
 * set up in ports whose PMD has it.
 *
 * A virtual cable has no NIC to spread frames over RX queues, so its sending end does it
 * (mp_cable.c: cable_tx_rss) with this hash and the receiving port's redirection table.
 * Same key and inputs as the hardware: frames hash to the queues they would on a NIC with
 * the default key, and `buf.hash.rss` holds the value a NIC would write. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_thash.h>

#include "mp_rss.h"

/* the key most NICs start with (Intel's and Microsoft's documentation: the RSS verification
 * suite's hashes are for this key) */
static const uint8_t rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

uint64_t mp_rss_default_types(void)
{
    return RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP |
           RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 |
           RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
}

static inline uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return rte_be_to_cpu_32(v);
}

/* The ports word of the tuple (source port in the high half), if the L4 header is there. */
static inline int ports_at(const uint8_t *l4, const uint8_t *end, uint32_t *word)
{
    if (l4 + 4 > end)
        return 0;
    *word = be32_at(l4);
    return 1;
}

uint32_t mp_rss_hash(const struct rte_mbuf *m, uint64_t types)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    const uint8_t *end = p + m->data_len;
    if (p + sizeof(struct rte_ether_hdr) > end)
        return 0;
    uint16_t etype = (uint16_t)(p[12] << 8 | p[13]);
    p += sizeof(struct rte_ether_hdr);
    for (int tags = 0; tags < 2 && (etype == RTE_ETHER_TYPE_VLAN || etype == RTE_ETHER_TYPE_QINQ);
         tags++) {
        if (p + 4 > end)
            return 0;
        etype = (uint16_t)(p[2] << 8 | p[3]);
        p += 4;
    }
    uint32_t tuple[RTE_THASH_V6_L4_LEN];
    if (etype == RTE_ETHER_TYPE_IPV4) {
        if (p + sizeof(struct rte_ipv4_hdr) > end || (p[0] >> 4) != 4)
            return 0;
        uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4;
        if (ihl < sizeof(struct rte_ipv4_hdr))
            return 0;
        uint16_t frag = (uint16_t)(p[6] << 8 | p[7]) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);
        uint8_t proto = p[9];
        tuple[0] = be32_at(p + 12);
        tuple[1] = be32_at(p + 16);
        uint64_t l4type = proto == IPPROTO_TCP ? RTE_ETH_RSS_NONFRAG_IPV4_TCP
                          : proto == IPPROTO_UDP ? RTE_ETH_RSS_NONFRAG_IPV4_UDP : 0;
        if (!frag && (types & l4type) && ports_at(p + ihl, end, &tuple[2]))
            return rte_softrss(tuple, RTE_THASH_V4_L4_LEN, rss_key);
        if (types & (frag ? RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_IPV4 : RTE_ETH_RSS_IPV4))
            return rte_softrss(tuple, RTE_THASH_V4_L3_LEN, rss_key);
        return 0;
    }
    if (etype == RTE_ETHER_TYPE_IPV6) {
        if (p + sizeof(struct rte_ipv6_hdr) > end || (p[0] >> 4) != 6)
            return 0;
        uint8_t proto = p[6];
        for (int i = 0; i < 8; i++)
            tuple[i] = be32_at(p + 8 + 4 * i); /* source, then destination address */
        uint64_t l4type = proto == IPPROTO_TCP ? RTE_ETH_RSS_NONFRAG_IPV6_TCP
                          : proto == IPPROTO_UDP ? RTE_ETH_RSS_NONFRAG_IPV6_UDP : 0;
        if ((types & l4type) && ports_at(p + sizeof(struct rte_ipv6_hdr), end, &tuple[8]))
            return rte_softrss(tuple, RTE_THASH_V6_L4_LEN, rss_key);
        uint64_t l3type = proto == IPPROTO_FRAGMENT ? RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_IPV6
                                                    : RTE_ETH_RSS_IPV6;
        if (types & l3type)
            return rte_softrss(tuple, RTE_THASH_V6_L3_LEN, rss_key);
    }
    return 0;
}

/* ---- RSS in the port (a NIC's, or any PMD with a redirection table) ------------------ */

/* The port's redirection table size, or 0 where its PMD has no RSS to set up. */
uint16_t mp_port_reta_size(uint16_t port)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0 || info.flow_type_rss_offloads == 0)
        return 0;
    return info.reta_size;
}

/* Ask for RSS in the configuration passed to rte_eth_dev_configure: the types the PMD
 * hashes among `types` (asking for others fails the configuration); returns those. */
uint64_t mp_eth_conf_rss(uint16_t port, struct rte_eth_conf *conf, uint64_t types)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(port, &info) != 0)
        return 0;
    conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf->rx_adv_conf.rss_conf.rss_key = NULL; /* the PMD's default key */
    conf->rx_adv_conf.rss_conf.rss_hf = types & info.flow_type_rss_offloads;
    return conf->rx_adv_conf.rss_conf.rss_hf;
}

/* libmoon's redirection table: entry i -> base + i % nq, all of the port's entries. */
int mp_port_set_reta(uint16_t port, uint16_t nq, uint16_t base)
{
    uint16_t size = mp_port_reta_size(port);
    if (size == 0 || size % RTE_ETH_RETA_GROUP_SIZE != 0 || nq == 0)
        return -ENOTSUP;
    struct rte_eth_rss_reta_entry64 conf[size / RTE_ETH_RETA_GROUP_SIZE];
    for (uint16_t i = 0; i < size; i++) {
        conf[i / RTE_ETH_RETA_GROUP_SIZE].mask = UINT64_MAX;
        conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
            (uint16_t)(base + i % nq);
    }
    return rte_eth_dev_rss_reta_update(port, conf, size);
}

/* The port's redirection table, its first `n` entries into `out`; the entries read or a
 * negative errno. */
int mp_port_get_reta(uint16_t port, uint16_t *out, uint16_t n)
{
    uint16_t size = mp_port_reta_size(port);
    if (size == 0 || size % RTE_ETH_RETA_GROUP_SIZE != 0)
        return -ENOTSUP;
    struct rte_eth_rss_reta_entry64 conf[size / RTE_ETH_RETA_GROUP_SIZE];
    for (uint16_t g = 0; g < size / RTE_ETH_RETA_GROUP_SIZE; g++)
        conf[g].mask = UINT64_MAX;
    int rc = rte_eth_dev_rss_reta_query(port, conf, size);
    if (rc != 0)
        return rc;
    uint16_t k = n < size ? n : size;
    for (uint16_t i = 0; i < k; i++)
        out[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    return k;
}
