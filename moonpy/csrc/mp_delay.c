/* mp_delay.c - MoonGen's sendWithDelay (CRC-gap rate control) emulated in time: each
 * frame's udata64 is the gap before it in byte times; late frames take a longer gap from
 * later frames of their burst (delay_swap) or pay a stall back from long gaps. */
#include <math.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "mp_checksum.h"
#include "mp_delay.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_tx.h"

/* sendWithDelay's swap: `m` is `late` cycles behind; `rest` are the frames after it in
 * its burst. The shortest filler among them that makes `m` leave on time trades places with
 * m's (the udata64 delays, i.e. the gaps before each frame). Returns the index of that frame
 * in `rest` and sets *shift to the cycles m's departure moves (the departures between the two
 * move as much; the one after the swapped frame does not), or -1 if none is long enough. */
static int delay_swap(struct rte_mbuf *m, uint64_t late, double cycles_per_byte,
                      struct rte_mbuf **rest, uint32_t nrest, uint64_t *shift)
{
    if (udata64_offset < 0 || cycles_per_byte <= 0)
        return -1;
    uint32_t had = gap_bytes(m);
    double need = (double)had + (double)late / cycles_per_byte;
    int best = -1;
    uint32_t bg = 0;
    for (uint32_t i = 0; i < nrest; i++) {
        uint32_t g = gap_bytes(rest[i]);
        if ((double)g >= need && (best < 0 || g < bg)) {
            best = (int)i;
            bg = g;
        }
    }
    if (best < 0)
        return -1;
    uint32_t *mine = RTE_MBUF_DYNFIELD(m, udata64_offset, uint32_t *);
    uint32_t *theirs = RTE_MBUF_DYNFIELD(rest[best], udata64_offset, uint32_t *);
    *mine = bg; /* the low half of udata64 is the delay (gap_bytes) */
    *theirs = had;
    *shift = (uint64_t)((double)(bg - had) * cycles_per_byte);
    return best;
}

/* delay_swap for a sendWithDelay frame due at `dep` if it is more than PACE_STALL_NS late at
 * `now` (a few ns late is what catch-up is for); -1: on time, or nothing long enough. */
int delay_swap_if_late(const struct pace_state *ps, struct rte_mbuf *m, uint64_t dep,
                       uint64_t now, struct rte_mbuf **rest, uint32_t nrest, uint64_t *shift)
{
    if (likely(now <= dep + pace_stall) || nrest == 0)
        return -1;
    return delay_swap(m, now - dep, ps->wire_cpb, rest, nrest, shift);
}

/* Whether the script's sendWithDelay gaps spread enough to pay a stall back from their long
 * ones (struct repay): their running coefficient of variation is at least REPAY_MIN_CV. */
static inline int delays_spread(const struct pace_state *ps)
{
    double m = ps->gap_mean;
    return m > 0 && ps->gap_sq - m * m >= REPAY_MIN_CV * REPAY_MIN_CV * m * m;
}

/* A sendWithDelay frame's gap before it leaves: it updates the running mean and mean
 * square of the script's gaps, and while the queue owes time, a gap over the cut (ln(1/D)
 * times `mean`, the running mean before this bufArray) goes to 0 (the frame's udata64
 * delay, as delay_swap rewrites it). Per frame in the sending loop, not in a pass before
 * it: a bufArray's first frame may be due right after the last held one. */
static inline void delay_repay(struct pace_state *ps, struct rte_mbuf *m, double mean,
                               double cycles_per_byte)
{
    double g = (double)gap_bytes(m);
    ps->gap_mean += (g - ps->gap_mean) / GAP_STATS_N;
    ps->gap_sq += (g * g - ps->gap_sq) / GAP_STATS_N;
    if (unlikely(g > ps->rp.cut * mean) && ps->rp.debt > 0 && mean > 0) {
        double y = repay_draw(&ps->rp, g / mean, mean * cycles_per_byte);
        *RTE_MBUF_DYNFIELD(m, udata64_offset, uint32_t *) = (uint32_t)(y * mean);
    }
}

/* The running mean and mean square start from the first bufArray's gaps. */
static void delay_stats_start(struct pace_state *ps, struct rte_mbuf **bufs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        double g = (double)gap_bytes(bufs[i]);
        ps->gap_mean += g / n;
        ps->gap_sq += g * g / n;
    }
}

/* Send one frame of sendWithDelay at its ideal departure `dep` (or its catch-up time). If
 * the thread did not run when it was due, it may take a longer gap from `rest`, the frames
 * after it in its burst (delay_swap): then *shift is the cycles its departure moved, and
 * *swapped the index of the frame it traded with (-1: none). If it still leaves more than
 * PACE_STALL_NS late and the script's gaps spread (delay_repay), the schedule goes on from
 * its departure: *rebased is how much later every frame after it is due (0: none). 1: gone;
 * 0: the run stopped first and the caller still owns the frame. */
