#ifndef MP_STREAMS_H
#define MP_STREAMS_H
/* Per-stream statistics (TRex-style flow stats): a 16-byte signature in each frame's payload,
 * written at TX and counted at RX, one C call per burst. Functions are in struct mp_api
 * (streams_*); this header is for Cython. */
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct mp_stream_counters;
struct mp_streams_set_counters;

int mp_streams_create(uint32_t n_streams);
void mp_streams_free(int set);
void mp_streams_reset(int set);
uint32_t mp_streams_size(int set);
uint32_t mp_streams_tx(int set, uint32_t stream, struct rte_mbuf **bufs, uint32_t n,
                       int32_t offset);
uint32_t mp_streams_rx(int set, struct rte_mbuf **bufs, uint32_t n, int32_t offset,
                       uint32_t flags);
int mp_streams_read(int set, uint32_t stream, struct mp_stream_counters *out);
int mp_streams_read_set(int set, struct mp_streams_set_counters *out);
double mp_streams_percentile(int set, uint32_t stream, double pct);
uint32_t mp_streams_hist(int set, uint32_t stream, uint64_t *values, uint64_t *counts,
                         uint32_t max);
uint64_t mp_streams_send(int set, uint32_t first, uint32_t n_streams, struct rte_mempool *pool,
                         uint16_t port, uint16_t queue, uint32_t len, uint64_t count,
                         int32_t offset, uint64_t deadline, uint64_t drain, uint64_t *out);
uint64_t mp_streams_recv(int set, uint16_t port, uint16_t queue, int32_t offset, uint64_t *out);
void mp_streams_recv_stop(int set, uint64_t tsc);
uint64_t mp_streams_police(uint16_t rx_port, uint16_t rx_queue, uint16_t tx_port,
                           uint16_t tx_queue, double rate, double depth, int32_t offset);
#endif
