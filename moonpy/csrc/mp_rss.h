#ifndef MP_RSS_H
#define MP_RSS_H
#include <stdint.h>

#include <rte_mbuf.h>

/* Receive-side scaling as a NIC computes it, in software for virtual cables: the Toeplitz
 * hash (the 40-byte key most NICs default to) of the addresses, and of the ports for TCP and
 * UDP, for the RTE_ETH_RSS_* types in `types`; 0 for a frame none of them matches (non-IP,
 * short or malformed: the frame is only read, within its first segment). */
uint32_t mp_rss_hash(const struct rte_mbuf *m, uint64_t types);

/* The RTE_ETH_RSS_* types hashed when a script does not name any (rssFunctions). */
uint64_t mp_rss_default_types(void);

/* RSS in the port itself, for ports whose PMD has it (mp_rss.c). */
struct rte_eth_conf;
uint16_t mp_port_reta_size(uint16_t port);
uint64_t mp_eth_conf_rss(uint16_t port, struct rte_eth_conf *conf, uint64_t types);
int mp_port_set_reta(uint16_t port, uint16_t nq, uint16_t base);
int mp_port_get_reta(uint16_t port, uint16_t *out, uint16_t n);
#endif
