/* mp_api.c - the table (struct mp_api, mp_api.h) that Cython and LuaJIT call the fast path
 * through, and its set-up. */
#include <string.h>

#include "mp_api.h"
#include "mp_buffers.h"
#include "mp_checksum.h"
#include "mp_delay.h"
#include "mp_hwclock.h"
#include "mp_lifecycle.h"
#include "mp_limiter.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_ring.h"
#include "mp_rx.h"
#include "mp_streams.h"
#include "mp_tx.h"

static struct mp_api api = {
    .abi_version = MP_API_VERSION,
    .size = sizeof(struct mp_api),
    .alloc_bulk = mp_alloc_bulk,
    .free_bulk = mp_free_bulk,
    .free_one = mp_free_one,
    .send_all = mp_send_all,
    .try_send = mp_try_send,
    .rx_burst = mp_rx_burst,
    .rx_burst_ts = mp_rx_burst_ts,
    .rdtsc = mp_rdtsc,
    .running = mp_running,
    .stop = mp_stop_api,
    .set_runtime_cycles = mp_set_runtime_cycles,
    .delay_cycles = mp_delay_cycles,
    .sw_checksums = mp_sw_checksums,
    .ring_enqueue = mp_ring_enqueue,
    .ring_dequeue = mp_ring_dequeue,
    .ring_count = mp_ring_count,
    .txq_stats = txq_stats,
    .rxq_stats = rxq_stats,
    .pacers = pacers,
    .max_queues = MP_MAX_QUEUES,
    .offload_l4 = mp_offload_l4,
    .send_ts = mp_send_ts,
    .send_delayed = mp_send_delayed,
    .limiter_loop = mp_limiter_loop,
    .stamp_departures = mp_stamp_departures,
    .pacer_stats = mp_pacer_stats,
    .pace_flush = mp_pace_flush,
    .hw_queue_rate = mp_hw_queue_rate,
    .timesync_enable = mp_timesync_enable,
    .timesync_read_tx = mp_timesync_read_tx,
    .timesync_read_rx = mp_timesync_read_rx,
    .timesync_read_time = mp_timesync_read_time,
    .timesync_adjust = mp_timesync_adjust,
    .streams_create = mp_streams_create,
    .streams_free = mp_streams_free,
    .streams_reset = mp_streams_reset,
    .streams_size = mp_streams_size,
    .streams_tx = mp_streams_tx,
    .streams_rx = mp_streams_rx,
    .streams_read = mp_streams_read,
    .streams_read_set = mp_streams_read_set,
    .streams_percentile = mp_streams_percentile,
    .streams_hist = mp_streams_hist,
    .streams_send = mp_streams_send,
    .streams_recv = mp_streams_recv,
    .streams_recv_stop = mp_streams_recv_stop,
    .send_all_req = mp_send_all_req,
};

void mp_init(uint64_t tsc_hz, int udata_off)
{
    coop_cycles = tsc_hz / 1000000 * COOP_YIELD_US;
    memset(core_shared, 0, sizeof(core_shared));
    api.tsc_hz = tsc_hz;
    api.udata64_offset = udata_off;
    udata64_offset = udata_off;
    for (int i = 0; i < MP_MAX_PORTS; i++)
        port_peer[i] = -1;
}

const struct mp_api *mp_api_get(void) { return &api; }
