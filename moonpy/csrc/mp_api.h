/*
 * mp_api.h - the one ABI between moonpy's C fast path and its two users:
 * Cython (`includes/mp_api.pxd`, nogil batch loops) and LuaJIT (`ffi.cdef`
 * of the region between the markers below, then a cast of the address that
 * `_dpdk.api_address()` publishes).
 *
 * The marked region must stay preprocessor-free: LuaJIT's ffi.cdef is not a
 * C preprocessor. DPDK types appear only as incomplete structs; Lua builds its
 * own `struct rte_mbuf` view from the offsets `_dpdk.mbuf_layout()` reports.
 *
 * Conventions: functions return counts or -errno, never print, never abort.
 * Ports and queues are DPDK port ids / queue ids.
 */
#ifndef MP_API_H
#define MP_API_H

#include <stdint.h>

#define MP_API_VERSION 1
#define MP_MAX_PORTS 32
#define MP_MAX_QUEUES 128 /* per port and direction, as NICs have 64-128 */

/* port flags (mp_port_flags) */
#define MP_PORT_DROP_ON_FULL 0x1u /* a virtual cable: a full peer ring drops */
#define MP_PORT_SW_CSUM 0x2u      /* compute requested checksums in software */
#define MP_PORT_CONFIGURED 0x4u
#define MP_PORT_TX_PREPARE 0x8u   /* hardware checksum offload: rte_eth_tx_prepare before TX */
#define MP_PORT_STEER_TX 0x10u    /* a cable end whose frames are steered one by one (mp_cable.c) */
#define MP_PORT_HOLD 0x20u        /* a cable end whose peer has dropEnable = false: a full ring waits */
#define MP_PORT_SW_STEER 0x40u    /* a port whose filters moonpy applies in its RX path (mp_swsteer.c) */

/* MP_CDEF_BEGIN */
enum { MP_PACER_STATS = 9 }; /* values pacer_stats writes (Lua: api.pacerStats) */
struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* ---- per-stream statistics (csrc/mp_streams.c, docs/streams.md) ---- */
enum { MP_STREAMS_RX_TS = 1 }; /* streams_rx flags: RX TSC from each buffer's udata64 */
struct mp_stream_counters {
    uint64_t tx_pkts, tx_bytes, tx_short;  /* stamped; frames too short to carry it */
    uint64_t rx_pkts, rx_bytes;            /* frames with this stream's signature */
    uint64_t first_seq, gaps, out_of_order, duplicates, late; /* late: beyond the window */
    uint64_t negative_latency;             /* RX TSC before TX TSC (clock trouble) */
    uint64_t lat_count, lat_min_ns, lat_max_ns, lat_sum_ns;
    double lat_sum2_ns, jitter_ns;         /* RFC 3550 interarrival jitter */
};
struct mp_streams_set_counters {
    uint64_t counted, short_frames, foreign, bad_stream; /* foreign: wrong magic */
    uint64_t rx_tsc; /* counted with their own RX TSC (rx_burst_ts), not the count call's */
};

/* One cache line per queue and direction; written only by the queue's owner. */
struct mp_queue_stats {
    uint64_t pkts;
    uint64_t bytes;
    uint64_t drops;     /* frames handed to send() that never reached the wire */
    /* TX on a cable: frames that left (counted in pkts/bytes) but the peer had no RX
       descriptor for (ring full, RX queue not set up): the peer's imissed */
    uint64_t missed;
    uint64_t missed_bytes;
    uint64_t _pad[3];
};

/* A bufArray's checksum-offload request (bufArray:offload{IP,Udp,Tcp}Checksums), recorded
 * and carried out by send_all_req in the send's pass over the buffers, as a NIC computes
 * checksums when a frame leaves. flags 0: none; it applies to the first n buffers. */
struct mp_offload_req {
    uint64_t flags;
    uint16_t l2_len, l3_len, cs_offset, n;
};

