# Partial declarations of rte_ethdev (22.11).
from libc.stdint cimport uint16_t, uint32_t, uint64_t, uint8_t
from moonpy.includes.rte_mbuf cimport rte_mbuf, rte_mempool

cdef extern from "rte_ethdev.h" nogil:

    struct rte_ether_addr:
        uint8_t addr_bytes[6]

    struct rte_eth_link:
        uint32_t link_speed
        uint16_t link_duplex
        uint16_t link_autoneg
        uint16_t link_status

    struct rte_eth_stats:
        uint64_t ipackets
        uint64_t opackets
        uint64_t ibytes
        uint64_t obytes
        uint64_t imissed
        uint64_t ierrors
        uint64_t oerrors
        uint64_t rx_nombuf

    struct rte_eth_desc_lim:
        uint16_t nb_max
        uint16_t nb_min
        uint16_t nb_align

    struct rte_eth_dev_info:
        const char *driver_name
        unsigned if_index
        uint16_t max_rx_queues
        uint16_t max_tx_queues
        uint64_t rx_offload_capa
        uint64_t tx_offload_capa
        rte_eth_desc_lim rx_desc_lim
        rte_eth_desc_lim tx_desc_lim
        uint32_t speed_capa

    struct rte_eth_rxmode:
        uint64_t offloads
        uint32_t mtu

    struct rte_eth_txmode:
        uint64_t offloads

    struct rte_eth_conf:
        rte_eth_rxmode rxmode
        rte_eth_txmode txmode

    struct rte_eth_xstat:
        uint64_t id
        uint64_t value

    struct rte_eth_xstat_name:
        char name[64]

    int rte_eth_dev_count_avail()
    int rte_eth_dev_info_get(uint16_t port_id, rte_eth_dev_info *dev_info)
    int rte_eth_dev_get_port_by_name(const char *name, uint16_t *port_id)
    int rte_eth_dev_get_name_by_port(uint16_t port_id, char *name)
    int rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rx_queue, uint16_t nb_tx_queue,
                              const rte_eth_conf *eth_conf)
    int rte_eth_dev_adjust_nb_rx_tx_desc(uint16_t port_id, uint16_t *nb_rx_desc,
                                         uint16_t *nb_tx_desc)
    int rte_eth_rx_queue_setup(uint16_t port_id, uint16_t rx_queue_id, uint16_t nb_rx_desc,
                               unsigned socket_id, const void *rx_conf, rte_mempool *mb_pool)
    int rte_eth_tx_queue_setup(uint16_t port_id, uint16_t tx_queue_id, uint16_t nb_tx_desc,
                               unsigned socket_id, const void *tx_conf)
    int rte_eth_dev_start(uint16_t port_id)
    int rte_eth_dev_stop(uint16_t port_id)
    int rte_eth_dev_close(uint16_t port_id)
    int rte_eth_dev_socket_id(uint16_t port_id)
    int rte_eth_macaddr_get(uint16_t port_id, rte_ether_addr *mac_addr)
    int rte_eth_link_get_nowait(uint16_t port_id, rte_eth_link *link)
    int rte_eth_promiscuous_enable(uint16_t port_id)
    int rte_eth_promiscuous_disable(uint16_t port_id)
    int rte_eth_stats_get(uint16_t port_id, rte_eth_stats *stats)
    int rte_eth_xstats_get(uint16_t port_id, rte_eth_xstat *xstats, unsigned n)
    int rte_eth_xstats_get_names(uint16_t port_id, rte_eth_xstat_name *names, unsigned size)
    int rte_eth_dev_is_valid_port(uint16_t port_id)

    uint64_t RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
    uint64_t RTE_ETH_TX_OFFLOAD_UDP_CKSUM
    uint64_t RTE_ETH_TX_OFFLOAD_TCP_CKSUM

cdef extern from "rte_ethdev.h" nogil:
    int rte_eth_dev_default_mac_addr_set(uint16_t port_id, rte_ether_addr *mac_addr)
