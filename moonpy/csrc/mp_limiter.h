#ifndef MP_LIMITER_H
#define MP_LIMITER_H
/* mp_limiter.h - the body of MoonGen's software rate limiter task (mp_limiter.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
int mp_limiter_loop(struct rte_ring *ring, uint16_t port, uint16_t queue, uint32_t mode,
                    double param, double cycles_per_byte, volatile uint64_t *ctl);
MP_INTERNAL_END
#endif /* MP_LIMITER_H */
