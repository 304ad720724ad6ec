#ifndef MP_BENCH_H
#define MP_BENCH_H
#include <stdint.h>
struct rte_mempool;
uint64_t mp_bench_c_loop(int scenario, uint16_t port, uint16_t queue, struct rte_mempool *pool,
                         uint32_t size, double seconds, uint64_t *cycles);
#endif
