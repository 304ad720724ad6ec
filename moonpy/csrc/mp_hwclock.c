/* mp_hwclock.c - hardware rate limit and IEEE 1588 clocks, for PMDs that have them
 * (-errno otherwise); times in ns. */
#include <time.h>

#include <rte_ethdev.h>

#include "mp_hwclock.h"

int mp_hw_queue_rate(uint16_t port, uint16_t queue, uint32_t mbit)
{
    return rte_eth_set_queue_rate_limit(port, queue, mbit);
}

int mp_timesync_enable(uint16_t port) { return rte_eth_timesync_enable(port); }

static inline uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

int mp_timesync_read_tx(uint16_t port, uint64_t *ns)
{
    struct timespec ts;
    int rc = rte_eth_timesync_read_tx_timestamp(port, &ts);
    if (rc == 0)
        *ns = ts_ns(&ts);
    return rc;
}

int mp_timesync_read_rx(uint16_t port, uint64_t *ns, uint32_t flags)
{
    struct timespec ts;
    int rc = rte_eth_timesync_read_rx_timestamp(port, &ts, flags);
    if (rc == 0)
        *ns = ts_ns(&ts);
    return rc;
}

int mp_timesync_read_time(uint16_t port, uint64_t *ns)
{
    struct timespec ts;
    int rc = rte_eth_timesync_read_time(port, &ts);
    if (rc == 0)
        *ns = ts_ns(&ts);
    return rc;
}

int mp_timesync_adjust(uint16_t port, int64_t delta_ns)
{
    return rte_eth_timesync_adjust_time(port, delta_ns);
}
