#ifndef MP_DELAY_H
#define MP_DELAY_H
/* mp_delay.h - MoonGen's sendWithDelay emulated in time (mp_delay.c). */
#include <stdint.h>

#include "mp_internal.h"
#include "mp_pacing.h"

MP_INTERNAL_BEGIN
int delay_swap_if_late(const struct pace_state *ps, struct rte_mbuf *m, uint64_t dep,
                       uint64_t now, struct rte_mbuf **rest, uint32_t nrest, uint64_t *shift);
int delayed_one(uint16_t port, uint16_t queue, struct pace_state *ps,
                struct mp_queue_stats *st, struct rte_mbuf *m, uint64_t dep,
                struct rte_mbuf **rest, uint32_t nrest, uint64_t *shift,
                int *swapped, uint64_t *rebased);
uint32_t mp_send_delayed(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                         double cycles_per_byte);
MP_INTERNAL_END
#endif /* MP_DELAY_H */
