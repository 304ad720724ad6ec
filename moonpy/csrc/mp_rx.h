#ifndef MP_RX_H
#define MP_RX_H
/* mp_rx.h - RX bursts (mp_rx.c); mp_rx_burst and mp_drain_port are in mp_api.h. */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
uint32_t mp_rx_burst_ts(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
MP_INTERNAL_END
#endif /* MP_RX_H */
