/*
 * mp_replay.c - replaying preloaded frames at full speed or at their own timing.
 *
 * Frames live in one C blob (loaded once from a pcap file); each burst copies them
 * into freshly allocated mbufs (a copy keeps the originals safe from receivers that
 * modify what they get) and sends them with mp_send_all. With departure times,
 * each frame leaves when the TSC reaches start + dep[i] (busy wait, never sleep).
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "mp_api.h"
#include "mp_replay.h"

#define REPLAY_BURST 32

uint64_t mp_replay(uint16_t port, uint16_t queue, struct rte_mempool *pool, const uint8_t *blob,
                   const uint64_t *offs, const uint32_t *lens, const uint64_t *dep, uint32_t n,
                   uint64_t loops, uint64_t *cycles_out, uint64_t *late_sum,
                   uint64_t *late_max)
{
    struct rte_mbuf *bufs[REPLAY_BURST];
    uint64_t sent = 0, start = rte_rdtsc();
    *late_sum = *late_max = 0;
    for (uint64_t loop = 0; (loops == 0 || loop < loops) && n; loop++) {
        uint64_t base = rte_rdtsc();
        for (uint32_t i = 0; i < n;) {
            uint32_t k = dep ? 1 : RTE_MIN((uint32_t)REPLAY_BURST, n - i);
            if (dep) {
                uint64_t due = base + dep[i];
                while (rte_rdtsc() < due)
                    if (!mp_running(0))
                        goto out;
            }
            if (mp_alloc_bulk(pool, bufs, k, 14) < 0) {
                if (!mp_running(0))
                    goto out;
                continue; /* buffers still in flight: try again */
            }
            for (uint32_t j = 0; j < k; j++) {
                struct rte_mbuf *m = bufs[j];
                uint32_t len = RTE_MIN(lens[i + j], (uint32_t)(m->buf_len - m->data_off));
                memcpy(rte_pktmbuf_mtod(m, uint8_t *), blob + offs[i + j], len);
                m->pkt_len = len;
                m->data_len = (uint16_t)len;
            }
            if (dep) {
                /* how late the frame left against its due time (file timing mode) */
                uint64_t now = rte_rdtsc(), due = base + dep[i];
                uint64_t late = now > due ? now - due : 0;
                *late_sum += late;
                if (late > *late_max)
                    *late_max = late;
            }
            sent += mp_send_all(port, queue, bufs, k);
            i += k;
            if (!mp_running(0))
                goto out;
        }
    }
out:
    *cycles_out = rte_rdtsc() - start;
    return sent;
}
