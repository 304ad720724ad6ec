# bench.pxi - the C reference loops of `moonpy bench` (csrc/mp_bench.c).

cdef extern from "mp_bench.h" nogil:
    uint64_t mp_bench_c_loop(int scenario, uint16_t port, uint16_t queue, rte_mempool *pool,
                             uint32_t size, double seconds, uint64_t *cycles)

BENCH_C_SCENARIOS = {"fixed": 0, "random": 1, "heavy": 2}


def bench_c_loop(str scenario, int port, int queue, Mempool pool, unsigned size,
                 double seconds) -> tuple:
    """Run a C reference loop; returns ``(packets, seconds)`` measured with the TSC."""
    cdef int sc = BENCH_C_SCENARIOS[scenario]
    cdef uint64_t cycles = 0, pkts
    pool._check()
    with nogil:
        pkts = mp_bench_c_loop(sc, <uint16_t>port, <uint16_t>queue, pool.pool, size, seconds,
                               &cycles)
    return pkts, cycles / <double>rte_get_tsc_hz()
