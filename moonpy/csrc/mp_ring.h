#ifndef MP_RING_H
#define MP_RING_H
/* mp_ring.h - rings (pipes between tasks) for the table (mp_ring.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
uint32_t mp_ring_enqueue(struct rte_ring *r, void **objs, uint32_t n);
uint32_t mp_ring_dequeue(struct rte_ring *r, void **objs, uint32_t n);
uint32_t mp_ring_count(struct rte_ring *r);
MP_INTERNAL_END
#endif /* MP_RING_H */
