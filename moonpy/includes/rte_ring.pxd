# Partial declarations of rte_ring (22.11).
cdef extern from "rte_ring.h" nogil:
    struct rte_ring:
        pass
    rte_ring *rte_ring_create(const char *name, unsigned count, int socket_id, unsigned flags)
    void rte_ring_free(rte_ring *r)
    unsigned rte_ring_dequeue_burst(rte_ring *r, void **obj_table, unsigned n,
                                    unsigned *available)
    unsigned RING_F_SP_ENQ
    unsigned RING_F_SC_DEQ

cdef extern from "rte_eth_ring.h" nogil:
    int rte_eth_from_rings(const char *name, rte_ring **rx_queues, unsigned nb_rx_queues,
                           rte_ring **tx_queues, unsigned nb_tx_queues, unsigned numa_node)
