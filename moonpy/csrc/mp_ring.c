/* mp_ring.c - rings (pipes between tasks): bursts in and out, the fill level. */
#include <rte_ring.h>

#include "mp_ring.h"

uint32_t mp_ring_enqueue(struct rte_ring *r, void **objs, uint32_t n)
{
    return rte_ring_enqueue_burst(r, objs, n, NULL);
}

uint32_t mp_ring_dequeue(struct rte_ring *r, void **objs, uint32_t n)
{
    return rte_ring_dequeue_burst(r, objs, n, NULL);
}

uint32_t mp_ring_count(struct rte_ring *r) { return rte_ring_count(r); }
