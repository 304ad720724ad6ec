# Partial declarations of rte_mbuf / rte_mempool (22.11). Only fields moonpy
# touches from Cython; the C compiler sees the real layout.
from libc.stdint cimport uint16_t, uint32_t, uint64_t

cdef extern from "rte_mempool.h" nogil:
    struct rte_mempool:
        char *name
        unsigned size
        int socket_id
    unsigned rte_mempool_avail_count(const rte_mempool *mp)
    unsigned rte_mempool_in_use_count(const rte_mempool *mp)
    void rte_mempool_free(rte_mempool *mp)

cdef extern from "rte_mbuf.h" nogil:
    struct rte_mbuf:
        void *buf_addr
        uint16_t data_off
        uint16_t refcnt
        uint16_t nb_segs
        uint16_t port
        uint64_t ol_flags
        uint32_t packet_type
        uint32_t pkt_len
        uint16_t data_len
        uint16_t vlan_tci
        uint16_t buf_len
        rte_mempool *pool
        uint64_t tx_offload
        uint16_t timesync
    rte_mempool *rte_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache_size,
                                         uint16_t priv_size, uint16_t data_room_size,
                                         int socket_id)
    int RTE_PKTMBUF_HEADROOM

cdef extern from "rte_mbuf_dyn.h" nogil:
    struct rte_mbuf_dynfield:
        char name[64]
        size_t size
        size_t align
        unsigned flags
    int rte_mbuf_dynfield_register(const rte_mbuf_dynfield *params)