/* Software pacing state of one TX queue (0 = unpaced). */
struct mp_pacer {
    double cycles_per_byte;   /* wire bytes incl. 24 B of CRC + framing */
    double cycles_per_pkt;    /* when pacing by packets per second */
    uint64_t next_tsc;
    uint64_t _pad[5];
};

struct mp_api {
    uint32_t abi_version;
    uint32_t size;
    /* buffers */
    int (*alloc_bulk)(struct rte_mempool *pool, struct rte_mbuf **bufs, uint32_t n,
                      uint32_t pkt_len);
    void (*free_bulk)(struct rte_mbuf **bufs, uint32_t n);
    void (*free_one)(struct rte_mbuf *buf);
    /* TX: returns how many went out; on a cable, frames the peer had no room for count as
       sent and as missed at the peer; elsewhere unsent frames (after stop) are freed */
    uint32_t (*send_all)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
    /* TX without retry or drop: returns how many were accepted; the caller keeps the rest */
    uint32_t (*try_send)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
    /* RX: one burst, never blocks */
    uint32_t (*rx_burst)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
    /* RX with a software timestamp (TSC) written into each buffer's udata64 field */
    uint32_t (*rx_burst_ts)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
    /* time */
    uint64_t (*rdtsc)(void);
    uint64_t tsc_hz;
    /* lifecycle: running(extra_cycles) is 0 once stop()/deadline/signal passed */
    int (*running)(uint64_t extra_cycles);
    void (*stop)(void);
    void (*set_runtime_cycles)(uint64_t cycles);
    void (*delay_cycles)(uint64_t cycles);
    /* software checksums (IPv4 header, UDP/TCP over IPv4/IPv6) from ol_flags */
    void (*sw_checksums)(struct rte_mbuf **bufs, uint32_t n);
    /* rings (pipes) */
    uint32_t (*ring_enqueue)(struct rte_ring *ring, void **objs, uint32_t n);
    uint32_t (*ring_dequeue)(struct rte_ring *ring, void **objs, uint32_t n);
    uint32_t (*ring_count)(struct rte_ring *ring);
    /* counters */
    struct mp_queue_stats *txq_stats;   /* [MP_MAX_PORTS * MP_MAX_QUEUES] */
    struct mp_queue_stats *rxq_stats;
    struct mp_pacer *pacers;            /* [MP_MAX_PORTS * MP_MAX_QUEUES] */
    uint32_t max_queues;
    int32_t udata64_offset;             /* offset of moonpy's 8-byte dynfield */
    /* checksum offload requests for a burst: ol_flags |= flags, l2/l3 lengths, and the
     * pseudo-header checksum written at l2 + l3 + cs_offset (what a NIC expects) */
    void (*offload_l4)(struct rte_mbuf **bufs, uint32_t n, uint64_t flags, uint32_t l2_len,
                       uint32_t l3_len, uint32_t cs_offset);
    /* ---- timing: software timestamps, pacing patterns, hardware clocks ---- */
    /* Send one frame; returns the TSC read right before the tx_burst that took it (0: the run
     * stopped first, frame freed). tsc_offset >= 0 first writes that TSC into the frame at
     * that byte offset (MoonGen's sendWithTimestamp); < 0 leaves the frame alone. */
    uint64_t (*send_ts)(uint16_t port, uint16_t queue, struct rte_mbuf *buf, int32_t tsc_offset);
    /* MoonGen's CRC-gap rate control emulated in time: each frame's udata64 is the gap before
     * it in byte times (cycles_per_byte of the link); a wait replaces the filler frames */
    uint32_t (*send_delayed)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                             double cycles_per_byte);
    /* Body of a software rate limiter task: frames from `ring` leave one at a time. mode 0
     * custom (udata64 = inter-departure time in byte times), 1 cbr (param = cycles between
     * departures), 2 poisson (param = mean cycles between departures, never less than the
     * frame's wire time). ctl[0] counts frames sent; ctl[1] != 0 stops it. */
    int (*limiter_loop)(struct rte_ring *ring, uint16_t port, uint16_t queue, uint32_t mode,
                        double param, double cycles_per_byte, volatile uint64_t *ctl);
    /* measurement: write each paced frame's departure TSC (uint64) at this byte offset, its
     * departure number (uint32, from 0) 8 bytes later and its scheduled departure TSC
     * (uint64) 12 bytes later (offset < 0: off) */
    void (*stamp_departures)(uint16_t port, uint16_t queue, int32_t offset);
    /* a queue's paced sends (MP_PACER_STATS values): out[0..3] = first TSC, last TSC,
     * frames, bytes (the achieved rate); out[4..7] = gaps judged, gaps within +-256 ns of
     * their ideal gap, frames that left more than 256 ns behind schedule, cycles the
     * waiting thread did not run; out[8] = cycles that frames late after a stall left the
     * schedule to make up from later gaps (Poisson, spread sendWithDelay gaps: the debt) */
    void (*pacer_stats)(uint16_t port, uint16_t queue, uint64_t *out);
    /* hardware where the PMD has it (-errno otherwise): rate limit, IEEE 1588 clock in ns */
    int (*hw_queue_rate)(uint16_t port, uint16_t queue, uint32_t mbit);
    int (*timesync_enable)(uint16_t port);
    int (*timesync_read_tx)(uint16_t port, uint64_t *ns);
    int (*timesync_read_rx)(uint16_t port, uint64_t *ns, uint32_t flags);
    int (*timesync_read_time)(uint16_t port, uint64_t *ns);
    int (*timesync_adjust)(uint16_t port, int64_t delta_ns);
    /* this thread's held paced frames leave now, each on schedule (before an idle sleep) */
    void (*pace_flush)(void);
    /* ---- per-stream statistics (mp_streams.c): a set of streams by id ---- */
    int (*streams_create)(uint32_t n_streams);   /* set id or -errno */
    void (*streams_free)(int set);
    void (*streams_reset)(int set);
    uint32_t (*streams_size)(int set);
    /* write the signature (magic, stream, seq, TSC) at `offset` of each buffer */
    uint32_t (*streams_tx)(int set, uint32_t stream, struct rte_mbuf **bufs, uint32_t n,
                           int32_t offset);
    /* count received frames by their signature; returns frames that had one */
    uint32_t (*streams_rx)(int set, struct rte_mbuf **bufs, uint32_t n, int32_t offset,
                           uint32_t flags);
    int (*streams_read)(int set, uint32_t stream, struct mp_stream_counters *out);
    int (*streams_read_set)(int set, struct mp_streams_set_counters *out);
    double (*streams_percentile)(int set, uint32_t stream, double pct);
    uint32_t (*streams_hist)(int set, uint32_t stream, uint64_t *values, uint64_t *counts,
                             uint32_t max);
    /* a trial's two loops, one call each: `count` frames of `len` bytes from `pool`, frame i
     * stamped as stream first + i % n_streams and sent (paced by the queue's rate) until
     * `deadline` TSC (0: none); its end stops streams_recv `drain` cycles later (0: not).
     * out[0..2] = TSC before the first, TSC after the last left, times the pool was empty */
    uint64_t (*streams_send)(int set, uint32_t first, uint32_t n_streams,
                             struct rte_mempool *pool, uint16_t port, uint16_t queue,
                             uint32_t len, uint64_t count, int32_t offset, uint64_t deadline,
                             uint64_t drain, uint64_t *out);
    /* RX bursts with the TSC after each, counted and freed until the run stops or the set's
     * RX stop passes; out[0..3] = frames, with a signature, cycles preempted, cycles run */
    uint64_t (*streams_recv)(int set, uint16_t port, uint16_t queue, int32_t offset,
                             uint64_t *out);
    void (*streams_recv_stop)(int set, uint64_t tsc); /* streams_recv returns after tsc */
    /* send_all, carrying out `req` (offload_l4's request; on a port without offload the
     * checksums themselves) on bufs[0 .. min(n, req->n)) in its pass over the buffers, and
     * clearing it (req->flags = 0) */
    uint32_t (*send_all_req)(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                             struct mp_offload_req *req);
};
/* MP_CDEF_END */

