#ifndef MP_HWCLOCK_H
#define MP_HWCLOCK_H
/* mp_hwclock.h - a PMD's hardware rate limit and IEEE 1588 clock (mp_hwclock.c). */
#include <stdint.h>

#include "mp_internal.h"

MP_INTERNAL_BEGIN
int mp_hw_queue_rate(uint16_t port, uint16_t queue, uint32_t mbit);
int mp_timesync_enable(uint16_t port);
int mp_timesync_read_tx(uint16_t port, uint64_t *ns);
int mp_timesync_read_rx(uint16_t port, uint64_t *ns, uint32_t flags);
int mp_timesync_read_time(uint16_t port, uint64_t *ns);
int mp_timesync_adjust(uint16_t port, int64_t delta_ns);
MP_INTERNAL_END
#endif /* MP_HWCLOCK_H */