int delayed_one(uint16_t port, uint16_t queue, struct pace_state *ps,
                struct mp_queue_stats *st, struct rte_mbuf *m, uint64_t dep,
                struct rte_mbuf **rest, uint32_t nrest, uint64_t *shift,
                int *swapped, uint64_t *rebased)
{
    uint32_t len = m->pkt_len;
    uint64_t at = wait_until(ps, delayed_due(ps, dep));
    if (at == 0)
        return 0;
    *swapped = delay_swap_if_late(ps, m, dep, at, rest, nrest, shift);
    if (*swapped >= 0) {
        dep += *shift;
        at = wait_until(ps, delayed_due(ps, dep));
        if (at == 0)
            return 0;
    }
    *rebased = 0;
    if (at > dep + pace_stall && delays_spread(ps)) {
        *rebased = at - dep;
        repay_owe(ps, *rebased);
    }
    uint64_t tsc = depart_tsc(ps, m, dep, at);
    if (!tx_one(port, queue, st, m))
        return 0;
    pace_account(ps, tsc, len, dep);
    ps->last_ideal = dep + *rebased;
    ps->last_dep = tsc;
    ps->last_wire = (uint64_t)((double)(len + 24) * ps->wire_cpb);
    st->pkts++;
    st->bytes += len;
    return 1;
}

/* MoonGen's sendWithDelay (CRC-gap rate control) emulated in time. On the wire, frame i
 * starts when the wire is free (end of frame i-1: its length + 4 B CRC + 20 B preamble,
 * SFD and IFG) plus udata64(i) byte times of filler. Instead of filler frames the TSC is
 * waited out. Late frames catch up smoothly (pace_target), or pay a stall back from later
 * gaps where the script's gaps spread (delay_repay); the schedule restarts as in
 * send_paced (pace_restart). Like send_paced, the call returns before the last frames are
 * due (up to PACE_HOLD_MAX, those due within PACE_HOLD_US of the last one), each held with
 * its departure time. */
struct wire_clock {
    uint64_t start; /* ideal departure of the next frame, in whole cycles */
    double carry;   /* ... and its fraction of a cycle */
};

/* The ideal departure of `m` (its filler after the previous frame), and the clock moved
 * past its wire time: the same arithmetic for the planning pass and the sending pass. */
static inline uint64_t wire_depart(struct wire_clock *wc, struct rte_mbuf *m, double cycles_per_byte)
{
    double t = wc->carry + (double)gap_bytes(m) * cycles_per_byte;
    uint64_t whole = (uint64_t)t;
    uint64_t dep = wc->start + whole;
    t = (t - (double)whole) + (double)(m->pkt_len + 24) * cycles_per_byte;
    whole = (uint64_t)t;
    wc->carry = t - (double)whole;
    wc->start = dep + whole;
    return dep;
}

uint32_t mp_send_delayed(uint16_t port, uint16_t queue, struct rte_mbuf **bufs, uint32_t n,
                         double cycles_per_byte)
{
    if (unlikely(held_queue >= 0))
        held_service(1); /* earlier frames first */
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    struct pace_state *ps = &pace[QIDX(port, queue)];
    uint32_t sent = 0;
    if (port_flags[port] & MP_PORT_SW_CSUM)
        mp_sw_checksums(bufs, n);
    catchup_init();
    struct wire_clock wc = {ps->wire_next, ps->wire_carry};
    ps->wire_cpb = cycles_per_byte;
    uint64_t now = rte_rdtsc();
    if (pace_restart(ps, now, wc.start)) {
        wc.start = now; /* idle wire: the first gap starts now */
        wc.carry = 0;
        ps->last_dep = 0;
        ps->rp.debt = 0;
        ps->rp.cut = INFINITY;
    }
    int repay = udata64_offset >= 0 && cycles_per_byte > 0;
    if (repay && ps->gap_mean == 0)
        delay_stats_start(ps, bufs, n);
    double mean = ps->gap_mean;
    uint64_t last = 0, window = rte_get_tsc_hz() * PACE_HOLD_US / 1000000;
    uint32_t hold_from = n > PACE_HOLD_MAX ? n - PACE_HOLD_MAX : 0, k = 0;
    for (; sent < n; sent++) {
        struct rte_mbuf *m = bufs[sent];
        if (sent == hold_from) {
            /* planning: the last departure, from here (not before the first frame, which
             * may be due right after the previous bufArray's last); the tail held is what
             * is due within the window from the moment it is reached (a lone frame due far
             * ahead is waited for, not held) */
            struct wire_clock plan = wc;
            for (uint32_t i = sent; i < n; i++)
                last = wire_depart(&plan, bufs[i], cycles_per_byte);
        }
        if (repay)
            delay_repay(ps, m, mean, cycles_per_byte);
        uint64_t dep = wire_depart(&wc, m, cycles_per_byte);
        if (k > 0 || (sent >= hold_from && last < rte_rdtsc() + window)) {
            ps->held[k] = m; /* the tail: held_service sends it at `dep` */
            ps->held_dep[k++] = dep;
            continue;
        }
        uint64_t shift = 0, rebased = 0;
        int swapped = -1;
        if (!delayed_one(port, queue, ps, st, m, dep, bufs + sent + 1, n - sent - 1, &shift,
                         &swapped, &rebased))
            break;
        if (swapped >= 0)
            wc.start += shift; /* the frames after it start from its new departure */
        wc.start += rebased;
    }
    if (k > 0) {
        ps->nheld = k;
        ps->next_held = 0;
        ps->held_delayed = 1;
        held_queue = (int)QIDX(port, queue);
    }
    ps->wire_next = wc.start;
    ps->wire_carry = wc.carry;
    repay_plan(&ps->rp); /* the cut for the next bufArray, while the script prepares it */
    ps->last_return = rte_rdtsc();
    if (sent < n)
        drop_rest(st, bufs, sent, n);
    return sent;
}
