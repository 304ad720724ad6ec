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
#endif
