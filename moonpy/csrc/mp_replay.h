#ifndef MP_REPLAY_H
#define MP_REPLAY_H
#include <stdint.h>
struct rte_mempool;
uint64_t mp_replay(uint16_t port, uint16_t queue, struct rte_mempool *pool, const uint8_t *blob,
                   const uint64_t *offs, const uint32_t *lens, const uint64_t *dep, uint32_t n,
                   uint64_t loops, uint64_t *cycles_out, uint64_t *late_sum,
                   uint64_t *late_max);
#endif
