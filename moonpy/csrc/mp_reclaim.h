#ifndef MP_RECLAIM_H
#define MP_RECLAIM_H
#include <rte_mempool.h>

/* Put back into `mp` every buffer of it that is not in it, and return how many; -1 when
 * memory for the bookkeeping ran out. Sound only once no thread can hold, send or
 * receive the pool's buffers any more: the end of a run whose tasks have all stopped
 * and whose ports are closed. */
int mp_mempool_reclaim(struct rte_mempool *mp);
#endif
