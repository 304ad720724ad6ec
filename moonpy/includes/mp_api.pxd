# The fast-path ABI (csrc/mp_api.h), shared with LuaJIT.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int16_t, int32_t
from moonpy.includes.rte_mbuf cimport rte_mbuf, rte_mempool
from moonpy.includes.rte_ring cimport rte_ring
from moonpy.includes.rte_ethdev cimport rte_eth_conf

cdef extern from "mp_api.h" nogil:
    enum: MP_API_VERSION
    enum: MP_MAX_PORTS
    enum: MP_MAX_QUEUES
    enum: MP_PORT_DROP_ON_FULL
    enum: MP_PORT_SW_CSUM
    enum: MP_PORT_CONFIGURED
    enum: MP_PORT_TX_PREPARE
    enum: MP_PORT_SW_STEER

    struct mp_queue_stats:
        uint64_t pkts
        uint64_t bytes
        uint64_t drops
        uint64_t missed
        uint64_t missed_bytes

    struct mp_pacer:
        double cycles_per_byte
        double cycles_per_pkt
        uint64_t next_tsc

    struct mp_api:
        uint32_t abi_version
        uint32_t size
        void (*stamp_departures)(uint16_t port, uint16_t queue, int32_t offset)

    const mp_api *mp_api_get()
    void mp_init(uint64_t tsc_hz, int udata64_offset)
    void mp_port_set(uint16_t port, uint32_t flags, int peer)
    void mp_install_signal_handlers()
    int mp_signal_received()
    double mp_time_left()
    uint64_t mp_drops_into(uint16_t port)
    void mp_cable_arrived(uint16_t port, uint64_t *out)
    void mp_core_share(int core, int shared)
    void mp_thread_core(int core)
    void mp_cable_rss(uint16_t port, uint16_t nq, uint16_t base, uint64_t types)
    struct mp_cable_filter:
        uint8_t kind
        uint8_t priority
        int16_t queue
        uint16_t etype
        uint8_t flex[2]
        uint32_t src_ip, src_mask, dst_ip, dst_mask
        uint16_t sport, sport_mask, dport, dport_mask
        uint8_t proto, proto_mask
    void mp_cable_end(uint16_t port, uint16_t nrx, uint16_t ntx, int nodrop, rte_ring **rx)
    int mp_cable_filter_add(uint16_t port, const mp_cable_filter *f)
    int mp_cable_filter_get(uint16_t port, int i, mp_cable_filter *out)
    void mp_swsteer_set(uint16_t port, uint16_t nrx, int keep_unmatched, rte_ring **inbox)
    uint64_t mp_rss_default_types()
    int mp_running(uint64_t extra_cycles)
    void mp_stop()
    void mp_reset_lifecycle()
    void mp_set_runtime_cycles(uint64_t cycles)
    uint32_t mp_send_all(uint16_t port, uint16_t queue, rte_mbuf **bufs, uint32_t n)
    uint32_t mp_rx_burst(uint16_t port, uint16_t queue, rte_mbuf **bufs, uint32_t n)
    int mp_alloc_bulk(rte_mempool *pool, rte_mbuf **bufs, uint32_t n, uint32_t len)
    void mp_free_bulk(rte_mbuf **bufs, uint32_t n)
    mp_queue_stats *mp_txq_stats(uint16_t port, uint16_t queue)
    mp_queue_stats *mp_rxq_stats(uint16_t port, uint16_t queue)
    mp_pacer *mp_pacer_get(uint16_t port, uint16_t queue)
    void mp_pace_flush() nogil
    enum: MP_PACER_STATS
    void mp_pacer_stats(uint16_t port, uint16_t queue, uint64_t *out)

cdef extern from "mp_rss.h" nogil:
    uint16_t mp_port_reta_size(uint16_t port)
    uint64_t mp_eth_conf_rss(uint16_t port, rte_eth_conf *conf, uint64_t types)
    int mp_port_set_reta(uint16_t port, uint16_t nq, uint16_t base)
    int mp_port_get_reta(uint16_t port, uint16_t *out, uint16_t n)

cdef extern from "mp_reclaim.h" nogil:
    int mp_mempool_reclaim(rte_mempool *mp)

cdef extern from "mp_layout.h" nogil:
    struct mp_field:
        const char *name
        const char *ctype
        size_t offset
        size_t size
    const mp_field *mp_mbuf_fields(int *n)
    size_t mp_mbuf_size()

cdef extern from "mp_api.h" nogil:
    enum: MP_STREAMS_RX_TS
    struct mp_stream_counters:
        uint64_t tx_pkts, tx_bytes, tx_short, rx_pkts, rx_bytes
        uint64_t first_seq, gaps, out_of_order, duplicates, late, negative_latency
        uint64_t lat_count, lat_min_ns, lat_max_ns, lat_sum_ns
        double lat_sum2_ns, jitter_ns
    struct mp_streams_set_counters:
        uint64_t counted, short_frames, foreign, bad_stream, rx_tsc

cdef extern from "mp_streams.h" nogil:
    int mp_streams_create(uint32_t n_streams)
    void mp_streams_free(int set)
    void mp_streams_reset(int set)
    uint32_t mp_streams_size(int set)
    uint32_t mp_streams_tx(int set, uint32_t stream, rte_mbuf **bufs, uint32_t n, int32_t offset)
    uint32_t mp_streams_rx(int set, rte_mbuf **bufs, uint32_t n, int32_t offset, uint32_t flags)
    int mp_streams_read(int set, uint32_t stream, mp_stream_counters *out)
    int mp_streams_read_set(int set, mp_streams_set_counters *out)
    double mp_streams_percentile(int set, uint32_t stream, double pct)
    uint32_t mp_streams_hist(int set, uint32_t stream, uint64_t *values, uint64_t *counts, uint32_t max)
    uint64_t mp_streams_send(int set, uint32_t first, uint32_t n_streams, rte_mempool *pool, uint16_t port, uint16_t queue, uint32_t len, uint64_t count, int32_t offset, uint64_t deadline, uint64_t drain, uint64_t *out)
    uint64_t mp_streams_recv(int set, uint16_t port, uint16_t queue, int32_t offset, uint64_t *out)
    void mp_streams_recv_stop(int set, uint64_t tsc)
    uint64_t mp_streams_police(uint16_t rx_port, uint16_t rx_queue, uint16_t tx_port, uint16_t tx_queue, double rate, double depth, int32_t offset)
