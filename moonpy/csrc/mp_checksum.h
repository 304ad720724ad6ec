#ifndef MP_CHECKSUM_H
#define MP_CHECKSUM_H
/* mp_checksum.h - checksums in software for ports without offload, and the offload
 * requests of a burst (mp_checksum.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
void sw_checksum_one(struct rte_mbuf *m);
void mp_sw_checksums(struct rte_mbuf **bufs, uint32_t n);
uint64_t sw_checksums_len(struct rte_mbuf **bufs, uint32_t n); /* + the bytes */
void mp_offload_l4(struct rte_mbuf **bufs, uint32_t n, uint64_t flags, uint32_t l2_len,
                   uint32_t l3_len, uint32_t cs_offset);
/* a bufArray's request carried out while the send counts its bytes; sw: the port computes
 * checksums in software (MP_PORT_SW_CSUM) */
uint64_t offload_len(struct rte_mbuf **bufs, uint32_t n, const struct mp_offload_req *req,
                     int sw);
MP_INTERNAL_END
#endif /* MP_CHECKSUM_H */
