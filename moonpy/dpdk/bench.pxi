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


cdef extern from "mp_stages.h" nogil:
    int MP_STAGE_COUNT
    int mp_bench_stages(int scenario, uint16_t port, uint16_t queue, rte_mempool *pool,
                        uint32_t size, double seconds, double *out)

# the loops `moonpy bench --stages` times (mp_stages.h), and its stages in out[] order
BENCH_STAGE_SCENARIOS = {"fixed": 0, "random": 1, "heavy": 2, "txonly": 3, "txonly-mf": 4}
BENCH_STAGES = ("get", "reset", "fill", "pass", "send", "free", "total", "clock")


def bench_stages(str scenario, int port, int queue, Mempool pool, unsigned size,
                 double seconds) -> dict:
    """Time one of BENCH_STAGE_SCENARIOS stage by stage; returns the median TSC cycles per
    packet of each of BENCH_STAGES (clock: one TSC read, already subtracted) and ``bursts``."""
    cdef int sc = BENCH_STAGE_SCENARIOS[scenario]
    cdef double out[16]
    cdef int rc
    pool._check()
    with nogil:
        rc = mp_bench_stages(sc, <uint16_t>port, <uint16_t>queue, pool.pool, size, seconds, out)
    if rc < 0:
        raise MemoryError("bench_stages: out of memory for its samples")
    result = {name: out[i] for i, name in enumerate(BENCH_STAGES)}
    result["bursts"] = rc
    return result
