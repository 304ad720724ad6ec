#ifndef MP_BUFFERS_H
#define MP_BUFFERS_H
/* mp_buffers.h - mbuf allocation and freeing (mp_buffers.c); mp_alloc_bulk and
 * mp_free_bulk are in mp_api.h. */
#include "mp_internal.h"

MP_INTERNAL_BEGIN
void mp_free_one(struct rte_mbuf *buf);
MP_INTERNAL_END
#endif /* MP_BUFFERS_H */
