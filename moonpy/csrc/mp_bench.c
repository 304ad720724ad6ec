/*
 * mp_bench.c - C reference loops for `moonpy bench`: the same work as the Lua
 * scenarios (get buffers, write the same fields, send), written directly in C
 * on the same fast path, so a ratio says what the Lua/Python layers cost.
 */
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "mp_api.h"
#include "mp_bench.h"

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* scenario: 0 fixed, 1 random source IP + UDP port (+ offload flags), 2 heavy
 * (8 random fields). Returns packets sent; *cycles gets the TSC time taken. */
uint64_t mp_bench_c_loop(int scenario, uint16_t port, uint16_t queue, struct rte_mempool *pool,
                         uint32_t size, double seconds, uint64_t *cycles)
{
    const struct mp_api *api = mp_api_get();
    struct rte_mbuf *bufs[63];
    uint64_t seed = 0x9e3779b97f4a7c15ull, total = 0;
    uint64_t hz = rte_get_tsc_hz();
    uint64_t start = rte_rdtsc(), stop = start + (uint64_t)(seconds * (double)hz);
    uint64_t flags = (1ull << 55) | (1ull << 54) | (3ull << 52);
    while (mp_running(0)) {
        if (mp_alloc_bulk(pool, bufs, 63, size) < 0)
            continue;
        if (scenario >= 1) {
            for (int i = 0; i < 63; i++) {
                uint8_t *d = rte_pktmbuf_mtod(bufs[i], uint8_t *);
                *(uint32_t *)(d + 26) = (uint32_t)xorshift(&seed);
                *(uint16_t *)(d + 34) = (uint16_t)xorshift(&seed);
                if (scenario == 2) {
                    *(uint32_t *)(d + 30) = (uint32_t)xorshift(&seed);
                    *(uint16_t *)(d + 36) = (uint16_t)xorshift(&seed);
                    d[22] = (uint8_t)xorshift(&seed);
                    *(uint16_t *)(d + 18) = (uint16_t)xorshift(&seed);
                    d[15] = (uint8_t)xorshift(&seed);
                    *(uint32_t *)(d + 42) = (uint32_t)xorshift(&seed);
                }
            }
            api->offload_l4(bufs, 63, flags, 14, 20, 6);
        }
        total += mp_send_all(port, queue, bufs, 63);
        if (rte_rdtsc() >= stop)
            break;
    }
    *cycles = rte_rdtsc() - start;
    return total;
}