#ifdef __cplusplus
extern "C" {
#endif

/* Control-plane functions (Cython only). */
const struct mp_api *mp_api_get(void);
void mp_init(uint64_t tsc_hz, int udata64_offset);
void mp_port_set(uint16_t port, uint32_t flags, int peer);
void mp_install_signal_handlers(void);
int mp_signal_received(void);
double mp_time_left(void);
uint64_t mp_drops_into(uint16_t port);
/* What reached cable end `port` from its peer: out[0] frames put into its RX rings,
   out[1] their bytes, out[2] frames missed (no descriptor), out[3] their bytes. */
void mp_cable_arrived(uint16_t port, uint64_t out[4]);
/* Cooperative core sharing: mark a CPU core as shared by several tasks (they yield to
   each other where they poll), and tell the calling thread which core it runs on. */
void mp_core_share(int core, int shared);
void mp_thread_core(int core);
/* Cable end `port` receives on the rings rx[0 .. nrx-1] (nrx 0: not receiving, what its
   peer sends is missed), sends on ntx TX queues; nodrop: dropEnable = false. Clears its
   filters and RSS. */
void mp_cable_end(uint16_t port, uint16_t nrx, uint16_t ntx, int nodrop, struct rte_ring **rx);
void mp_cable_rss(uint16_t port, uint16_t nq, uint16_t base, uint64_t types); /* nq < 2: off */
/* A NIC filter on what arrives at cable end `port` (libmoon's filter module). Ethertype:
   the type (after one VLAN tag if there is one); five-tuple: IPv4 fields (host order)
   compared under their masks, higher priority first; flex: IPv4 frames whose bytes 42 and
   43 are flex[0..1] (libmoon's filterUdpTimestamps). queue -1: dropped. */
enum { MP_FILTER_ETYPE = 1, MP_FILTER_TUPLE = 2, MP_FILTER_FLEX = 3 };
struct mp_cable_filter {
    uint8_t kind;
    uint8_t priority;
    int16_t queue;
    uint16_t etype;
    uint8_t flex[2];
    uint32_t src_ip, src_mask, dst_ip, dst_mask;
    uint16_t sport, sport_mask, dport, dport_mask;
    uint8_t proto, proto_mask;
};
int mp_cable_filter_add(uint16_t port, const struct mp_cable_filter *f); /* -ENOSPC: full; -EEXIST: ethertype taken */
int mp_cable_filter_get(uint16_t port, int i, struct mp_cable_filter *out); /* -ENOENT: no i */
/* The same filters on a port that is not a cable end, applied in moonpy's RX path: RX
   queue q hands frames for another queue to inbox[that queue] (nrx rings); frames no
   filter matches go to queue 0, or stay where they arrived if keep_unmatched (the port
   spreads them itself, RSS). nrx 0: off, and the port's filters are cleared. */
void mp_swsteer_set(uint16_t port, uint16_t nrx, int keep_unmatched, struct rte_ring **inbox);
uint64_t mp_rss_default_types(void);
void mp_stop(void);
void mp_reset_lifecycle(void);
void mp_set_runtime_cycles(uint64_t cycles);
uint32_t mp_send_all(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
uint32_t mp_send_all_req(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                         struct mp_offload_req *req);
uint32_t mp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n);
int mp_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **bufs, uint32_t n, uint32_t len);
void mp_free_bulk(struct rte_mbuf **bufs, uint32_t n);
int mp_running(uint64_t extra_cycles);
struct mp_queue_stats *mp_txq_stats(uint16_t port, uint16_t queue);
struct mp_queue_stats *mp_rxq_stats(uint16_t port, uint16_t queue);
struct mp_pacer *mp_pacer_get(uint16_t port, uint16_t queue);
void mp_pace_flush(void); /* a task thread's end: send (or free) its held paced frames */
void mp_pacer_stats(uint16_t port, uint16_t queue, uint64_t *out); /* see mp_api.pacer_stats */

#ifdef __cplusplus
}
#endif

#endif /* MP_API_H */
