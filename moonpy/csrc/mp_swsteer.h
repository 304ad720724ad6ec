#ifndef MP_SWSTEER_H
#define MP_SWSTEER_H
/* mp_swsteer.h - NIC filters in software for ports whose PMD has none (mp_swsteer.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
uint16_t swsteer_rx(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint16_t n);
MP_INTERNAL_END
#endif /* MP_SWSTEER_H */
