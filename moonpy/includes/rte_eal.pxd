# Partial declarations of DPDK's EAL, lcore and device-probe API (22.11).
from libc.stdint cimport uint64_t

cdef extern from "rte_eal.h" nogil:
    int rte_eal_init(int argc, char **argv)
    int rte_eal_cleanup()

cdef extern from "rte_errno.h" nogil:
    int rte_errno "per_lcore__rte_errno"
    const char *rte_strerror(int errnum)

cdef extern from "rte_lcore.h" nogil:
    int rte_thread_register()
    void rte_thread_unregister()
    unsigned rte_lcore_id()

cdef extern from "rte_cycles.h" nogil:
    uint64_t rte_get_tsc_hz()
    uint64_t rte_rdtsc()

cdef extern from "rte_dev.h" nogil:
    int rte_dev_probe(const char *devargs)
