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

/* moonpy's math.random (moonpy/lua/moonpy/random.lua): xoshiro256**, its top 53 bits
 * as a double in [0, 1), then floor(d * (n - m + 1)) + m for math.random(m, n). The C
 * loops draw their random values the same way, so a Lua/C ratio measures the layers,
 * not the PRNG. */
struct prng {
    uint64_t s[4];
};

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline double prng_double(struct prng *p)
{
    uint64_t *s = p->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return (double)(int64_t)(r >> 11) * 0x1p-53;
}

static inline uint64_t xorshift(struct prng *p, double range)
{
    return (uint64_t)(prng_double(p) * range);
}

/* scenario: 0 fixed, 1 random source IP + UDP port (+ offload flags), 2 heavy
 * (8 random fields). Returns packets sent; *cycles gets the TSC time taken. */
uint64_t mp_bench_c_loop(int scenario, uint16_t port, uint16_t queue, struct rte_mempool *pool,
                         uint32_t size, double seconds, uint64_t *cycles)
{
    struct rte_mbuf *bufs[63];
    struct prng seed = {{0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull,
                         0x2545f4914f6cdd1dull}};
    uint64_t total = 0;
    const double r32 = 4294967296.0, r16 = 65536.0, r8 = 256.0;
    uint64_t hz = rte_get_tsc_hz();
    uint64_t start = rte_rdtsc(), stop = start + (uint64_t)(seconds * (double)hz);
    uint64_t flags = (1ull << 55) | (1ull << 54) | (3ull << 52);
    struct mp_offload_req req = {0};
    while (mp_running(0)) {
        if (mp_alloc_bulk(pool, bufs, 63, size) < 0)
            continue;
        if (scenario >= 1) {
            for (int i = 0; i < 63; i++) {
                uint8_t *d = rte_pktmbuf_mtod(bufs[i], uint8_t *);
                *(uint32_t *)(d + 26) = rte_cpu_to_be_32((uint32_t)xorshift(&seed, r32));
                *(uint16_t *)(d + 34) = rte_cpu_to_be_16((uint16_t)xorshift(&seed, r16));
                if (scenario == 2) {
                    *(uint32_t *)(d + 30) = rte_cpu_to_be_32((uint32_t)xorshift(&seed, r32));
                    *(uint16_t *)(d + 36) = rte_cpu_to_be_16((uint16_t)xorshift(&seed, r16));
                    d[22] = (uint8_t)xorshift(&seed, r8);
                    *(uint16_t *)(d + 18) = rte_cpu_to_be_16((uint16_t)xorshift(&seed, r16));
                    d[15] = (uint8_t)xorshift(&seed, r8);
                    *(uint32_t *)(d + 42) = (uint32_t)xorshift(&seed, r32);
                }
            }
            /* the request the send carries out, as Lua's bufArray:offloadUdpChecksums() */
            req = (struct mp_offload_req){flags, 14, 20, 6, 63};
        }
        total += mp_send_all_req(port, queue, bufs, 63, &req);
        if (rte_rdtsc() >= stop)
            break;
    }
    *cycles = rte_rdtsc() - start;
    return total;
}
